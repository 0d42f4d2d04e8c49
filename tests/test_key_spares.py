"""Data keys are made SPARE_BATCH at a time (one commit, one fsync) and handed out one per new
resident: every key handed out is durable, unique, and never one that was destroyed."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from casecore import keys

SECRET = "a master secret for the key store tests 0123456789"


def test_keys_are_made_in_batches_and_each_is_durable_and_unique(tmp_path: Path) -> None:
    ring = keys.KeyRing(tmp_path / "keys.db", [SECRET])
    handed = [ring.create("profile-a") for _ in range(keys.SPARE_BATCH + 1)]
    assert len(set(handed)) == len(handed)
    # two batches were made: the first sixteen, then one more batch for the seventeenth
    assert len(ring.kids("profile-a")) == 2 * keys.SPARE_BATCH
    fresh = keys.KeyRing(tmp_path / "keys.db", [SECRET])  # another process, or after a restart
    assert all(fresh.get(kid) == ring.get(kid) for kid in handed)
    assert ring.create("profile-b") not in handed  # spares are per profile
    assert ring.kids("profile-b") and not set(ring.kids("profile-b")) & set(ring.kids("profile-a"))


def test_a_destroyed_spare_is_never_handed_out(tmp_path: Path) -> None:
    ring = keys.KeyRing(tmp_path / "keys.db", [SECRET])
    first = ring.create("p")
    spares = set(ring.kids("p")) - {first}
    assert len(spares) == keys.SPARE_BATCH - 1
    # a profile's erasure in another process takes its unused keys (handoff.actions.contract)
    other = keys.KeyRing(tmp_path / "keys.db", [SECRET])
    gone = sorted(spares)[: len(spares) // 2]
    assert other.destroy(gone) == len(gone)
    # ... and in this one
    ring.destroy(sorted(spares)[len(spares) // 2 :][:1])
    alive = set(ring.kids("p"))
    handed = [ring.create("p") for _ in range(keys.SPARE_BATCH)]
    assert all(kid in set(ring.kids("p")) for kid in handed)
    assert not set(handed) & set(gone)
    assert set(handed) >= (alive - {first})  # every live spare was used before a new batch


def _child_create(path: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ring = keys.ring()
    assert ring is not None
    out.put(ring.create("p"))


def test_a_forked_process_does_not_hand_out_its_parents_spares(tmp_path: Path) -> None:
    ring = keys.KeyRing(tmp_path / "keys.db", [SECRET])
    keys.configure(ring)
    try:
        mine = [ring.create("p")]
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        child = ctx.Process(target=_child_create, args=(str(tmp_path / "keys.db"), out))
        child.start()
        theirs = out.get(timeout=30)
        child.join(30)
        mine += [ring.create("p") for _ in range(keys.SPARE_BATCH)]
        assert theirs not in mine
        assert keys.KeyRing(tmp_path / "keys.db", [SECRET]).get(theirs)
    finally:
        keys.configure(None)
