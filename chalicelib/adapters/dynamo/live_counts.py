"""The shops' running day counters (#19, ``domain.live_counts``): each stream record's change is
added once (a transaction with the record's marker, so a redelivered batch adds nothing), read
back in one BatchGetItem, and the shops with calls on a day are found in a sparse index."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from chalicelib.adapters.dynamo.facts import call_fact, order_fact
from chalicelib.adapters.dynamo.items import day_key
from chalicelib.adapters.dynamo.schema import CallItem, DialerDayItem, LiveCountItem, OrderItem
from chalicelib.clock import storage_expiry
from chalicelib.domain.live_counts import FIRST_DIAL, WAIT, CountEntry, FactChange
from chalicelib.domain.report.facts import CallFact, OrderFact

ACTIVE_SHARDS = 4  # spreads of the active-shops index: one Query each per day looked at
COUNTS_KEPT = timedelta(days=3)  # live figures are today's; the reports re-read the records
MARKS_KEPT = timedelta(days=2)  # a stream keeps records 24 hours
CONFLICT_RETRIES = 5
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit of actions in one TransactWriteItems
_PARTS = (("", None), (f"#{FIRST_DIAL}", FIRST_DIAL), (f"#{WAIT}", WAIT))


def _part(name: str) -> str:
    """Which item of the day holds counter ``name``: the main one or a histogram's."""
    head, _, tail = name.partition("_")
    for suffix, prefix in _PARTS[1:]:
        if head == prefix and tail.isdigit():
            return suffix
    return ""


def active_key(day: str, shop_id: str) -> str:
    return f"{day}#{zlib.crc32(shop_id.encode('utf-8')) % ACTIVE_SHARDS}"


def _client() -> Any:
    return LiveCountItem._get_connection().connection.client  # PynamoDB's own botocore client


_NEEDED = {"orders": ("shop_day", "received_at", "total"), "calls": ("shop_day", "created_at", "direction")}


def _decoded(model: type[OrderItem] | type[CallItem], image: Mapping[str, Any] | None) -> Any:
    """The stream image as an item, or None for no image or one still being written (no day yet)."""
    needed = _NEEDED["calls" if model is CallItem else "orders"]
    if not image or any(name not in image for name in needed):
        return None
    return model.from_raw_data(dict(image))


def _change(old: Any, new: Any, fact: Any) -> Any:
    latest = new or old
    if latest is None:
        return None
    shop_id, _, day = str(latest.shop_day).rpartition("#")
    return FactChange(shop_id, day, fact(old) if old else None, fact(new) if new else None)


class LiveCountRepository:
    def order_change(
        self, old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None
    ) -> FactChange[OrderFact] | None:
        """An orders stream record's images (DynamoDB JSON) as facts of the shop's day."""
        change: FactChange[OrderFact] | None = _change(
            _decoded(OrderItem, old_image), _decoded(OrderItem, new_image), order_fact
        )
        return change

    def call_change(
        self, old_image: Mapping[str, Any] | None, new_image: Mapping[str, Any] | None
    ) -> FactChange[CallFact] | None:
        """A calls stream record's images (DynamoDB JSON) as facts of the shop's day."""
        change: FactChange[CallFact] | None = _change(
            _decoded(CallItem, old_image), _decoded(CallItem, new_image), call_fact
        )
        return change

    def add_counts(
        self, record_id: str, shop_id: str, day: str, counts: Mapping[str, int], *, active: bool = False
    ) -> bool:
        """Add ``counts`` to the shop's ``day`` once for ``record_id``; False when that record was
        counted already (a redelivery). ``active``: the shop had a call that day."""
        return record_id not in self.add_counts_together([CountEntry(record_id, shop_id, day, counts, active)])

    def add_counts_together(self, entries: Sequence[CountEntry]) -> set[str]:
        """Add each entry's counts once for its record, a stream batch's records in one
        transaction (a shop's records all meet on its day's counter item: one write instead of
        one each, and no conflicts between them); the ids of the records counted before."""
        counted_before: set[str] = set()
        for chunk in _chunks([entry for entry in entries if entry.counts]):
            counted_before |= self._add_chunk(chunk)
        return counted_before

    def _add_chunk(self, chunk: list[CountEntry]) -> set[str]:
        client, counted_before, conflicts = _client(), set(), 0
        while chunk:
            try:
                client.transact_write_items(TransactItems=_count_writes(chunk))
            except client.exceptions.TransactionCanceledException as error:
                codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
                # The markers come first, one per entry: a failed condition is a record counted before.
                marks = zip(chunk, codes[: len(chunk)], strict=False)
                seen = {entry.record_id for entry, code in marks if code == "ConditionalCheckFailed"}
                if seen:
                    counted_before |= seen
                    chunk = [entry for entry in chunk if entry.record_id not in seen]
                    continue
                if "TransactionConflict" in codes and conflicts < CONFLICT_RETRIES:
                    conflicts += 1  # another consumer's record of the same shop-day at the same moment
                    continue
                raise
            break
        return counted_before

    def set_counts(self, shop_id: str, day: str, counts: Mapping[str, int], *, active: bool) -> None:
        """Replace the shop-day's counter items by ``counts`` in one transaction (each item put
        whole, so a counter that should be 0 is gone, and a repeat writes the same)."""
        table, expires = LiveCountItem.Meta.table_name, str(int(storage_expiry(COUNTS_KEPT).timestamp()))
        items: list[dict[str, Any]] = []
        for suffix, _ in _PARTS:
            item: dict[str, Any] = {
                "count_key": {"S": day_key(shop_id, day) + suffix},
                "shop_id": {"S": shop_id},
                "day": {"S": day},
                "expires": {"N": expires},
            }
            item |= {name: {"N": str(number)} for name, number in counts.items() if _part(name) == suffix and number}
            if suffix == "" and active:
                item["active_key"] = {"S": active_key(day, shop_id)}
            items.append({"Put": {"TableName": table, "Item": item}})
        _client().transact_write_items(TransactItems=items)

    def day_counts(self, shop_id: str, day: str) -> tuple[dict[str, int], tuple[int, int]]:
        """The shop-day's counters and the predictive dialer's (live answers, drops): one BatchGetItem."""
        keys = [{"count_key": {"S": day_key(shop_id, day) + suffix}} for suffix, _ in _PARTS]
        request: dict[str, Any] = {
            LiveCountItem.Meta.table_name: {"Keys": keys},
            DialerDayItem.Meta.table_name: {"Keys": [{"shop_id": {"S": shop_id}, "day": {"S": day}}]},
        }
        counts: dict[str, int] = {}
        dialer = (0, 0)
        client = _client()
        while request:
            answer = client.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(LiveCountItem.Meta.table_name, []):
                counts |= {name: int(value["N"]) for name, value in item.items() if "N" in value and name != "expires"}
            for item in answer["Responses"].get(DialerDayItem.Meta.table_name, []):
                dialer = (int(item.get("live_answers", {}).get("N", 0)), int(item.get("drops", {}).get("N", 0)))
            request = answer.get("UnprocessedKeys") or {}
        return counts, dialer

    def shops_with_calls(self, days: Iterable[str]) -> list[tuple[str, str]]:
        """(shop id, day) of every shop with a call on one of ``days``: a Query per spread and day."""
        found: list[tuple[str, str]] = []
        for day in days:
            for shard in range(ACTIVE_SHARDS):
                for item in LiveCountItem.by_active_day.query(f"{day}#{shard}", attributes_to_get=["shop_id", "day"]):
                    if item.shop_id and item.day:
                        found.append((item.shop_id, item.day))
        return found


def _counter_keys(entry: CountEntry) -> set[tuple[str, str, str]]:
    """The counter items (shop, day, part) an entry adds to."""
    parts = {_part(name) for name in entry.counts}
    if entry.active:
        parts.add("")
    return {(entry.shop_id, entry.day, suffix) for suffix in parts}


def _chunks(entries: list[CountEntry]) -> Iterator[list[CountEntry]]:
    """Entries in groups whose markers and counter items fit one transaction, in order; a
    record met twice (a batch redelivered within itself cannot, but a caller might) once."""
    chunk: list[CountEntry] = []
    counters: set[tuple[str, str, str]] = set()
    ids: set[str] = set()
    for entry in entries:
        if entry.record_id in ids:
            continue
        keys = counters | _counter_keys(entry)
        if chunk and len(chunk) + 1 + len(keys) > MAX_TRANSACTION_ITEMS:
            yield chunk
            chunk, counters, ids, keys = [], set(), set(), _counter_keys(entry)
        chunk.append(entry)
        counters, ids = keys, ids | {entry.record_id}
    if chunk:
        yield chunk


def _count_writes(chunk: list[CountEntry]) -> list[dict[str, Any]]:
    """A marker per entry (first, in the entries' order), then each counter item's sum."""
    table, expires = LiveCountItem.Meta.table_name, str(int(storage_expiry(COUNTS_KEPT).timestamp()))
    mark = str(int(storage_expiry(MARKS_KEPT).timestamp()))
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": {"count_key": {"S": f"record#{entry.record_id}"}, "expires": {"N": mark}},
                "ConditionExpression": "attribute_not_exists(count_key)",
            }
        }
        for entry in chunk
    ]
    sums: dict[tuple[str, str, str], Counter[str]] = {}
    active: set[tuple[str, str]] = set()
    for entry in chunk:
        for name, number in entry.counts.items():
            sums.setdefault((entry.shop_id, entry.day, _part(name)), Counter())[name] += number
        if entry.active:
            active.add((entry.shop_id, entry.day))
            sums.setdefault((entry.shop_id, entry.day, ""), Counter())
    for (shop_id, day, suffix), part in sums.items():
        names = {f"#c{i}": name for i, name in enumerate(part)}
        values: dict[str, Any] = {f":c{i}": {"N": str(number)} for i, number in enumerate(part.values())}
        values |= {":shop": {"S": shop_id}, ":day": {"S": day}, ":exp": {"N": expires}}
        sets = ["#shop = :shop", "#day = :day", "#exp = :exp"]
        if suffix == "" and (shop_id, day) in active:
            sets.append("active_key = :active")
            values[":active"] = {"S": active_key(day, shop_id)}
        expression = "SET " + ", ".join(sets)
        if names:
            expression += " ADD " + ", ".join(f"{alias} :c{alias[2:]}" for alias in names)
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": {"count_key": {"S": day_key(shop_id, day) + suffix}},
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": {**names, "#shop": "shop_id", "#day": "day", "#exp": "expires"},
                    "ExpressionAttributeValues": values,
                }
            }
        )
    return items
