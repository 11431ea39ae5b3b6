"""Nova's DB API errors, with nova's names, kwargs and hierarchy (``nova/exception.py`` at 2013.1 and 14.0.0).

Where nova left an error outside the family its name promises (an ``*NotFound`` that is no ``NotFound``, an
``*Exists`` that is no ``Duplicate``), rawdb adds the missing root and keeps nova's own: every ``except`` clause
written against nova still catches what it caught.  Cinder raises the service, host and migration errors below
under the same names; nova's volume errors (ec2 mappings) are cinder's, in ``cinder.py``.
"""

from __future__ import annotations

from rawdb.errors._base import Conflict, Duplicate, Invalid, NotFound, RawdbError

# --- instances ---------------------------------------------------------------------------


class InstanceNotFound(NotFound):
    """No instance with this uuid (or id) is visible to the caller."""

    msg_fmt = "Instance %(instance_id)s could not be found."


class InstanceExists(Duplicate):
    """A live instance of the same project already has this hostname."""

    msg_fmt = "Instance %(name)s already exists."


class InstanceInvalidState(Invalid):
    """The instance's state forbids the action; wait until it changes."""

    msg_fmt = "Instance %(instance_uuid)s in %(attr)s %(state)s. Cannot %(method)s while the instance is in this state."


class InstanceInfoCacheNotFound(NotFound):
    """The instance has no network info cache row."""

    msg_fmt = "Info cache for instance %(instance_uuid)s could not be found."


class InstanceTagNotFound(NotFound):
    """The instance has no tag with this value."""

    msg_fmt = "Instance %(instance_id)s has no tag '%(tag)s'."


# nova 14.0.0 derives it from NovaException alone; rawdb adds Conflict, which says the same thing.
class InstanceUpdateConflict(Conflict):
    """The instance no longer matches ``expected``; re-read it and decide again."""

    msg_fmt = "Conflict updating instance %(instance_uuid)s. Expected: %(expected)s. Actual: %(actual)s."


class UnknownInstanceUpdateConflict(InstanceUpdateConflict):
    """The compare-and-swap update matched no row, yet no field differs; the update is retried."""

    msg_fmt = "Conflict updating instance %(instance_uuid)s, but we were unable to determine the cause."


class UnexpectedTaskStateError(InstanceUpdateConflict):
    """The instance's task_state is not one of ``expected``; nothing was written."""

    # nova 2013.1's wording: its calls pass only expected and actual, 14.0.0's also instance_uuid.
    msg_fmt = "Unexpected task state: expecting %(expected)s but the actual state is %(actual)s."


class UnexpectedDeletingTaskStateError(UnexpectedTaskStateError):
    """The instance is being deleted (task_state 'deleting'); give up on it."""


# nova derives the two action errors from NovaException alone; rawdb adds NotFound.
class InstanceActionNotFound(NotFound):
    """The instance has no action for this request id."""

    msg_fmt = "Action for request_id %(request_id)s on instance %(instance_uuid)s not found."


class InstanceActionEventNotFound(NotFound):
    """The instance action has no event by this name."""

    msg_fmt = "Event %(event)s not found for action id %(action_id)s."


class InvalidID(Invalid):
    """An instance id is neither an integer id nor a uuid."""

    msg_fmt = "Invalid ID received %(id)s."


# --- server groups -----------------------------------------------------------------------


class InstanceGroupNotFound(NotFound):
    """No server group with this uuid is visible to the caller."""

    msg_fmt = "Instance group %(group_uuid)s could not be found."


# nova 14.0.0 derives it from NovaException alone; rawdb adds Duplicate, as for every *Exists.
class InstanceGroupIdExists(Duplicate):
    """A server group with this uuid already exists."""

    msg_fmt = "Instance group %(group_uuid)s already exists."


class InstanceGroupMemberNotFound(NotFound):
    """The server group has no such member."""

    msg_fmt = "Instance group %(group_uuid)s has no member with id %(instance_id)s."


# --- flavors (instance types) ------------------------------------------------------------


class InstanceTypeNotFound(NotFound):
    """No flavor with this id."""

    msg_fmt = "Instance type %(instance_type_id)s could not be found."


class InstanceTypeNotFoundByName(InstanceTypeNotFound):
    """No live flavor with this name."""

    msg_fmt = "Instance type with name %(instance_type_name)s could not be found."


class InstanceTypeExists(Duplicate):
    """A live flavor already has this name."""

    msg_fmt = "Instance Type with name %(name)s already exists."


class InstanceTypeIdExists(Duplicate):
    """A live flavor already has this flavorid."""

    msg_fmt = "Instance Type with ID %(flavor_id)s already exists."


class FlavorNotFound(NotFound):
    """No flavor with this flavorid."""

    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorAccessNotFound(NotFound):
    """The project has no access entry for this flavor."""

    msg_fmt = "Flavor access not found for %(flavor_id)s / %(project_id)s combination."


class FlavorAccessExists(Duplicate):
    """The project already has access to this flavor."""

    msg_fmt = "Flavor access already exists for flavor %(flavor_id)s and project %(project_id)s combination."


# --- aggregates --------------------------------------------------------------------------


class AggregateNotFound(NotFound):
    """No live aggregate with this id."""

    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(Duplicate):
    """A live aggregate already has this name."""

    msg_fmt = "Aggregate %(aggregate_name)s already exists."


class AggregateHostNotFound(NotFound):
    """The aggregate does not contain this host."""

    msg_fmt = "Aggregate %(aggregate_id)s has no host %(host)s."


class AggregateHostExists(Duplicate):
    """The aggregate already contains this host."""

    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class AggregateMetadataNotFound(NotFound):
    """The aggregate has no metadata with this key."""

    msg_fmt = "Aggregate %(aggregate_id)s has no metadata with key %(metadata_key)s."


# --- services, hosts and task logs (cinder's too) ----------------------------------------


class ServiceNotFound(NotFound):
    """No live service with this id."""

    msg_fmt = "Service %(service_id)s could not be found."


class HostNotFound(NotFound):
    """No live service runs on this host."""

    msg_fmt = "Host %(host)s could not be found."


class ComputeHostNotFound(HostNotFound):
    """No live compute service (or compute node) runs on this host."""

    msg_fmt = "Compute host %(host)s could not be found."


class HostBinaryNotFound(NotFound):
    """No live service runs this binary on this host."""

    msg_fmt = "Could not find binary %(binary)s on host %(host)s."


# nova derives it from NovaException alone; rawdb adds Duplicate: it reports a unique-constraint violation.
class TaskAlreadyRunning(Duplicate):
    """A task log for this task, host and period is already open."""

    msg_fmt = "Task %(task_name)s is already running on host %(host)s."


class TaskNotRunning(RawdbError):
    """No task log for this task, host and period is open."""

    msg_fmt = "Task %(task_name)s is not running on host %(host)s."


class MigrationNotFound(NotFound):
    """No migration with this id."""

    msg_fmt = "Migration %(migration_id)s could not be found."


class MigrationNotFoundByStatus(MigrationNotFound):
    """The instance has no migration in this status."""

    msg_fmt = "Migration not found for instance %(instance_id)s with status %(status)s."


# --- networks ----------------------------------------------------------------------------


class NetworkNotFound(NotFound):
    """No live network with this id."""

    msg_fmt = "Network %(network_id)s could not be found."


class NetworkNotFoundForUUID(NetworkNotFound):
    """No live network with this uuid."""

    msg_fmt = "Network could not be found for uuid %(uuid)s."


class NetworkNotFoundForCidr(NetworkNotFound):
    """No live network has this cidr."""

    msg_fmt = "Network could not be found with cidr %(cidr)s."


class NetworkNotFoundForInstance(NetworkNotFound):
    """No network is attached to this instance."""

    msg_fmt = "Network could not be found for instance %(instance_id)s."


class NetworkNotFoundForProject(NetworkNotFound):
    """The network does not exist or is not assigned to the project."""

    msg_fmt = "Either network uuid %(network_uuid)s is not present or is not assigned to the project %(project_id)s."


class NoNetworksFound(NotFound):
    """No network is defined at all."""

    msg_fmt = "No networks defined."


class NetworkInUse(RawdbError):
    """The network still has allocated fixed IPs; disassociate them first."""

    msg_fmt = "Network %(network_id)s is still in use."


class NoMoreNetworks(RawdbError):
    """Every network is assigned to a project; create a network first."""

    msg_fmt = "No more available networks."


class DuplicateVlan(Duplicate):
    """A live network already uses this vlan."""

    msg_fmt = "Detected existing vlan with id %(vlan)s."


class VirtualInterfaceCreateException(RawdbError):
    """The virtual interface could not be created (its address is taken)."""

    msg_fmt = "Virtual interface creation failed."


# --- fixed IPs ---------------------------------------------------------------------------


class FixedIpNotFound(NotFound):
    """No live fixed IP with this id."""

    msg_fmt = "No fixed IP associated with id %(id)s."


class FixedIpNotFoundForAddress(FixedIpNotFound):
    """No live fixed IP has this address."""

    msg_fmt = "Fixed IP not found for address %(address)s."


class FixedIpNotFoundForInstance(FixedIpNotFound):
    """The instance has no fixed IP."""

    msg_fmt = "Instance %(instance_uuid)s has zero fixed IPs."


class FixedIpNotFoundForNetwork(FixedIpNotFound):
    """The address is not a free fixed IP of this network."""

    msg_fmt = "Fixed IP address (%(address)s) does not exist in network (%(network_uuid)s)."


class FixedIpNotFoundForNetworkHost(FixedIpNotFound):
    """The host has no fixed IP in this network."""

    msg_fmt = "Network host %(host)s has zero fixed IPs in network %(network_id)s."


class NoFixedIpsDefined(NotFound):
    """No fixed IP is defined at all."""

    msg_fmt = "Zero fixed IPs could be found."


class FixedIpAlreadyInUse(RawdbError):
    """The fixed IP is already associated with an instance; disassociate it first."""

    msg_fmt = "Fixed IP address %(address)s is already in use on instance %(instance_uuid)s."


class NoMoreFixedIps(RawdbError):
    """The network has no free fixed IP left; add addresses to it."""

    msg_fmt = "No fixed IP addresses available for network: %(net)s."


class FixedIpAssociateFailed(RawdbError):
    """Concurrent callers kept taking the free fixed IP; the association gave up after its retries."""

    msg_fmt = "Fixed IP associate failed for network: %(net)s."


# --- floating IPs ------------------------------------------------------------------------


class FloatingIpNotFound(NotFound):
    """No live floating IP with this id."""

    msg_fmt = "Floating IP not found for ID %(id)s."


class FloatingIpNotFoundForAddress(FloatingIpNotFound):
    """No live floating IP has this address."""

    msg_fmt = "Floating IP not found for address %(address)s."


class FloatingIpNotFoundForHost(FloatingIpNotFound):
    """The host has no floating IP."""

    msg_fmt = "Floating IP not found for host %(host)s."


class NoMoreFloatingIps(FloatingIpNotFound):
    """The pool has no unallocated floating IP left; add addresses to it."""

    msg_fmt = "Zero floating IPs available."


class NoFloatingIpsDefined(NotFound):
    """No floating IP is defined at all."""

    msg_fmt = "Zero floating IPs exist."


class FloatingIpExists(Duplicate):
    """A live floating IP already has this address."""

    msg_fmt = "Floating IP %(address)s already exists."


class FloatingIpAllocateFailed(RawdbError):
    """Concurrent callers kept taking the free floating IP; the allocation gave up after its retries."""

    msg_fmt = "Floating IP allocate failed."


# --- security groups ---------------------------------------------------------------------


class SecurityGroupNotFound(NotFound):
    """No live security group with this id."""

    msg_fmt = "Security group %(security_group_id)s not found."


class SecurityGroupNotFoundForProject(SecurityGroupNotFound):
    """The project has no live security group by this name."""

    msg_fmt = "Security group %(security_group_id)s not found for project %(project_id)s."


class SecurityGroupNotFoundForRule(SecurityGroupNotFound):
    """No live security group rule with this id."""

    msg_fmt = "Security group with rule %(rule_id)s not found."


# nova derives it from Invalid alone; rawdb adds NotFound and keeps Invalid.
class SecurityGroupDefaultRuleNotFound(Invalid, NotFound):
    """No security group default rule with this id."""

    msg_fmt = "Security group default rule %(rule_id)s not found."


# nova derives it from Invalid alone; rawdb adds Duplicate and keeps Invalid.
class SecurityGroupExists(Invalid, Duplicate):
    """The project already has a live security group by this name."""

    msg_fmt = "Security group %(security_group_name)s already exists for project %(project_id)s."


# --- key pairs, certificates, consoles, cells, agent builds, PCI devices -----------------


class KeypairNotFound(NotFound):
    """The user has no key pair by this name."""

    msg_fmt = "Keypair %(name)s not found for user %(user_id)s."


# nova 14.0.0 derives it from NovaException alone (2013.1: Duplicate); rawdb keeps Duplicate.
class KeyPairExists(Duplicate):
    """The user already has a live key pair by this name."""

    msg_fmt = "Key pair '%(key_name)s' already exists."


class CertificateNotFound(NotFound):
    """No certificate with this id."""

    msg_fmt = "Certificate %(certificate_id)s not found."


class ConsoleNotFound(NotFound):
    """No console with this id."""

    msg_fmt = "Console %(console_id)s could not be found."


class ConsoleNotFoundForInstance(ConsoleNotFound):
    """The instance has no console with this id."""

    msg_fmt = "Console for instance %(instance_uuid)s could not be found."


class ConsoleNotFoundInPoolForInstance(ConsoleNotFound):
    """The console pool has no console for this instance."""

    msg_fmt = "Console for instance %(instance_uuid)s in pool %(pool_id)s could not be found."


class ConsolePoolNotFoundForHostType(NotFound):
    """No console pool of this type serves this compute host on this proxy host."""

    msg_fmt = (
        "Console pool of type %(console_type)s for compute host %(compute_host)s on proxy host %(host)s not found."
    )


class CellNotFound(NotFound):
    """No live cell by this name."""

    msg_fmt = "Cell %(cell_name)s doesn't exist."


class AgentBuildNotFound(NotFound):
    """No live agent build with this id."""

    msg_fmt = "No agent-build associated with id %(id)s."


class PciDeviceNotFound(NotFound):
    """The compute node has no live PCI device at this address."""

    msg_fmt = "PCI Device %(node_id)s:%(address)s not found."


class PciDeviceNotFoundById(NotFound):
    """No live PCI device with this id."""

    msg_fmt = "PCI device %(id)s not found."


# nova derives these two from NovaException alone; rawdb adds Duplicate: they report a unique-key violation.
class ServiceBinaryExists(Duplicate):
    """The host already has a live service running this binary."""

    msg_fmt = "Service with host %(host)s binary %(binary)s exists."


class ServiceTopicExists(Duplicate):
    """The host already has a live service listening on this topic."""

    msg_fmt = "Service with host %(host)s topic %(topic)s exists."


class CellExists(Duplicate):
    """A live cell already has this name."""

    msg_fmt = "Cell with name %(name)s already exists."


# --- flavors, as Newton names them (nova 14.0.0) -------------------------------------------
# nova 14.0.0 derives FlavorExists / FlavorIdExists from NovaException alone; rawdb derives them
# from Grizzly's InstanceTypeExists / InstanceTypeIdExists (same kwargs), so either name catches both.


class FlavorNotFoundByName(FlavorNotFound):
    """No flavor visible to the caller has this name."""

    msg_fmt = "Flavor with name %(flavor_name)s could not be found."


class FlavorExists(InstanceTypeExists):
    """A live flavor already has this name."""

    msg_fmt = "Flavor with name %(name)s already exists."


class FlavorIdExists(InstanceTypeIdExists):
    """A live flavor already has this flavorid."""

    msg_fmt = "Flavor with ID %(flavor_id)s already exists."


class FlavorExtraSpecsNotFound(NotFound):
    """The live flavor has no live extra spec with this key."""

    msg_fmt = "Flavor %(flavor_id)s has no extra specs with key %(extra_specs_key)s."


# nova 14.0.0 derives AgentBuildExists from NovaException alone; rawdb adds Duplicate: a unique-key violation.
class AgentBuildExists(Duplicate):
    """A live agent build already has this hypervisor, os and architecture."""

    msg_fmt = "Agent-build with hypervisor %(hypervisor)s os %(os)s architecture %(architecture)s exists."


# nova 14.0.0 derives ConsolePoolExists from NovaException alone; rawdb adds Duplicate (a unique-key violation).
class ConsolePoolExists(Duplicate):
    """A live console pool already serves this compute host with this type on this proxy host."""

    msg_fmt = (
        "Console pool with host %(host)s, console_type %(console_type)s and compute_host %(compute_host)s "
        "already exists."
    )


# --- block device mappings and migrations (nova 14.0.0) ------------------------------------


class InvalidBDM(Invalid):
    """A block device mapping is not valid."""

    msg_fmt = "Block Device Mapping is Invalid."


class InvalidBDMFormat(InvalidBDM):
    """A block device mapping (a legacy one, converted) is malformed: ``details`` says how."""

    msg_fmt = "Block Device Mapping is Invalid: %(details)s"


class MigrationNotFoundForInstance(MigrationNotFound):
    """The instance has no migration with this id visible to the caller."""

    msg_fmt = "Migration %(migration_id)s not found for instance %(instance_id)s"


# --- fixed IPs (nova 14.0.0) -------------------------------------------------------------


class FixedIpExists(Duplicate):
    """A live fixed IP already has this address."""

    msg_fmt = "Fixed IP %(address)s already exists."


class FixedIpInvalid(Invalid):
    """The fixed IP address is not an IPv4 or IPv6 address."""

    msg_fmt = "Fixed IP address %(address)s is invalid."


class InvalidIpAddressError(Invalid):
    """The value is not an IPv4 or IPv6 address."""

    msg_fmt = "%(address)s is not a valid IP v4/6 address."


# --- floating IPs (nova 14.0.0) ----------------------------------------------------------


class FloatingIpAssociateFailed(RawdbError):
    """The floating IP is another project's, or points at another fixed IP: disassociate it first."""

    msg_fmt = "Floating IP %(address)s association has failed."
