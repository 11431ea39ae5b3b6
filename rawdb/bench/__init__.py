"""``rawdb bench``: the benchmark runner that ships with rawdb.

It seeds deterministic datasets, times glance's ``image_get_all`` / ``image_get``, nova's
instance listings, get, update and create, and the quota engine's reserve+commit on rawdb, on
a replay of rawdb's own statements through the bare driver, and (with ``pip install
'rawdb[openstack]'``) on glance's, nova's and cinder's own code, and checks statement budgets
and results (``--check``).  Run it as ``rawdb bench`` or
``python -m rawdb.bench``; its modules are the command's implementation, not part of rawdb's
database API.
"""
