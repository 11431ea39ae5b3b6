"""rawdb.errors is one flat namespace over its family modules, with OpenStack's names, kwargs and hierarchy."""

from __future__ import annotations

import importlib
import inspect
import re
from types import ModuleType
from typing import Any

import pytest

from rawdb import errors

FAMILY_MODULES = ["_base", "database", "glance", "quota", "nova", "cinder"]
PLACEHOLDER = re.compile(r"%\((\w+)\)")
# kwargs whose constructor normalises the value: DBDuplicateEntry keeps ``columns`` as a list
SAMPLE_VALUES: dict[str, Any] = {"columns": ["<columns-value>"]}

ALL_CLASSES: list[type[errors.RawdbError]] = [getattr(errors, name) for name in errors.__all__]


def family_module(name: str) -> ModuleType:
    return importlib.import_module(f"rawdb.errors.{name}")


def class_id(cls: type[BaseException]) -> str:
    return cls.__name__


# --- the flat namespace ------------------------------------------------------------------


@pytest.mark.parametrize("name", errors.__all__)
def test_every_exported_name_imports_from_rawdb_errors(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from rawdb.errors import {name}", namespace)
    assert namespace[name] is getattr(errors, name)


def test_all_lists_each_name_once_and_sorted() -> None:
    assert len(set(errors.__all__)) == len(errors.__all__)
    assert errors.__all__ == sorted(errors.__all__)


@pytest.mark.parametrize("module_name", FAMILY_MODULES)
def test_every_class_of_every_family_module_is_reexported(module_name: str) -> None:
    module = family_module(module_name)
    defined = [
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
    ]
    assert defined, module_name
    missing = [
        name for name in defined if name not in errors.__all__ or getattr(errors, name) is not vars(module)[name]
    ]
    assert missing == []


def test_every_exception_in_the_namespace_is_in_all() -> None:
    exported = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException) and not name.startswith("_")
    }
    assert exported == set(errors.__all__)


def test_a_name_is_defined_in_exactly_one_family_module() -> None:
    owners: dict[str, list[str]] = {}
    for module_name in FAMILY_MODULES:
        module = family_module(module_name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                owners.setdefault(name, []).append(module_name)
    assert {name: mods for name, mods in owners.items() if len(mods) > 1} == {}
    assert set(owners) == set(errors.__all__)


def test_the_family_modules_hold_the_family_they_are_named_for() -> None:
    assert errors.RawdbError.__module__ == "rawdb.errors._base"
    assert errors.DBDuplicateEntry.__module__ == "rawdb.errors.database"
    assert errors.ImageNotFound.__module__ == "rawdb.errors.glance"
    assert errors.OverQuota.__module__ == "rawdb.errors.quota"
    assert errors.InstanceNotFound.__module__ == "rawdb.errors.nova"
    assert errors.VolumeNotFound.__module__ == "rawdb.errors.cinder"


# --- every class: family, docstring, message -----------------------------------------------


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=class_id)
def test_every_class_is_a_rawdb_error(cls: type[BaseException]) -> None:
    assert issubclass(cls, errors.RawdbError)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=class_id)
def test_every_class_has_its_own_one_line_docstring(cls: type[BaseException]) -> None:
    doc = vars(cls).get("__doc__")
    assert isinstance(doc, str) and doc.strip(), cls.__name__
    assert "\n" not in doc.strip()
    assert doc.strip().endswith(".")


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=class_id)
def test_every_message_formats_from_the_kwargs_it_names(cls: type[errors.RawdbError]) -> None:
    names = PLACEHOLDER.findall(cls.msg_fmt)
    kwargs: dict[str, Any] = {name: SAMPLE_VALUES.get(name, f"<{name}-value>") for name in names}
    err = cls(**kwargs)
    message = str(err)
    assert "%(" not in message, message
    for name, value in kwargs.items():
        assert f"<{name}-value>" in message
        assert getattr(err, name) == value
    assert err.msg == message


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=class_id)
def test_every_class_takes_an_explicit_message(cls: type[errors.RawdbError]) -> None:
    assert str(cls(message="spelled out by the caller")) == "spelled out by the caller"


# --- hierarchy (DESIGN "Compatibility details", spec B.3) ----------------------------------


@pytest.mark.parametrize("cls", [c for c in ALL_CLASSES if "NotFound" in c.__name__], ids=class_id)
def test_every_not_found_is_a_not_found(cls: type[BaseException]) -> None:
    assert issubclass(cls, errors.NotFound)


@pytest.mark.parametrize(
    "cls", [c for c in ALL_CLASSES if c.__name__.endswith("Exists") or "Duplicate" in c.__name__], ids=class_id
)
def test_every_exists_and_duplicate_is_a_duplicate(cls: type[BaseException]) -> None:
    assert issubclass(cls, errors.Duplicate)


@pytest.mark.parametrize(
    ("child_cls", "parent_cls"),
    [
        # oslo.db and the roots
        (errors.DBDuplicateEntry, errors.Duplicate),
        (errors.DBDuplicateEntry, errors.DBError),
        (errors.DBInvalidUnicodeParameter, errors.DBError),
        (errors.MarkerNotFound, errors.NotFound),
        (errors.AdminRequired, errors.NotAuthorized),
        (errors.InvalidInput, errors.Invalid),
        (errors.InvalidUUID, errors.Invalid),
        (errors.InvalidID, errors.Invalid),
        (errors.InstanceInvalidState, errors.Invalid),
        # nova's NotFound sub-families
        (errors.InstanceTypeNotFoundByName, errors.InstanceTypeNotFound),
        (errors.ComputeHostNotFound, errors.HostNotFound),
        (errors.NetworkNotFoundForUUID, errors.NetworkNotFound),
        (errors.NetworkNotFoundForCidr, errors.NetworkNotFound),
        (errors.NetworkNotFoundForInstance, errors.NetworkNotFound),
        (errors.NetworkNotFoundForProject, errors.NetworkNotFound),
        (errors.FixedIpNotFoundForAddress, errors.FixedIpNotFound),
        (errors.FixedIpNotFoundForInstance, errors.FixedIpNotFound),
        (errors.FixedIpNotFoundForNetwork, errors.FixedIpNotFound),
        (errors.FixedIpNotFoundForNetworkHost, errors.FixedIpNotFound),
        (errors.FloatingIpNotFoundForAddress, errors.FloatingIpNotFound),
        (errors.FloatingIpNotFoundForHost, errors.FloatingIpNotFound),
        (errors.NoMoreFloatingIps, errors.FloatingIpNotFound),
        (errors.NoNetworksFound, errors.NotFound),
        (errors.NoFixedIpsDefined, errors.NotFound),
        (errors.NoFloatingIpsDefined, errors.NotFound),
        (errors.SecurityGroupNotFoundForProject, errors.SecurityGroupNotFound),
        (errors.SecurityGroupNotFoundForRule, errors.SecurityGroupNotFound),
        (errors.SecurityGroupDefaultRuleNotFound, errors.Invalid),
        (errors.SecurityGroupDefaultRuleNotFound, errors.NotFound),
        (errors.SecurityGroupExists, errors.Invalid),
        (errors.ConsoleNotFoundForInstance, errors.ConsoleNotFound),
        (errors.ConsoleNotFoundInPoolForInstance, errors.ConsoleNotFound),
        (errors.MigrationNotFoundByStatus, errors.MigrationNotFound),
        # quotas: all QuotaNotFound
        (errors.ProjectQuotaNotFound, errors.QuotaNotFound),
        (errors.ProjectUserQuotaNotFound, errors.QuotaNotFound),
        (errors.QuotaClassNotFound, errors.QuotaNotFound),
        (errors.QuotaUsageNotFound, errors.QuotaNotFound),
        (errors.ReservationNotFound, errors.QuotaNotFound),
        (errors.QuotaResourceUnknown, errors.QuotaNotFound),
        (errors.OverQuota, errors.QuotaError),
        # nova's duplicates (check-then-insert and constraint based)
        (errors.InstanceExists, errors.Duplicate),
        (errors.InstanceTypeExists, errors.Duplicate),
        (errors.InstanceTypeIdExists, errors.Duplicate),
        (errors.FlavorAccessExists, errors.Duplicate),
        (errors.AggregateNameExists, errors.Duplicate),
        (errors.AggregateHostExists, errors.Duplicate),
        (errors.FloatingIpExists, errors.Duplicate),
        (errors.DuplicateVlan, errors.Duplicate),
        (errors.TaskAlreadyRunning, errors.Duplicate),
        # Newton's compare-and-swap family (spec B.6)
        (errors.UnexpectedDeletingTaskStateError, errors.UnexpectedTaskStateError),
        (errors.UnexpectedTaskStateError, errors.InstanceUpdateConflict),
        (errors.UnknownInstanceUpdateConflict, errors.InstanceUpdateConflict),
        (errors.InstanceUpdateConflict, errors.Conflict),
        # cinder
        (errors.VolumeTypeNotFoundByName, errors.VolumeTypeNotFound),
        (errors.VolumeTypeExists, errors.Duplicate),
        (errors.ISCSITargetNotFoundForVolume, errors.NotFound),
    ],
    ids=lambda cls: cls.__name__,
)
def test_hierarchy_follows_openstack(child_cls: type[BaseException], parent_cls: type[BaseException]) -> None:
    assert issubclass(child_cls, parent_cls)


@pytest.mark.parametrize(
    "cls",
    [
        errors.FixedIpAlreadyInUse,
        errors.NoMoreFixedIps,
        errors.NoMoreNetworks,
        errors.NetworkInUse,
        errors.VirtualInterfaceCreateException,
        errors.TaskNotRunning,
        errors.ConstraintNotMet,
        errors.UnexpectedTaskStateError,
        errors.OverQuota,
        errors.InvalidQuotaValue,
        errors.InvalidReservationExpiration,
        errors.NoMoreTargets,
        errors.FixedIpAssociateFailed,
        errors.FloatingIpAllocateFailed,
    ],
    ids=class_id,
)
def test_errors_spec_b3_lists_as_other_than_not_found_are_not_not_found(cls: type[BaseException]) -> None:
    assert not issubclass(cls, errors.NotFound)


def test_roots_stay_apart() -> None:
    roots = [errors.NotFound, errors.Invalid, errors.Duplicate, errors.Conflict, errors.NotAuthorized]
    for root in roots:
        for other in roots:
            assert issubclass(root, other) == (root is other)
    assert not issubclass(errors.ConstraintNotMet, (errors.NotFound, errors.Invalid, errors.Conflict))


# --- messages callers and upstream tests look for ------------------------------------------


def test_not_found_messages_name_the_key_that_was_looked_up() -> None:
    assert "i-1" in str(errors.InstanceNotFound(instance_id="i-1"))
    assert "kp" in str(errors.KeypairNotFound(user_id="u1", name="kp"))
    assert "u1" in str(errors.KeypairNotFound(user_id="u1", name="kp"))
    assert str(errors.VolumeNotFound(volume_id="v1")) == "Volume v1 could not be found."
    assert str(errors.FixedIpNotFoundForAddress(address="10.0.0.2")) == "Fixed IP not found for address 10.0.0.2."


def test_task_state_conflict_formats_for_either_release_s_kwargs() -> None:
    grizzly = errors.UnexpectedTaskStateError(expected=("scheduling",), actual="deleting")
    newton = errors.UnexpectedDeletingTaskStateError(
        instance_uuid="u-1", expected={"task_state": ["scheduling"]}, actual={"task_state": "deleting"}
    )
    for err in (grizzly, newton):
        assert "%(" not in str(err)
        assert "deleting" in str(err)
    assert newton.kwargs["instance_uuid"] == "u-1"
    assert newton.kwargs["expected"] == {"task_state": ["scheduling"]}


def test_floating_ip_exists_accepts_a_whole_row() -> None:
    err = errors.FloatingIpExists(id=3, address="172.24.4.3", pool="public", project_id=None)
    assert str(err) == "Floating IP 172.24.4.3 already exists."
    assert err.kwargs["pool"] == "public"
