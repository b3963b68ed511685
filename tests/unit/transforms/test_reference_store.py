"""The reference store's transactions: two batches open at once, committed one at a time."""

from __future__ import annotations

from transforms.reference import StateStore, StateUpdate


def _store_with(key: str, value: int) -> StateStore:
    store = StateStore()
    store.apply(StateUpdate(key, {"v": value}))
    store.commit()
    return store


def test_committing_a_batch_leaves_the_next_one_open() -> None:
    store = _store_with("item|1", 0)
    store.apply(StateUpdate("item|1", {"v": 1}))  # batch N
    savepoint = store.savepoint()
    store.apply(StateUpdate("item|2", {"v": 2}))  # batch N+1, mapped while N commits
    store.commit(savepoint)
    store.abort()  # N+1 fails
    assert store.get("item|1") == {"v": 1}
    assert store.get("item|2") is None


def test_an_abort_rolls_back_every_open_batch() -> None:
    store = _store_with("item|1", 0)
    store.apply(StateUpdate("item|1", {"v": 1}))
    store.apply(StateUpdate("item|1", {"v": 2}))
    store.apply(StateUpdate("item|3", {"v": 3}))
    store.abort()
    assert (store.get("item|1"), store.get("item|3")) == ({"v": 0}, None)


def test_records_loaded_while_a_batch_is_open_survive_its_abort() -> None:
    store = _store_with("item|1", 0)
    store.apply(StateUpdate("item|1", {"v": 1}))
    store.load("item|1", {"v": 9})  # another instance committed it meanwhile
    store.load("item|4", {"v": 4})
    store.abort()
    assert (store.get("item|1"), store.get("item|4")) == ({"v": 9}, {"v": 4})


def test_uom_conversions_of_an_aborted_batch_are_gone() -> None:
    store = StateStore()
    store.apply(StateUpdate("uom|100|M30|CA|EA", {"factor": "12"}))
    assert store.uoms("100") == [("uom|100|M30|CA|EA", {"factor": "12"})]
    store.abort()
    assert store.uoms("100") == []
