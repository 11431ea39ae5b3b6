"""Cinder: the quota DB API (``rawdb.cinder.quotas``) and, later, volumes and snapshots."""
