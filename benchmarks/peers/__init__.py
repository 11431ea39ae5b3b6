"""The ``openstack`` targets: the OpenStack services' own DB APIs, run on rawdb's databases."""
