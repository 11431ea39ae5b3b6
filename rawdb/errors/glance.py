"""Glance's errors: images and their children, the image cache, and listing filters."""

from __future__ import annotations

from rawdb.errors._base import Conflict, Forbidden, Invalid, NotFound

# --- images ------------------------------------------------------------------------------


class ImageNotFound(NotFound):
    """No image with this id (or it is deleted, and the caller cannot see deleted images)."""

    msg_fmt = "No image found with ID %(image_id)s."


class ImageMemberNotFound(NotFound):
    """No image membership with this id."""

    msg_fmt = "No image member found with ID %(member_id)s."


class ImagePropertyNotFound(NotFound):
    """The image has no property by this name."""

    msg_fmt = "No property %(name)s found for image %(image_id)s."


class ImageLocationNotFound(NotFound):
    """The image has no location with this id."""

    msg_fmt = "No location found with ID %(location_id)s from image %(image_id)s."


class ImageTagNotFound(NotFound):
    """The image has no live tag with this value."""

    msg_fmt = "Tag %(value)s not found for image %(image_id)s."


class ForbiddenPublicImage(Forbidden):
    """Only an admin or the owner may change a public or community image."""

    msg_fmt = "You are not authorized to complete this action."


# --- image cache -------------------------------------------------------------------------


class BadDriverConfiguration(Invalid):
    """The image cache cannot work with its configuration (no directory, no node url, no tables)."""

    msg_fmt = "Driver %(driver_name)s could not be configured correctly. Reason: %(reason)s"


class NodeReferenceNotFound(NotFound):
    """No image cache node is registered with this url."""

    msg_fmt = "No node reference found with url %(node_reference_url)s."


class ImageNotCached(NotFound):
    """The image has no complete file in the cache."""

    msg_fmt = "Image %(image_id)s is not cached."


class ImageBeingCached(Conflict):
    """A live writer is caching this image now (a killed writer's file is taken over at once)."""

    msg_fmt = "Image %(image_id)s is already being cached."


# --- listing filters ---------------------------------------------------------------------


class InvalidParameterValue(Invalid):
    """A filter or parameter value cannot be parsed."""

    msg_fmt = "Invalid value '%(value)s' for parameter '%(param)s': %(extra_msg)s."


class InvalidFilterOperatorValue(Invalid):
    """A filter names an operator that does not exist or does not apply to it."""

    msg_fmt = "Unable to filter using the specified operator."


class InvalidFilterRangeValue(Invalid):
    """A ``_min``/``_max`` filter value is not an integer."""

    msg_fmt = "Unable to filter using the specified range."
