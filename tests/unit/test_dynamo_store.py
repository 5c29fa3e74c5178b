"""The composed store offers every public method of every aggregate repository, each served by
the part that defines it (a method added to a repository but not to store.py fails here)."""

from __future__ import annotations

import inspect

from chalicelib.adapters.dynamo.store import DynamoStore, _Via


def test_every_repository_method_is_on_the_store_and_served_by_its_part() -> None:
    # GIVEN the store and its parts
    store = DynamoStore()
    parts = {name: part for name, part in vars(store).items() if not name.startswith("_")}
    # WHEN each part's public methods are looked up on the store
    missing, misrouted = [], []
    for part_name, part in parts.items():
        for method_name, _ in inspect.getmembers(type(part), inspect.isfunction):
            if method_name.startswith("_"):
                continue
            via = vars(DynamoStore).get(method_name)
            if not isinstance(via, _Via):
                missing.append(f"{part_name}.{method_name}")
            elif via.part != part_name:
                misrouted.append(f"{part_name}.{method_name} -> {via.part}")
    # THEN none is missing or served by another part, and a call reaches the part's own method
    assert missing == [] and misrouted == []
    assert store.get_shop.__self__ is store.shops  # type: ignore[attr-defined]
