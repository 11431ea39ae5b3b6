"""Nova: ``rawdb.nova.api`` is nova.db.api (its functions live in the domain modules).

Public modules (``MODULES``): ``api`` (the flat facade), the domain modules, and ``settings``
(nova's options).  Helpers
private to nova live in modules whose names start with ``_``.  A module ``x`` runs only the
statements of ``sql/nova/x*.sql``; the quota engine (``rawdb.quota``) runs ``sql/nova/quota*.sql``.
"""

MODULES = (
    "agent_builds",
    "aggregates",
    "api",
    "archive",
    "block_devices",
    "cells",
    "certificates",
    "compute_nodes",
    "consoles",
    "dns_domains",
    "ec2_mappings",
    "fixed_ips",
    "flavors",
    "floating_ips",
    "instance_actions",
    "instance_data",
    "instance_groups",
    "instance_listing",
    "instances",
    "key_pairs",
    "migrations",
    "networks",
    "pci_devices",
    "quotas",
    "security_group_rules",
    "security_groups",
    "services",
    "settings",
    "sync",
    "usage",
    "virtual_interfaces",
)
