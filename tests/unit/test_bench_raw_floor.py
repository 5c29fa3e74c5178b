"""The service-time floor replays the app's DynamoDB calls so they do the same work again
without moving what the app wrote (bench/raw_floor.py); the parameters only, no timing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench.raw_floor import Recorded, prepare, replay, replay_params

COUNTER_UPDATE: dict[str, Any] = {
    "TableName": "callcenter-live",
    "Key": {"pk": {"S": "demo#2015-11-23"}},
    "UpdateExpression": "SET #s = :s, #n = #n + :one ADD #c :c",
    "ConditionExpression": "#s = :was",
    "ExpressionAttributeNames": {"#s": "state", "#n": "attempts", "#c": "calls"},
    "ExpressionAttributeValues": {":s": {"S": "done"}, ":one": {"N": "1"}, ":c": {"N": "2"}, ":was": {"S": "dialing"}},
    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
}


def test_an_applied_update_is_repeated_unconditioned_with_its_counters_unmoved() -> None:
    params = replay_params(Recorded("UpdateItem", COUNTER_UPDATE))
    assert "ConditionExpression" not in params and "ReturnValuesOnConditionCheckFailure" not in params
    assert params["ExpressionAttributeValues"] == {":s": {"S": "done"}, ":one": {"N": "0"}, ":c": {"N": "0"}}
    assert params["UpdateExpression"] == COUNTER_UPDATE["UpdateExpression"]
    assert COUNTER_UPDATE["ExpressionAttributeValues"][":one"] == {"N": "1"}  # the record is untouched


def test_a_refused_write_and_a_read_go_as_recorded() -> None:
    assert replay_params(Recorded("PutItem", COUNTER_UPDATE, "ConditionalCheckFailedException")) == COUNTER_UPDATE
    query = {"TableName": "t", "KeyConditionExpression": "#p = :p"}
    assert replay_params(Recorded("Query", query)) == query


def test_a_transactions_condition_check_becomes_an_existence_check_and_its_token_is_dropped() -> None:
    put = {
        "TableName": "orders",
        "Item": {"pk": {"S": "o1"}},
        "ConditionExpression": "attribute_not_exists(#p)",
        "ExpressionAttributeNames": {"#p": "pk"},
    }
    check = {"TableName": "tasks", "Key": {"task_id": {"S": "t1"}}, "ConditionExpression": "#s = :s"}
    recorded = {"TransactItems": [{"Put": put}, {"ConditionCheck": check}], "ClientRequestToken": "x"}
    params = replay_params(Recorded("TransactWriteItems", recorded))
    assert params == {
        "TransactItems": [
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "o1"}}}},
            {
                "ConditionCheck": {
                    "TableName": "tasks",
                    "Key": {"task_id": {"S": "t1"}},
                    "ConditionExpression": "attribute_exists(#k)",
                    "ExpressionAttributeNames": {"#k": "task_id"},
                }
            },
        ]
    }


class _Client:
    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.sent: list[dict[str, Any]] = []

    def put_item(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        if self.refuse:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
        return {}


def test_the_replay_must_meet_the_apps_outcome() -> None:
    refused = prepare([Recorded("PutItem", {"TableName": "t"}, "ConditionalCheckFailedException")])
    assert "<Hangup/>" in replay(_Client(refuse=True), refused)
    with pytest.raises(RuntimeError, match="went through"):
        replay(_Client(refuse=False), refused)
    with pytest.raises(RuntimeError, match="was refused"):
        replay(_Client(refuse=True), prepare([Recorded("PutItem", {"TableName": "t"})]))


def test_calls_the_app_had_in_flight_together_are_replayed_together() -> None:
    get = {"TableName": "orders", "Key": {"pk": {"S": "o1"}}}
    overlapping = [
        Recorded("GetItem", get, started_ns=10, ended_ns=30),
        Recorded("Query", get, started_ns=20, ended_ns=40),
    ]
    after = Recorded("GetItem", get, started_ns=50, ended_ns=60)
    assert [len(group) for group in prepare([*overlapping, after])] == [2, 1]
