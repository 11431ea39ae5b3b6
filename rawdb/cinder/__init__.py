"""Cinder: ``rawdb.cinder.api`` is cinder.db.api (its functions live in the domain modules).

Public modules (``MODULES``): ``api`` (the flat facade), the domain modules (``services``,
``migrations``, …), ``quotas`` and ``sync``.  Helpers
private to cinder live in modules whose names start with ``_``.  A module ``x`` runs only
the statements of ``sql/cinder/x*.sql``; the quota engine (``rawdb.quota``) runs
``sql/cinder/quota*.sql``.
"""

MODULES = (
    "api",
    "iscsi",
    "maintenance",
    "migrations",
    "quotas",
    "services",
    "settings",
    "sm",
    "snapshots",
    "sync",
    "volume_types",
    "volumes",
)
