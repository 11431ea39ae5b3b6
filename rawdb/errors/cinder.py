"""Cinder's DB API errors, with cinder's names, kwargs and hierarchy (``cinder/exception.py`` at 2012.2).

Cinder raises ``ServiceNotFound``, ``HostBinaryNotFound`` and ``MigrationNotFound[ByStatus]`` under nova's names,
from ``nova.py``, and the quota errors from ``quota.py``; nova raises the volume and snapshot errors below.
"""

from __future__ import annotations

from rawdb.errors._base import Duplicate, NotFound, RawdbError

# --- volumes and snapshots ---------------------------------------------------------------


class VolumeNotFound(NotFound):
    """No volume with this id is visible to the caller."""

    msg_fmt = "Volume %(volume_id)s could not be found."


class VolumeMetadataNotFound(NotFound):
    """The volume has no live metadata with this key."""

    msg_fmt = "Volume %(volume_id)s has no metadata with key %(metadata_key)s."


class SnapshotNotFound(NotFound):
    """No snapshot with this id is visible to the caller."""

    msg_fmt = "Snapshot %(snapshot_id)s could not be found."


# --- volume types ------------------------------------------------------------------------


class VolumeTypeNotFound(NotFound):
    """No volume type with this id."""

    msg_fmt = "Volume type %(volume_type_id)s could not be found."


class VolumeTypeNotFoundByName(VolumeTypeNotFound):
    """No volume type by this name."""

    msg_fmt = "Volume type with name %(volume_type_name)s could not be found."


class VolumeTypeExtraSpecsNotFound(NotFound):
    """The volume type has no live extra spec with this key."""

    msg_fmt = "Volume Type %(volume_type_id)s has no extra specs with key %(extra_specs_key)s."


class VolumeTypeExists(Duplicate):
    """A live volume type already has this name."""

    msg_fmt = "Volume Type %(name)s already exists."


# --- iSCSI targets -----------------------------------------------------------------------


class ISCSITargetNotFoundForVolume(NotFound):
    """The volume has no iSCSI target allocated."""

    msg_fmt = "No target id found for volume %(volume_id)s."


class NoMoreTargets(RawdbError):
    """The host has no free iSCSI target left; provision more targets for it."""

    msg_fmt = "No more available targets."
