"""The service-time floor: a webhook's own DynamoDB requests, replayed raw through boto3.

While the app serves a request, ``bench.ddb_counter`` records each DynamoDB call it makes
(operation, API parameters, and whether DynamoDB refused it). Right after, the floor replays
exactly those calls, in order, through one plain boto3 client against the same tables and
items, then builds a fixed TwiML string: what serving the webhook would cost with no app
around its requests. The difference is the app's own work (Chalice, signature check,
PynamoDB, pydantic, logging, TwiML building).

The replay must do the same work on the same items without changing what the app sees next,
although the app has just written them:

- reads (GetItem, Query, BatchGetItem) go as recorded;
- a write DynamoDB refused (a failed condition) goes as recorded and is refused again the
  same way;
- a write DynamoDB applied goes without its condition (it has just been applied, so the
  condition no longer holds), which rewrites the item with the same values: numbers added by
  ``ADD`` or ``+ :v``/``- :v`` are replaced by 0 so counters do not move; a transaction's
  ``ConditionCheck`` checks that its item exists (one read of the item, as the original).

Calls the app made at the same time (``wiring.together``: the robot answer's read and
transaction, the status callback's two writes) are replayed at the same time too, one on a
worker thread and one on the caller's, as the app runs them.
"""

from __future__ import annotations

import copy
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

FIXED_TWIML = ("<Say>", "Hello", "</Say>", "<Hangup/>")
_CONDITION_KEYS = ("ConditionExpression", "Expected", "ConditionalOperator")
_ADDED_VALUE = re.compile(r"[+-]\s*(:\w+)")


@dataclass
class Recorded:
    """One DynamoDB call the app made: its operation, API parameters and refusal, if any."""

    operation: str
    params: dict[str, Any]
    error_code: str | None = None
    started_ns: int = 0
    ended_ns: int = 0

    def shape(self) -> str:
        """Operation, table(s), whether conditional, and the refusal: what the JSON lists per endpoint."""
        tables = "+".join(sorted(_tables(self.params)))
        conditional = " if" if "ConditionExpression" in self.params else ""
        refused = f" (refused: {self.error_code})" if self.error_code else ""
        return f"{self.operation} {tables}{conditional}{refused}"


def _tables(params: dict[str, Any]) -> list[str]:
    if "TableName" in params:
        return [params["TableName"]]
    if "TransactItems" in params:
        return [next(iter(item.values()))["TableName"] for item in params["TransactItems"]]
    return list(params.get("RequestItems", {}))


def build_twiml() -> str:
    """The floor's TwiML: built per request, as a webhook builds its answer, but fixed."""
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(FIXED_TWIML) + "</Response>"


def _unconditioned(params: dict[str, Any]) -> dict[str, Any]:
    """A write's parameters as a repeat of an applied write: no condition, counters unmoved."""
    out = copy.deepcopy(params)
    for key in _CONDITION_KEYS:
        out.pop(key, None)
    out.pop("ReturnValuesOnConditionCheckFailure", None)
    expression = out.get("UpdateExpression", "")
    values = out.get("ExpressionAttributeValues", {})
    added = set(_ADDED_VALUE.findall(expression))
    add_clause = re.search(r"\bADD\b(.*?)(?=\b(?:SET|REMOVE|DELETE)\b|$)", expression, re.S)
    if add_clause:
        added |= set(re.findall(r":\w+", add_clause.group(1)))
    for name in added:
        if name in values and "N" in values[name]:
            values[name] = {"N": "0"}
    used = set(
        re.findall(
            r":\w+",
            " ".join(
                str(out.get(k, ""))
                for k in ("UpdateExpression", "KeyConditionExpression", "FilterExpression", "ProjectionExpression")
            ),
        )
    )
    if values:
        out["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in used}
        if not out["ExpressionAttributeValues"]:
            del out["ExpressionAttributeValues"]
    names_used = set(
        re.findall(r"#\w+", " ".join(str(out.get(k, "")) for k in ("UpdateExpression", "ProjectionExpression")))
    )
    if "ExpressionAttributeNames" in out:
        out["ExpressionAttributeNames"] = {k: v for k, v in out["ExpressionAttributeNames"].items() if k in names_used}
        if not out["ExpressionAttributeNames"]:
            del out["ExpressionAttributeNames"]
    return out


def _exists_check(check: dict[str, Any]) -> dict[str, Any]:
    key_name = sorted(check["Key"])[0]
    return {
        "TableName": check["TableName"],
        "Key": check["Key"],
        "ConditionExpression": "attribute_exists(#k)",
        "ExpressionAttributeNames": {"#k": key_name},
    }


def replay_params(call: Recorded) -> dict[str, Any]:
    """The parameters the floor sends for one recorded call (see the module's docstring)."""
    if call.error_code is not None or call.operation not in _WRITES:
        return copy.deepcopy(call.params)
    if call.operation != "TransactWriteItems":
        return _unconditioned(call.params)
    items = []
    for item in call.params["TransactItems"]:
        ((kind, body),) = item.items()
        items.append({kind: _exists_check(body) if kind == "ConditionCheck" else _unconditioned(body)})
    rest = {k: v for k, v in call.params.items() if k not in ("TransactItems", "ClientRequestToken")}
    return {**rest, "TransactItems": items}


_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})


Prepared = tuple[str, dict[str, Any], str | None]
_WORKERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="floor")


def prepare(calls: list[Recorded]) -> list[list[Prepared]]:
    """Method name, parameters and the refusal expected of each call (built before timing),
    grouped into the calls the app had in flight at the same time."""
    groups: list[list[Prepared]] = []
    group_end = -1
    for call in sorted(calls, key=lambda c: c.started_ns):
        entry = (xform_name(call.operation), replay_params(call), call.error_code)
        if groups and call.started_ns < group_end:
            groups[-1].append(entry)
        else:
            groups.append([entry])
        group_end = max(group_end, call.ended_ns)
    return groups


def replay(client: Any, prepared: list[list[Prepared]]) -> str:
    """Send the prepared calls through ``client`` (a group's calls at the same time), then build
    the fixed TwiML."""
    for group in prepared:
        others = [_WORKERS.submit(_send, client, entry) for entry in group[:-1]]
        try:
            _send(client, group[-1])
        finally:
            for future in others:
                future.result()
    return build_twiml()


def _send(client: Any, entry: Prepared) -> None:
    method, params, refusal = entry
    try:
        getattr(client, method)(**params)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code != refusal:
            raise RuntimeError(f"the floor's {method} was refused ({code}), the app's was not") from error
    else:
        if refusal is not None:
            raise RuntimeError(f"the floor's {method} went through; the app's was refused ({refusal})")
