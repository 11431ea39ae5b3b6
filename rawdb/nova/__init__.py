"""Nova: the quota DB API (``rawdb.nova.quotas``) and, later, instances, flavors and the rest."""
