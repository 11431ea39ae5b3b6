"""Glance: the image DB API, the image cache and its DB API.

Public modules (``MODULES``): ``images`` (the image DB API, which also exports the
functions of ``children``, ``members``, ``tags`` and ``maintenance``), ``image_cache``
(the cache driver), ``cache_db`` (the cache's DB API) and ``cache_cli`` (``rawdb cache``).
Helpers private to glance live in modules whose names start with ``_``.  A module runs
only the statements of its own SQL file, ``sql/glance/<module>*.sql``.
"""

MODULES = ("cache_cli", "cache_db", "children", "image_cache", "images", "maintenance", "members", "tags")
