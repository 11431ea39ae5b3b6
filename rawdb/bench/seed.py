"""Deterministic benchmark datasets: glance's image tables, filled in bulk.

    dataset = await seed_glance(db, 100_000)      # seed 20250101, as perf_baseline.md
    dataset.counts, dataset.probe_owner, dataset.shared_image_id, dataset.deep_marker_id

The data follow perf_baseline.md "Glance datasets": 200 owners of Zipf-like sizes; 10%
public, 5% community, 15% shared and 70% private images; 5% soft-deleted; 3-12 properties,
0-5 tags, 1-2 locations per image; 1-5 members per shared image.  Child rows are
soft-deleted at their own rates (3% of properties, 2% of tags, 3% of locations and
members), independently of their image, as in the baseline's dataset.

The same seed and size give the same rows, byte for byte, on PostgreSQL, SQLite and
MariaDB/MySQL, on every run and every machine: all randomness comes from ``random.Random`` streams seeded
from the seed (strings seed through SHA-512, not ``hash()``), and only integer arithmetic
and correctly rounded float operations turn it into values (no set iteration order, no
libm functions such as ``pow`` or ``log``).

Generation runs in two phases.  The *plan* (one stream, ``random.Random(seed)``) draws
every image row, every membership row and the number of properties, tags and locations of
each image: it fixes the row counts, the probe user and the probe's listing set, and costs
about a second at 100k images.  The child rows' contents are then drawn table by table
from streams of their own, lazily, while they are loaded (COPY on PostgreSQL, multi-row
INSERTs on SQLite and MySQL), all in one transaction that also records the dataset's
fingerprint in ``rawdb_bench_datasets``.  A database that already holds the dataset is
recognised by that fingerprint (and its row counts): only the plan is recomputed, nothing is
inserted.

MySQL/MariaDB commit DDL implicitly, so there the datasets table is created and the old
dataset truncated before the load's transaction begins (the fingerprint is forgotten first,
so a load that fails halfway is never taken for a complete one), and concurrent seeders are
serialised by a named lock (``GET_LOCK``) held on a connection of its own until the load has
committed.  Indexes stay in place there: InnoDB keeps rows in primary-key order, and its
foreign keys need their indexes.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import random
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from rawdb import errors, schema
from rawdb.backends.postgresql import PgConnection
from rawdb.context import Context
from rawdb.database import Database
from rawdb.glance._validate import IMAGE_COLUMN_NAMES
from rawdb.statement import Dialect, Statement, convert
from rawdb.timeutils import utcnow

__all__ = [
    "ADMIN_PROJECT",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "PROPERTY_FILTER",
    "RARE_TAG",
    "TABLES",
    "TAG_FILTER",
    "GlanceDataset",
    "Progress",
    "fingerprint",
    "seed_glance",
    "seeding",
]

# Bump whenever a change to this module changes a single generated value.
GENERATOR_VERSION = 1
DATASET = "glance"
DEFAULT_SEED = 20250101
MIN_IMAGES = 200  # enough for 21 owners to own images, so the probe owner exists
ADMIN_PROJECT = "admin-proj"  # the admin context's project: owns nothing, member of nothing
PROBE_RANK = 21  # the non-admin probe is the 21st-largest owner
TAG_FILTER = "a-tag"  # on 5% of images (case f_user_tag)
RARE_TAG = "release-16"  # on about 1% of images (case f2_user_rare_tag)
PROPERTY_FILTER = ("os_distro", "ubuntu")  # on about 26% of images (case e_user_prop)

OWNERS = tuple(f"owner-{k:03d}" for k in range(200))
EPOCH = datetime(2023, 1, 1)
_DAY_US = 86_400_000_000
_SPAN_US = 730 * _DAY_US  # created_at spreads over two years from EPOCH

Progress = Callable[[str, int, int], None]
Row = tuple[Any, ...]

COLUMNS: dict[str, tuple[str, ...]] = {
    "images": IMAGE_COLUMN_NAMES,
    "image_properties": ("id", "image_id", "name", "value", "created_at", "updated_at", "deleted_at", "deleted"),
    "image_tags": ("id", "image_id", "value", "created_at", "updated_at", "deleted_at", "deleted"),
    "image_locations": (
        "id",
        "image_id",
        "value",
        "meta_data",
        "status",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
    ),
    "image_members": (
        "id",
        "image_id",
        "member",
        "can_share",
        "status",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted",
    ),
}
TABLES = tuple(COLUMNS)  # parents first: the load order

# Positions in an image row (COLUMNS["images"]) and in a plan's membership row.
_ID, _NAME, _SIZE, _VSIZE, _STATUS, _VIS, _CHECKSUM = 0, 1, 4, 5, 6, 7, 8
_OWNER, _HIDDEN, _CREATED, _UPDATED, _DELETED_AT, _DELETED = 13, 15, 16, 17, 18, 19
_M_MEMBER, _M_STATUS, _M_CREATED, _M_UPDATED, _M_DELETED_AT, _M_DELETED = 0, 2, 3, 4, 5, 6


def _cumulative(pairs: Sequence[tuple[Any, int]]) -> tuple[tuple[Any, ...], list[int]]:
    """Values and integer cumulative weights for ``Random.choices``."""
    return tuple(v for v, _ in pairs), list(itertools.accumulate(w for _, w in pairs))


# Zipf-Mandelbrot owner sizes, weight 1/(rank + 1): the 21st-largest owner holds about
# 0.9% of the images (about 94 at 10k).  Integer weights keep the draw exact.
_OWNER_CUM = list(itertools.accumulate(10**9 // (rank + 2) for rank in range(len(OWNERS))))
_STATUSES, _STATUS_CUM = _cumulative(
    [
        ("active", 935),
        ("queued", 10),
        ("saving", 5),
        ("importing", 5),
        ("uploading", 5),
        ("deactivated", 25),
        ("killed", 15),
    ]
)
_NO_DATA = frozenset({"queued", "importing", "uploading"})  # no bytes yet: size and hashes NULL
_DISK_FORMATS, _DISK_CUM = _cumulative([("qcow2", 60), ("raw", 25), ("vmdk", 5), ("iso", 5), ("vhd", 3), ("ami", 2)])
_MIN_DISK = (0, 0, 0, 1, 5, 10, 20, 40)
_MIN_RAM = (0, 0, 0, 256, 512, 1024, 2048, 4096)

# --- property, tag and location vocabularies ---------------------------------------------

_DISTROS, _DISTRO_CUM = _cumulative(
    [
        ("ubuntu", 30),
        ("centos", 12),
        ("debian", 12),
        ("rhel", 10),
        ("rocky", 8),
        ("windows", 8),
        ("fedora", 6),
        ("almalinux", 5),
        ("cirros", 5),
        ("opensuse", 2),
        ("freebsd", 2),
    ]
)
_VERSIONS = {
    "ubuntu": ("18.04", "20.04", "22.04", "24.04"),
    "centos": ("7", "8-stream", "9-stream"),
    "debian": ("10", "11", "12"),
    "rhel": ("8.8", "8.10", "9.2", "9.4"),
    "rocky": ("8", "9"),
    "windows": ("2016", "2019", "2022"),
    "fedora": ("38", "39", "40"),
    "almalinux": ("8", "9"),
    "cirros": ("0.5.2", "0.6.2"),
    "opensuse": ("15.5", "15.6"),
    "freebsd": ("13.3", "14.1"),
}
_OS_DISTRO_SHARE = 0.87
_OTHER_KEYS, _OTHER_CUM = _cumulative(
    [
        ("os_type", 80),
        ("architecture", 80),
        ("os_version", 70),
        ("hw_disk_bus", 60),
        ("owner_specified.openstack.md5", 50),
        ("owner_specified.openstack.sha256", 50),
        ("owner_specified.openstack.object", 50),
        ("hw_scsi_model", 30),
        ("hw_vif_model", 30),
        ("hw_qemu_guest_agent", 30),
        ("description", 30),
        ("img_config_drive", 20),
        ("os_admin_user", 20),
        ("hw_firmware_type", 20),
        ("hw_machine_type", 20),
        ("hypervisor_type", 20),
        ("image_type", 20),
        ("instance_uuid", 15),
        ("base_image_ref", 15),
        ("user_id", 15),
        ("owner_project_name", 10),
        ("owner_user_name", 10),
        ("boot_roles", 10),
        ("os_require_quiesce", 10),
        ("hw_rng_model", 10),
        ("hw_video_model", 10),
        ("hw_cpu_policy", 5),
        ("os_secure_boot", 5),
        ("hw_watchdog_action", 5),
    ]
)
_ARCHS, _ARCH_CUM = _cumulative([("x86_64", 80), ("aarch64", 15), ("ppc64le", 3), ("s390x", 2)])
_BUSES, _BUS_CUM = _cumulative([("virtio", 70), ("scsi", 20), ("sata", 5), ("ide", 5)])
_PICK: dict[str, tuple[str, ...]] = {
    "hw_scsi_model": ("virtio-scsi",),
    "hw_vif_model": ("virtio", "virtio", "e1000", "vmxnet3"),
    "hw_qemu_guest_agent": ("yes", "no"),
    "img_config_drive": ("optional", "mandatory"),
    "hw_firmware_type": ("bios", "uefi"),
    "hw_machine_type": ("q35", "pc"),
    "hypervisor_type": ("qemu", "kvm", "vmware"),
    "image_type": ("snapshot", "image"),
    "boot_roles": ("member,reader", "admin,member,reader"),
    "os_require_quiesce": ("yes", "no"),
    "hw_rng_model": ("virtio",),
    "hw_video_model": ("virtio", "vga", "qxl"),
    "hw_cpu_policy": ("dedicated", "shared"),
    "os_secure_boot": ("required", "optional", "disabled"),
    "hw_watchdog_action": ("reset", "pause", "poweroff", "none"),
}
_ADMIN_USERS = {"ubuntu": "ubuntu", "debian": "debian", "windows": "Administrator", "cirros": "cirros"}

_TAGS, _TAG_CUM = _cumulative(
    [
        (tag, weight)
        for tag, weight in [
            ("prod", 60),
            ("dev", 50),
            ("test", 40),
            ("linux", 40),
            ("gpu", 10),
            ("lts", 30),
            ("minimal", 25),
            ("hardened", 15),
            ("cloud-init", 35),
            ("windows", 10),
            ("arm64", 8),
            ("x86_64", 30),
            ("golden", 12),
            ("ci", 20),
            ("nightly", 15),
            ("deprecated", 8),
            ("snapshot", 18),
            ("backup", 10),
            ("k8s-node", 12),
            ("database", 8),
        ]
    ]
    + [(f"team-{k:02d}", 4) for k in range(20)]
    + [(f"release-{k}", 3) for k in range(20)]
)
_A_TAG_SHARE = 0.05

# name, URL pattern, weight; the meta_data JSON names the store.
_STORES: tuple[tuple[str, str, int], ...] = (
    ("ceph", "rbd://{fsid0}/images/{image_id}/snap", 50),
    ("ceph-dr", "rbd://{fsid1}/images/{image_id}/snap", 10),
    ("swift", "swift://swift.example.com/v1/AUTH_{owner}/glance/{image_id}", 25),
    ("file", "file:///var/lib/glance/images/{image_id}", 15),
)


def fingerprint(images: int, seed: int = DEFAULT_SEED) -> str:
    """The string recorded for a loaded dataset: generator version, seed and size."""
    return f"glance/v{GENERATOR_VERSION}/seed={seed}/images={images}"


@dataclass(frozen=True, slots=True)
class GlanceDataset:
    """What a seeded glance dataset holds, and the identities the benchmark cases use.

    ``probe_visible`` and ``deep_marker_id`` describe the probe's v2 listing set: live,
    not hidden, and public, owned by the probe, or shared with it through a live accepted
    membership (community images only when owned), in the default order ``created_at
    DESC, id DESC``.  ``deep_marker_id`` is the image at 90% of that set (case d).
    """

    name: str
    seed: int
    size: int
    fingerprint: str
    counts: dict[str, int]  # rows per table, TABLES order
    probe_owner: str  # the 21st-largest owner: the non-admin probe's project
    admin_project: str  # the admin context's project; owns nothing
    own_image_id: str  # owned by the probe, live, active, not hidden
    shared_image_id: str  # another owner's live, active, shared image; probe membership accepted
    probe_owned: int  # images the probe owns (any state)
    probe_memberships: int  # live accepted memberships of the probe
    probe_visible: int  # size of the probe's listing set
    deep_marker_id: str  # the image at 90% of the probe's listing set
    reused: bool = field(default=False, compare=False)  # found already loaded: nothing inserted


# --- phase 1: the plan --------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    seed: int
    images: list[Row]
    properties: bytearray  # per image: how many property rows
    tags: bytearray  # per image: how many tag rows
    a_tag: bytearray  # per image: whether one of them is TAG_FILTER
    locations: bytearray  # per image: how many location rows
    members: list[Row]  # complete image_members rows, ids included
    probe: str


def _us(microseconds: int) -> timedelta:
    return timedelta(microseconds=microseconds)


def _draws(
    rng: random.Random,
) -> tuple[Callable[[int], int], Callable[[int, int], int], Callable[[tuple[Any, ...], list[int]], Any]]:
    """Fast draws on ``rng``: ``below(n)``, ``between(lo, hi)`` and a weighted ``pick``.

    They scale one ``random()`` (53 random bits; every range here is far below 2**53), which
    is exact IEEE arithmetic, hence the same everywhere, and several times cheaper than
    ``randrange`` and ``choices``.
    """
    rnd = rng.random

    def below(n: int) -> int:
        return int(rnd() * n)

    def between(lo: int, hi: int) -> int:
        return lo + int(rnd() * (hi - lo))

    def pick(values: tuple[Any, ...], cum_weights: list[int]) -> Any:
        return values[bisect.bisect(cum_weights, rnd() * cum_weights[-1])]

    return below, between, pick


def _plan(size: int, seed: int) -> _Plan:
    rng = random.Random(seed)
    rnd, bits = rng.random, rng.getrandbits
    below, between, pick = _draws(rng)
    owner_of = rng.choices(range(len(OWNERS)), cum_weights=_OWNER_CUM, k=size)
    offsets = sorted(below(_SPAN_US) for _ in range(size))
    images: list[list[Any]] = []
    members_of: dict[int, list[list[Any]]] = {}
    properties, tags, a_tag, locations = bytearray(size), bytearray(size), bytearray(size), bytearray(size)
    created = EPOCH
    for i in range(size):
        image_id = str(uuid.UUID(int=bits(128), version=4))
        if not (i and rnd() < 0.10):  # else: the previous image's timestamp, exactly
            created = EPOCH + _us(offsets[i])
        u = rnd()
        visibility = "public" if u < 0.10 else "community" if u < 0.15 else "shared" if u < 0.30 else "private"
        deleted = rnd() < 0.05
        if deleted:
            status = "deleted" if rnd() < 0.7 else "pending_delete"
        else:
            status = pick(_STATUSES, _STATUS_CUM)
        name = None if rnd() < 0.02 else f"image-{i}"
        disk_format = pick(_DISK_FORMATS, _DISK_CUM)
        container_format = "ami" if disk_format == "ami" else "ovf" if rnd() < 0.05 else "bare"
        size_: int | None = None
        virtual_size: int | None = None
        checksum = hash_algo = hash_value = None
        if status not in _NO_DATA:
            magnitude = below(11)  # 8 MiB .. 16 GiB, log-uniform by powers of two
            size_ = between(1 << (23 + magnitude), 1 << (24 + magnitude))
            if rnd() >= 0.1:
                virtual_size = size_ if disk_format == "raw" else size_ * (1 + below(4))
            checksum = f"{bits(128):032x}"
            hash_algo = "sha512"
            hash_value = f"{bits(512):0128x}"
        min_disk = _MIN_DISK[below(len(_MIN_DISK))]
        min_ram = _MIN_RAM[below(len(_MIN_RAM))]
        protected = rnd() < 0.03
        os_hidden = rnd() < 0.03
        updated = created if rnd() < 0.5 else created + _us(between(1, 30 * _DAY_US))
        deleted_at = None
        if deleted:
            deleted_at = updated = updated + _us(between(1, 90 * _DAY_US))
        owner_index = owner_of[i]
        images.append(
            [
                image_id,
                name,
                disk_format,
                container_format,
                size_,
                virtual_size,
                status,
                visibility,
                checksum,
                hash_algo,
                hash_value,
                min_disk,
                min_ram,
                OWNERS[owner_index],
                protected,
                os_hidden,
                created,
                updated,
                deleted_at,
                deleted,
            ]
        )
        properties[i] = 3 + below(10)
        n_tags = below(6)
        has_a_tag = rnd() < _A_TAG_SHARE
        tags[i] = max(n_tags, has_a_tag)
        a_tag[i] = has_a_tag
        locations[i] = 1 if rnd() < 0.7 else 2
        if visibility == "shared":
            rows = []
            for other in rng.sample(range(len(OWNERS) - 1), 1 + below(5)):
                member = OWNERS[other + (other >= owner_index)]  # any owner but the image's
                u = rnd()
                member_status = "accepted" if u < 0.60 else "pending" if u < 0.85 else "rejected"
                can_share = rnd() < 0.05
                member_created = created + _us(below(14 * _DAY_US))
                member_updated = member_created
                if member_status != "pending":
                    member_updated += _us(between(1, 7 * _DAY_US))
                member_deleted_at = None
                member_deleted = rnd() < 0.03
                if member_deleted:
                    member_deleted_at = member_updated = member_updated + _us(between(1, 30 * _DAY_US))
                rows.append(
                    [
                        member,
                        can_share,
                        member_status,
                        member_created,
                        member_updated,
                        member_deleted_at,
                        member_deleted,
                    ]
                )
            members_of[i] = rows

    counts = [0] * len(OWNERS)
    for owner_index in owner_of:
        counts[owner_index] += 1
    ranked = sorted(range(len(OWNERS)), key=lambda k: (-counts[k], k))
    probe = OWNERS[ranked[PROBE_RANK - 1]]
    if not counts[ranked[PROBE_RANK - 1]]:
        raise errors.Invalid(f"{size} images give fewer than {PROBE_RANK} owners; seed more images")
    _ensure_probe_images(images, members_of, probe)

    members: list[Row] = []
    for i in sorted(members_of):
        image_id = images[i][_ID]
        for row in members_of[i]:
            members.append((len(members) + 1, image_id, *row))
    return _Plan(seed, [tuple(row) for row in images], properties, tags, a_tag, locations, members, probe)


def _usable(row: Sequence[Any]) -> bool:
    return not row[_DELETED] and row[_STATUS] == "active" and not row[_HIDDEN]


def _revive(row: list[Any]) -> None:
    """Make an image live, active and listed (only small datasets ever need this)."""
    row[_STATUS] = "active"
    row[_DELETED], row[_DELETED_AT], row[_HIDDEN] = False, None, False
    row[_UPDATED] = row[_CREATED]
    if row[_SIZE] is None:
        row[_SIZE] = row[_VSIZE] = 1 << 30


def _ensure_probe_images(images: list[list[Any]], members_of: dict[int, list[list[Any]]], probe: str) -> None:
    """Give the probe a live active image of its own and an accepted share of another's."""
    if not any(row[_OWNER] == probe and _usable(row) for row in images):
        _revive(next(row for row in images if row[_OWNER] == probe))

    def accepted(i: int) -> bool:
        return any(
            m[_M_MEMBER] == probe and m[_M_STATUS] == "accepted" and not m[_M_DELETED] for m in members_of.get(i, ())
        )

    def candidates(*tests: Callable[[int, list[Any]], bool]) -> Iterator[int]:
        return (i for i, row in enumerate(images) if row[_OWNER] != probe and all(t(i, row) for t in tests))

    def shared(i: int, row: list[Any]) -> bool:
        return bool(row[_VIS] == "shared")

    def usable(i: int, row: list[Any]) -> bool:
        return _usable(row)

    if next(candidates(shared, usable, lambda i, row: accepted(i)), None) is not None:
        return
    i = next(candidates(shared, usable), None)
    if i is None:
        i = next(candidates(usable), None)
    if i is None:
        i = next(candidates())
    row = images[i]
    if not _usable(row):
        _revive(row)
    row[_VIS] = "shared"
    rows = members_of.setdefault(i, [])
    for member in rows:
        if member[_M_MEMBER] == probe:
            member[_M_STATUS], member[_M_DELETED_AT], member[_M_DELETED] = "accepted", None, False
            member[_M_UPDATED] = member[_M_CREATED]
            break
    else:
        rows.append([probe, False, "accepted", row[_CREATED], row[_CREATED], None, False])


def _describe(plan: _Plan, size: int, seed: int) -> GlanceDataset:
    probe = plan.probe
    accepted = {
        m[1]
        for m in plan.members
        if m[2] == probe and m[4] == "accepted" and not m[8]  # member, status, deleted
    }
    visible = [
        row
        for row in plan.images
        if not row[_DELETED]
        and not row[_HIDDEN]
        and (row[_VIS] == "public" or row[_OWNER] == probe or (row[_VIS] == "shared" and row[_ID] in accepted))
    ]
    visible.sort(key=lambda row: (row[_CREATED], row[_ID]), reverse=True)
    own = next(row[_ID] for row in plan.images if row[_OWNER] == probe and _usable(row))
    shared = next(
        row[_ID]
        for row in plan.images
        if row[_OWNER] != probe and row[_VIS] == "shared" and row[_ID] in accepted and _usable(row)
    )
    counts = {
        "images": len(plan.images),
        "image_properties": sum(plan.properties),
        "image_tags": sum(plan.tags),
        "image_locations": sum(plan.locations),
        "image_members": len(plan.members),
    }
    return GlanceDataset(
        name=DATASET,
        seed=seed,
        size=size,
        fingerprint=fingerprint(size, seed),
        counts=counts,
        probe_owner=probe,
        admin_project=ADMIN_PROJECT,
        own_image_id=own,
        shared_image_id=shared,
        probe_owned=sum(1 for row in plan.images if row[_OWNER] == probe),
        probe_memberships=sum(1 for m in plan.members if m[2] == probe and m[4] == "accepted" and not m[8]),
        probe_visible=len(visible),
        deep_marker_id=visible[len(visible) * 9 // 10][_ID],
    )


# --- phase 2: the child rows, one stream per table ---------------------------------------

Stamp = Callable[[datetime], Any]


def _stream(plan: _Plan, table: str) -> random.Random:
    return random.Random(f"{plan.seed}/{table}/v{GENERATOR_VERSION}")


def _properties(plan: _Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "image_properties")
    rnd, bits, choices = rng.random, rng.getrandbits, rng.choices
    below, between, pick = _draws(rng)
    row_id = 0
    for i, image in enumerate(plan.images):
        image_id = image[_ID]
        created, updated = stamp(image[_CREATED]), stamp(image[_UPDATED])
        distro = pick(_DISTROS, _DISTRO_CUM)
        need = plan.properties[i]
        names = ["os_distro"] if rnd() < _OS_DISTRO_SHARE else []
        seen = set(names)
        while len(names) < need:  # weighted draws without replacement
            for key in choices(_OTHER_KEYS, cum_weights=_OTHER_CUM, k=need - len(names)):
                if key not in seen:
                    seen.add(key)
                    names.append(key)
        for key in names:
            value: str
            if key == "os_distro":
                value = distro
            elif key == "os_type":
                value = "windows" if distro == "windows" else "linux"
            elif key == "architecture":
                value = pick(_ARCHS, _ARCH_CUM)
            elif key == "os_version":
                versions = _VERSIONS[distro]
                value = versions[below(len(versions))]
            elif key == "hw_disk_bus":
                value = pick(_BUSES, _BUS_CUM)
            elif key == "owner_specified.openstack.md5":
                value = image[_CHECKSUM] or ""
            elif key == "owner_specified.openstack.sha256":
                value = f"{bits(256):064x}"
            elif key == "owner_specified.openstack.object":
                value = f"images/{image[_NAME] or image_id}"
            elif key == "description":
                value = f"{distro} image built by pipeline {below(1000)}"
            elif key == "os_admin_user":
                value = _ADMIN_USERS.get(distro, "cloud-user")
            elif key in ("instance_uuid", "base_image_ref"):
                value = str(uuid.UUID(int=bits(128), version=4))
            elif key == "user_id":
                value = f"{bits(128):032x}"
            elif key == "owner_project_name":
                value = f"project-{image[_OWNER]}"
            elif key == "owner_user_name":
                value = f"user-{below(500):03d}"
            else:
                options = _PICK[key]
                value = options[below(len(options))]
            row_id += 1
            if rnd() < 0.03:
                gone = stamp(image[_UPDATED] + _us(between(1, 60 * _DAY_US)))
                yield (row_id, image_id, key, value, created, gone, gone, True)
            else:
                yield (row_id, image_id, key, value, created, updated, None, False)


def _tags(plan: _Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "image_tags")
    rnd, choices = rng.random, rng.choices
    between = _draws(rng)[1]
    row_id = 0
    for i, image in enumerate(plan.images):
        need = plan.tags[i]
        if not need:
            continue
        image_id = image[_ID]
        created = stamp(image[_CREATED])
        values = [TAG_FILTER] if plan.a_tag[i] else []
        seen = set(values)
        while len(values) < need:
            for tag in choices(_TAGS, cum_weights=_TAG_CUM, k=need - len(values)):
                if tag not in seen:
                    seen.add(tag)
                    values.append(tag)
        for value in values:
            row_id += 1
            if rnd() < 0.02:
                gone = stamp(image[_CREATED] + _us(between(1, 60 * _DAY_US)))
                yield (row_id, image_id, value, created, gone, gone, True)
            else:
                yield (row_id, image_id, value, created, created, None, False)


def _locations(plan: _Plan, stamp: Stamp) -> Iterator[Row]:
    rng = _stream(plan, "image_locations")
    rnd, bits = rng.random, rng.getrandbits
    below, between, _ = _draws(rng)
    fsids = {f"fsid{k}": str(uuid.UUID(int=bits(128), version=4)) for k in range(2)}
    meta = {name: f'{{"store": "{name}"}}' for name, _, _ in _STORES}
    row_id = 0
    for i, image in enumerate(plan.images):
        image_id = image[_ID]
        created, updated = stamp(image[_CREATED]), stamp(image[_UPDATED])
        stores = list(_STORES)
        for _ in range(plan.locations[i]):  # each location in a different store
            point = below(sum(weight for _, _, weight in stores))
            k = 0
            while point >= stores[k][2]:
                point -= stores[k][2]
                k += 1
            name, pattern, _ = stores.pop(k)
            url = pattern.format(image_id=image_id, owner=image[_OWNER], **fsids)
            meta_data = meta[name] if rnd() < 0.85 else "{}"
            row_id += 1
            if rnd() < 0.03:
                gone = stamp(image[_UPDATED] + _us(between(1, 60 * _DAY_US)))
                yield (row_id, image_id, url, meta_data, "deleted", created, gone, gone, True)
            else:
                status = "pending_delete" if image[_STATUS] == "pending_delete" else "active"
                yield (row_id, image_id, url, meta_data, status, created, updated, None, False)


def _stamped(rows: Iterable[Row], positions: tuple[int, ...], stamp: Stamp) -> Iterator[Row]:
    for row in rows:
        values = list(row)
        for k in positions:
            if values[k] is not None:
                values[k] = stamp(values[k])
        yield tuple(values)


def _rows(plan: _Plan, stamp: Stamp | None) -> list[tuple[str, int, Iterable[Row]]]:
    """(table, row count, rows) in load order; ``stamp`` turns datetimes into stored values."""
    if stamp is None:
        images: Iterable[Row] = plan.images
        members: Iterable[Row] = plan.members
        stamp = _same
    else:
        images = _stamped(plan.images, (_CREATED, _UPDATED, _DELETED_AT), stamp)
        members = _stamped(plan.members, (5, 6, 7), stamp)
    return [
        ("images", len(plan.images), images),
        ("image_properties", sum(plan.properties), _properties(plan, stamp)),
        ("image_tags", sum(plan.tags), _tags(plan, stamp)),
        ("image_locations", sum(plan.locations), _locations(plan, stamp)),
        ("image_members", len(plan.members), members),
    ]


def _same(value: datetime) -> datetime:
    return value


def _sqlite_stamp(value: datetime) -> str:
    # As rawdb's SQLite adapter (and SQLAlchemy) store DATETIME: always six fractional digits.
    return value.isoformat(" ", "microseconds")


# --- loading ------------------------------------------------------------------------------

_PROGRESS_EVERY = 10_000
REBUILD_INDEXES_FROM = 5_000  # images; smaller loads keep the indexes in place (faster there)
# Values per multi-row INSERT on SQLite: within the 999 bound parameters any SQLite allows.  At
# 10,000 images the load takes as long as executemany() in batches of 5,000 rows did (3.8-4.1 s
# against 3.8-4.0 s); far longer statements cost more to convert and to prepare than they save.
_SQLITE_VALUES = 999
# Rows per multi-row INSERT on MySQL, where values are interpolated on the client (no bound
# parameter limit; max_allowed_packet, 16 MiB by default, bounds the text: 1,000 image rows
# are about 0.5 MiB).  See _insert for the measurements.
_MYSQL_ROWS = 1000


def _reporting(rows: Iterable[Row], table: str, total: int, progress: Progress | None) -> Iterator[Row]:
    if progress is None:
        yield from rows
        return
    for done, row in enumerate(rows, 1):
        yield row
        if not done % _PROGRESS_EVERY:
            progress(table, done, total)


async def _copy(conn: PgConnection, plan: _Plan, progress: Progress | None) -> None:
    for table, total, rows in _rows(plan, None):
        if progress is not None:
            progress(table, 0, total)
        await conn.raw.copy_records_to_table(
            table, records=_reporting(rows, table, total, progress), columns=list(COLUMNS[table])
        )
        if progress is not None:
            progress(table, total, total)


async def _detach(tx: Context) -> list[str]:
    """Drop the secondary indexes and constraints of the glance tables; return how to rebuild them.

    A large load runs faster without them: each row would otherwise probe images for its
    foreign key and update every index at a random place, where building an index after
    the load is one sort.  They are dropped inside the load's transaction and re-created
    from the catalog's own definitions, so the schema ends up exactly as it was (and a
    failed load rolls the drops back too).  Primary keys stay.
    """
    if tx.dialect == "postgresql":
        await tx.script("SET LOCAL maintenance_work_mem = '256MB'", "maintenance_work_mem")
        constraints = await tx.fetch(_PG_CONSTRAINTS, tables=list(TABLES))
        indexes = await tx.fetch(_PG_INDEXES, tables=list(TABLES))
        for row in [*constraints, *indexes]:
            await tx.script(row["drop_sql"], "drop for the bulk load")
        return [row["create_sql"] for row in [*indexes, *constraints]]
    # SQLite: indexes made by CREATE INDEX (those of UNIQUE constraints have no SQL and stay).
    indexes = await tx.fetch(_SQLITE_INDEXES, tables=list(TABLES))
    for row in indexes:
        await tx.script(f'DROP INDEX "{row["name"]}"', "drop for the bulk load")
    return [row["sql"] for row in indexes]


async def _reattach(tx: Context, rebuild: list[str], progress: Progress | None) -> None:
    for done, sql in enumerate(rebuild, 1):
        if progress is not None and done == 1:
            progress("indexes", 0, len(rebuild))
        await tx.script(sql, "rebuild after the bulk load")
        if progress is not None:
            progress("indexes", done, len(rebuild))


@functools.cache
def _insert_statement(table: str, rows: int, dialect: Dialect) -> Statement:
    """``INSERT INTO table (columns) VALUES (…), (…)`` for ``rows`` rows, parameters ``:v0``, ``:v1``, …"""
    width = len(COLUMNS[table])
    values = ", ".join(
        "(" + ", ".join(f":v{row * width + column}" for column in range(width)) + ")" for row in range(rows)
    )
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS[table])}) VALUES {values}"
    return Statement(
        f"bench.seed.insert_{table}", f"{rows} rows into {table}.", "<python>", {dialect: convert(sql, dialect)}
    )


async def _insert(tx: Context, plan: _Plan, progress: Progress | None) -> None:
    """Load the plan's rows through the writer scope, many rows per statement.

    On SQLite as many as it binds.  On MySQL 1,000 rows: seeding 10,000 images (about
    130,000 rows) took 3.7-3.8 s with 1,000 rows per INSERT, 3.8-3.9 s with 250 and
    3.6-3.7 s with 2,000 (two runs each), as on SQLite; the INSERTs are 3.0 s of it, and
    the server needs under half of that (tags and properties by INSERT ... SELECT: 0.85 s), the rest
    is the driver turning the values into SQL text.
    """
    dialect = tx.dialect
    mysql = dialect == "mysql"
    for table, total, rows in _rows(plan, None if mysql else _sqlite_stamp):
        batch_size = _MYSQL_ROWS if mysql else max(1, _SQLITE_VALUES // len(COLUMNS[table]))
        if progress is not None:
            progress(table, 0, total)
        done = 0
        source = iter(rows)
        while batch := list(itertools.islice(source, batch_size)):
            values = itertools.chain.from_iterable(batch)
            statement = _insert_statement(table, len(batch), dialect)
            await tx.execute(statement, **{f"v{i}": v for i, v in enumerate(values)})
            done += len(batch)
            if progress is not None:
                progress(table, done, total)


# --- statements ---------------------------------------------------------------------------

DATASETS_DDL = {
    "postgresql": """CREATE TABLE IF NOT EXISTS rawdb_bench_datasets (
        name        VARCHAR(64)  NOT NULL PRIMARY KEY,
        fingerprint VARCHAR(255) NOT NULL,
        loaded_at   TIMESTAMP WITHOUT TIME ZONE NOT NULL
    )""",
    "sqlite": """CREATE TABLE IF NOT EXISTS rawdb_bench_datasets (
        name        VARCHAR(64)  NOT NULL PRIMARY KEY,
        fingerprint VARCHAR(255) NOT NULL,
        loaded_at   DATETIME     NOT NULL
    )""",
    "mysql": """CREATE TABLE IF NOT EXISTS rawdb_bench_datasets (
        name        VARCHAR(64)  NOT NULL PRIMARY KEY,
        fingerprint VARCHAR(255) NOT NULL,
        loaded_at   DATETIME(6)  NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin""",
}
RECORDED = Statement.portable(
    "bench.seed.recorded",
    "SELECT fingerprint FROM rawdb_bench_datasets WHERE name = :name",
    "The fingerprint of the dataset loaded under a name, if any.",
)
FORGET = Statement.portable(
    "bench.seed.forget", "DELETE FROM rawdb_bench_datasets WHERE name = :name", "Forget a dataset."
)
RECORD = Statement.portable(
    "bench.seed.record",
    "INSERT INTO rawdb_bench_datasets (name, fingerprint, loaded_at) VALUES (:name, :fingerprint, :loaded_at)",
    "Record a loaded dataset.",
)
_COUNTS = Statement.portable(
    "bench.seed.counts",
    "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t}) AS {t}" for t in TABLES),
    "Rows per glance table.",
)
_CLEAR = {
    # TRUNCATE is transactional on PostgreSQL and leaves no dead tuples behind for the
    # benchmarks to trip over; the children go with their parent in one statement.
    "postgresql": "TRUNCATE image_members, image_tags, image_locations, image_properties, images",
    "sqlite": "".join(f"DELETE FROM {t};\n" for t in reversed(TABLES)),
    # InnoDB refuses to TRUNCATE a table other tables' foreign keys point at, even when they
    # are empty; DELETE of a large dataset would take minutes.  The session's checks come
    # back on at the end (and a connection that failed halfway is discarded).
    "mysql": "SET SESSION foreign_key_checks = 0;\n"
    + "".join(f"TRUNCATE TABLE {t};\n" for t in reversed(TABLES))
    + "SET SESSION foreign_key_checks = 1",
}
# COPY writes explicit ids, so the serial sequences must be moved past them.
_SEQUENCES = "\n".join(
    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {t}), false);"
    for t in TABLES[1:]
)


def _pg_only(name: str, sql: str, doc: str) -> Statement:
    return Statement(name, doc, "<python>", {"postgresql": convert(sql, "postgresql")})


def _mysql_statement(name: str, sql: str, doc: str) -> Statement:
    return Statement(name, doc, "<python>", {"mysql": convert(sql, "mysql")})


# Seeders of one dataset take turns.  PostgreSQL: an advisory lock until the transaction
# ends; SQLite: the writer's BEGIN IMMEDIATE already serialises them, nothing to take;
# MySQL: a named lock of the session (DDL commits, so no transaction spans a whole seeding).
_LOCK = {
    "postgresql": _pg_only(
        "bench.seed.lock",
        "SELECT pg_advisory_xact_lock(:key) IS NULL AS locked",
        "Wait for the other seeders of a dataset; the lock ends with the transaction.",
    ),
    "mysql": _mysql_statement(
        "bench.seed.lock",
        "SELECT GET_LOCK(LEFT(CONCAT('rawdb-bench-', :name, '@', DATABASE()), 64), :timeout) AS locked",
        "Wait up to :timeout seconds for the other seeders of a dataset (1: taken).",
    ),
}
_UNLOCK = _mysql_statement(
    "bench.seed.unlock",
    "SELECT RELEASE_LOCK(LEFT(CONCAT('rawdb-bench-', :name, '@', DATABASE()), 64)) AS released",
    "Let the next seeder of a dataset in.",
)
LOCK_TIMEOUT = 3600  # seconds a MySQL seeder waits for another one (a large load takes minutes)


_PG_CONSTRAINTS = _pg_only(
    "bench.seed.pg_constraints",
    """SELECT format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, t.relname, c.conname) AS drop_sql,
              format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
                     n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)) AS create_sql
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = current_schema() AND t.relname = ANY(:tables) AND c.contype IN ('u', 'f')
       ORDER BY c.contype = 'f', c.oid""",
    "The unique and foreign-key constraints of the given tables: how to drop and re-add each.",
)
_PG_INDEXES = _pg_only(
    "bench.seed.pg_indexes",
    """SELECT format('DROP INDEX %I.%I', n.nspname, ic.relname) AS drop_sql,
              pg_get_indexdef(i.indexrelid) AS create_sql
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = current_schema() AND t.relname = ANY(:tables)
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                         WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
       ORDER BY i.indexrelid""",
    "The indexes of the given tables that back no constraint: how to drop and re-create each.",
)
_SQLITE_INDEXES = Statement(
    "bench.seed.sqlite_indexes",
    "The indexes of the given tables made by CREATE INDEX, with their SQL.",
    "<python>",
    {
        "sqlite": convert(
            """SELECT name, sql FROM sqlite_master
               WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ANY(:tables)
               ORDER BY rowid""",
            "sqlite",
        )
    },
)
_ANALYZE = {
    "postgresql": f"ANALYZE {', '.join(TABLES)}",
    "sqlite": "ANALYZE",
    "mysql": f"ANALYZE TABLE {', '.join(TABLES)}",
}


async def _counts(tx: Context) -> dict[str, int]:
    row = await tx.fetchrow(_COUNTS)
    assert row is not None
    return {table: int(row[table]) for table in TABLES}


# --- the entry point ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def seeding(db: Database, name: str) -> AsyncIterator[Context]:
    """A writer scope in which one seeder of dataset ``name`` runs at a time, ``rawdb_bench_datasets`` created.

    On PostgreSQL and SQLite it is one transaction.  On MySQL the scope starts in autocommit,
    so that DDL (TRUNCATE) can run in it: call ``tx.begin()`` before the statements that must
    commit together.  The named lock is held by a second connection until the scope has
    committed, so the next seeder finds the dataset complete.

    :raises Invalid: (MySQL) another seeder held the lock for LOCK_TIMEOUT seconds
    """
    if db.dialect != "mysql":
        async with db.writer() as tx:
            if db.dialect == "postgresql":
                await tx.fetch(_LOCK["postgresql"], key=zlib.crc32(f"rawdb-bench-seed:{name}".encode()))
            await tx.script(DATASETS_DDL[db.dialect], "rawdb_bench_datasets table")
            yield tx
        return
    async with db.context(is_admin=True).writer(autocommit=True) as holder:
        try:
            if await holder.fetchval(_LOCK["mysql"], name=name, timeout=LOCK_TIMEOUT) != 1:
                raise errors.Invalid(f"another seeding of the {name} dataset held its lock for {LOCK_TIMEOUT} s")
            async with db.context(is_admin=True).writer(autocommit=True) as tx:
                try:
                    await tx.script(DATASETS_DDL["mysql"], "rawdb_bench_datasets table")
                    yield tx
                except BaseException:
                    _discard(tx)  # a script stopped halfway may leave session state (foreign_key_checks)
                    raise
        except BaseException:
            _discard(holder)  # closing the connection releases the lock
            raise
        await holder.fetch(_UNLOCK, name=name)


def _discard(tx: Context) -> None:
    """Close the scope's connection when the scope ends, instead of putting it back in the pool."""
    transaction = tx.transaction
    if transaction is not None and transaction.conn is not None:
        transaction.conn.mark_broken()


async def seed_glance(
    db: Database,
    images: int,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> GlanceDataset:
    """Fill glance's image tables with the deterministic dataset of ``images`` images.

    Bootstraps the glance schema if needed.  When the database already holds this very
    dataset (same fingerprint and row counts), nothing is loaded and the description is
    recomputed (``reused`` is True).  When it holds another recorded dataset, its glance
    rows are deleted first.  Everything is loaded in one transaction, then ANALYZEd (on
    MySQL the old rows are truncated before that transaction: see the module's doc).

    :param db: the database to fill
    :param images: how many images (at least 200)
    :param seed: the random seed; perf_baseline.md uses 20250101
    :param progress: called as ``progress(stage, done, total)`` while loading: each table
        in TABLES order (rows loaded of rows to load: at 0, every 10,000 rows on PostgreSQL
        or after every multi-row INSERT on SQLite and MySQL, and at the end), then ``"indexes"``
        (indexes and constraints rebuilt, only for loads of 5,000 images or more, not on MySQL) and ``"analyze"``
        (0 of 1, then 1 of 1).  Never called when the dataset is reused.
    :raises Invalid: too few images, or the database holds glance images no seeding recorded
    """
    if images < MIN_IMAGES:
        raise errors.Invalid(f"a glance dataset needs at least {MIN_IMAGES} images, not {images}")
    await schema.bootstrap(db, "glance")
    plan = _plan(images, seed)
    dataset = _describe(plan, images, seed)
    async with seeding(db, DATASET) as tx:
        recorded = await tx.fetchval(RECORDED, name=DATASET)
        present = await _counts(tx)
        if recorded == dataset.fingerprint and present == dataset.counts:
            return replace(dataset, reused=True)
        if recorded is None and present["images"]:
            raise errors.Invalid(
                f"{db.url_safe} holds {present['images']} glance images that no benchmark seeding "
                "recorded; refusing to delete them (seed an empty database)"
            )
        await tx.execute(FORGET, name=DATASET)  # (MySQL: commits now) a half-done load is never taken for done
        if any(present.values()):
            await tx.script(_CLEAR[db.dialect], "clear the glance dataset")
        await tx.begin()  # MySQL: the load's transaction starts after the DDL
        conn = tx.transaction.conn if tx.transaction is not None else None
        rebuild = await _detach(tx) if images >= REBUILD_INDEXES_FROM and db.dialect != "mysql" else []
        try:
            if db.dialect in ("sqlite", "mysql"):
                await _insert(tx, plan, progress)
            elif isinstance(conn, PgConnection):
                await _copy(conn, plan, progress)  # COPY: asyncpg's own bulk load, on the scope's connection
                await tx.script(_SEQUENCES, "move the id sequences")
            else:
                raise errors.Invalid(f"cannot bulk-load through {conn!r}")
        except errors.RawdbError:
            raise
        except Exception as exc:
            translated = db.backend.translate(exc)
            if translated is None:
                raise
            raise translated from exc
        await _reattach(tx, rebuild, progress)
        await tx.execute(RECORD, name=DATASET, fingerprint=dataset.fingerprint, loaded_at=utcnow())
    if progress is not None:
        progress("analyze", 0, 1)
    async with db.writer() as tx:
        await tx.script(_ANALYZE[db.dialect], "analyze the glance tables")
    if progress is not None:
        progress("analyze", 1, 1)
    return dataset
