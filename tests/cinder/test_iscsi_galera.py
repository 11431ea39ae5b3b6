"""Cinder's iSCSI target allocation on a three-node Galera cluster (spec D.9; README, "Galera").

On one server an allocation locks the free target it takes (``FOR UPDATE SKIP LOCKED``), so
concurrent allocations take different targets, and one that finds every free target held waits
for the holders (``test_iscsi.py``).  On Galera a row lock is taken on one node only: allocations
through different nodes may take the same target, and the later to commit fails certification
(``DBDeadlock``), which ``volume_allocate_iscsi_target`` runs again whole.  So a target still
never goes to two volumes, and with causal connections (``wsrep_sync_wait``) ``NoMoreTargets``
comes exactly when none is free.  What does not carry over: a target claimed in a transaction
still open on another node is not waited for; it is taken, and the holder's COMMIT fails.

The connections are ``sqltools.node_databases``' (the nodes in turn, causal), as the nova
address allocation tests make them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import galera
import pytest
import servicedb
from sqltools import OpenDb, node_databases, select

import rawdb
from rawdb import errors
from rawdb.cinder import iscsi as db
from rawdb.cinder import volumes

pytestmark = pytest.mark.parametrize("backend", ["galera"], indirect=True)

TARGETS = "SELECT target_num, volume_id FROM iscsi_targets WHERE host = 'h1' ORDER BY target_num"


@pytest.fixture(scope="module")
def cinder_galera_shared(galera_cluster: galera.Cluster) -> Iterator[str]:
    """The worker's bootstrapped cinder database on its Galera cluster (made through node 1), as
    nova's conftest makes nova's; ``cinder_url`` gives it through the nodes in turn."""
    yield from servicedb.galera_shared(galera_cluster, "cinder")


async def volume(ctx: rawdb.Context) -> str:
    created = await volumes.volume_create(ctx, {"project_id": "p1", "size": 1})
    return str(created["id"])


async def test_allocations_through_every_node_never_give_one_target_twice_and_no_more_targets_only_when_none_is_free(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    # 15 callers through three nodes on 10 free targets, over six Databases (two per node): the
    # callers of one Database share transactions, those of one node meet its row locks, and
    # those of different nodes conflict at commit.
    admin = rawdb.Context(cinder_db, is_admin=True)
    for number in range(1, 11):
        await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": number})
    ids = [await volume(admin) for _ in range(15)]
    databases = await node_databases(cinder_url, "galera", open_db, 6)
    callers = [rawdb.Context(databases[i % 6], is_admin=True) for i in range(15)]

    results = await asyncio.gather(
        *(db.volume_allocate_iscsi_target(c, v, "h1") for c, v in zip(callers, ids, strict=True)),
        return_exceptions=True,
    )

    given = {v: r for v, r in zip(ids, results, strict=True) if isinstance(r, int)}
    refused = [v for v, r in zip(ids, results, strict=True) if not isinstance(r, int)]
    assert sorted(given.values()) == list(range(1, 11)), results  # ten targets, none twice
    assert [type(r) for r in results if not isinstance(r, int)] == [errors.NoMoreTargets] * 5
    assert sum(d.stats()["retries"] for d in databases) > 0  # the nodes did claim the same targets
    for node in databases[:3]:  # every node holds what each caller was told, and nothing else
        stored = await select(node, TARGETS)
        assert {r["volume_id"]: r["target_num"] for r in stored} == given

    # A target given back through one node is free at once through another: not NoMoreTargets.
    freed = next(v for v, n in given.items() if n == 4)
    await volumes.volume_destroy(callers[0], freed)
    assert await db.volume_allocate_iscsi_target(callers[1], refused[0], "h1") == 4
    with pytest.raises(errors.NoMoreTargets):
        await db.volume_allocate_iscsi_target(callers[2], refused[1], "h1")
    for node in databases[:3]:
        assert await db.volume_get_iscsi_target_num(rawdb.Context(node, is_admin=True), refused[0]) == 4


async def test_a_target_claimed_in_a_transaction_open_on_another_node_is_taken_and_the_holder_cannot_commit(
    cinder_db: rawdb.Database, cinder_url: str, open_db: OpenDb
) -> None:
    # One server: the second allocation waits for the holder (test_iscsi.py).  Galera: the
    # holder's row lock is on its node only, so the other node gives the target away at once
    # and the holder's transaction is aborted (DBDeadlock): never both keep it.
    admin = rawdb.Context(cinder_db, is_admin=True)
    await db.iscsi_target_create_safe(admin, {"host": "h1", "target_num": 1})
    holder_volume, other_volume = await volume(admin), await volume(admin)
    holder_db, other_db = await node_databases(cinder_url, "galera", open_db, 2)  # two different nodes

    with pytest.raises(errors.DBDeadlock):
        async with rawdb.Context(holder_db, is_admin=True).writer() as tx:
            assert await db.volume_allocate_iscsi_target(tx, holder_volume, "h1") == 1
            other = rawdb.Context(other_db, is_admin=True)
            assert await asyncio.wait_for(db.volume_allocate_iscsi_target(other, other_volume, "h1"), 10) == 1
            # COMMIT: the other node's write aborted this transaction (its applier took the row)

    for node in (holder_db, other_db):
        ctx = rawdb.Context(node, is_admin=True)
        assert await db.volume_get_iscsi_target_num(ctx, other_volume) == 1
        with pytest.raises(errors.ISCSITargetNotFoundForVolume):
            await db.volume_get_iscsi_target_num(ctx, holder_volume)
