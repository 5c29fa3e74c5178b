"""Least privilege per function (#18): each role grants exactly what infra/access.py's table lists
for its function, and the table itself keeps the guarantees that matter (the report schedule
cannot write orders, the Twilio function reads no CRM secret, the live counters' consumer touches
one table)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.access import (
    ALL,
    CONFIG_TABLES,
    FUNCTION_ACCESS,
    INDEX_ACTIONS,
    READ_ACTIONS,
    SCAN_ACTION,
    SCANNED_TABLES,
    WRITE_ACTIONS,
)
from tests.infra.conftest import Synthesis
from tests.infra.test_iam import _as_list, _role_statements, app_functions, chalice_name

pytestmark = pytest.mark.xdist_group("infra")

PREFIX = "callcenter-"


def _table_ids(synthesis: Synthesis) -> dict[str, str]:
    """table suffix -> logical id"""
    return {
        table["Properties"]["TableName"].removeprefix(PREFIX): logical_id
        for logical_id, table in synthesis.of_type("AWS::DynamoDB::Table").items()
    }


def _arns(synthesis: Synthesis, suffixes: set[str] | frozenset[str]) -> list[str]:
    ids = _table_ids(synthesis)
    return sorted(json.dumps({"Fn::GetAtt": [ids[suffix], "Arn"]}) for suffix in suffixes)


def _resources(statement: dict[str, Any] | None) -> list[str]:
    return sorted(json.dumps(r) for r in _as_list(statement["Resource"])) if statement else []


def _by_chalice_name(synthesis: Synthesis) -> dict[str, str]:
    """app.py's name (the Twilio function: twilio_webhooks) -> logical id"""
    return {chalice_name(synthesis, logical_id): logical_id for logical_id in app_functions(synthesis)}


def _written(synthesis: Synthesis, name: str) -> set[str]:
    statements = _role_statements(synthesis, _by_chalice_name(synthesis)[name])
    ids = {v: k for k, v in _table_ids(synthesis).items()}
    return {ids[json.loads(r)["Fn::GetAtt"][0]] for r in _resources(statements.get("TablesWrite"))}


def test_every_function_has_a_row_in_the_access_table_and_every_row_a_function(synthesis: Synthesis) -> None:
    assert set(_by_chalice_name(synthesis)) == set(FUNCTION_ACCESS)


def test_each_role_grants_exactly_the_tables_and_indexes_of_its_row(synthesis: Synthesis) -> None:
    every = frozenset(_table_ids(synthesis))
    tables = synthesis.of_type("AWS::DynamoDB::Table")
    for name, logical_id in _by_chalice_name(synthesis).items():
        access = FUNCTION_ACCESS[name]
        read, written = access.tables_read(every), access.tables_written(every)
        statements = _role_statements(synthesis, logical_id)
        assert _resources(statements.get("TablesRead")) == _arns(synthesis, read), name
        assert _resources(statements.get("TablesScan")) == _arns(synthesis, read & SCANNED_TABLES), name
        assert _resources(statements.get("TablesWrite")) == _arns(synthesis, written), name
        assert sorted(_as_list(statements["TablesRead"]["Action"])) == sorted(READ_ACTIONS)
        if written:
            assert sorted(_as_list(statements["TablesWrite"]["Action"])) == sorted(WRITE_ACTIONS)
        indexes = sorted(
            json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, f"/index/{index['IndexName']}"]]})
            for table_id, table in tables.items()
            if table["Properties"]["TableName"].removeprefix(PREFIX) in read
            for index in table["Properties"].get("GlobalSecondaryIndexes", [])
        )
        assert _resources(statements.get("Indexes")) == indexes, name
        if indexes:
            assert _as_list(statements["Indexes"]["Action"]) == list(INDEX_ACTIONS)
        # no other DynamoDB grant hides elsewhere, and never a control-plane action
        dynamodb_sids = {
            sid for sid, s in statements.items() if any(a.startswith("dynamodb:") for a in _as_list(s["Action"]))
        }
        assert dynamodb_sids <= {"TablesRead", "TablesScan", "TablesWrite", "Indexes", "Stream"}, name


def test_the_report_schedule_cannot_write_orders_or_reach_twilio(synthesis: Synthesis) -> None:
    assert _written(synthesis, "daily_reports") == {"report_runs", "idempotency"}
    statements = _role_statements(synthesis, _by_chalice_name(synthesis)["daily_reports"])
    assert "TwilioToken" not in statements and "CrmSecrets" not in statements
    assert "SendEmail" in statements and "RecordingLinkSecret" in statements


def test_the_twilio_function_reads_no_crm_secret_nor_the_softphone_key_and_writes_no_configuration(
    synthesis: Synthesis,
) -> None:
    statements = _role_statements(synthesis, _by_chalice_name(synthesis)["twilio_webhooks"])
    assert not {"CrmSecrets", "TwilioApiKeySecret", "Stream", "FailedRecords"} & set(statements)
    assert not _written(synthesis, "twilio_webhooks") & (CONFIG_TABLES | {"report_runs", "live_counts"})
    assert {"order_lanes", "calls", "dial_tasks", "queue_entries"} <= _written(synthesis, "twilio_webhooks")


def test_only_the_api_handler_writes_the_configuration_tables(synthesis: Synthesis) -> None:
    for name in _by_chalice_name(synthesis):
        if name != "api_handler":
            assert not _written(synthesis, name) & CONFIG_TABLES, name
    assert _written(synthesis, "api_handler") >= CONFIG_TABLES


def test_the_live_counters_consumer_touches_its_one_table_and_its_own_stream(synthesis: Synthesis) -> None:
    logical_id = _by_chalice_name(synthesis)["call_stream"]
    statements = _role_statements(synthesis, logical_id)
    assert _resources(statements["TablesRead"]) == _arns(synthesis, {"live_counts"})
    assert _written(synthesis, "call_stream") == {"live_counts"}
    # the Twilio token only to delete the recordings of calls the retention removed (#18)
    assert "TwilioToken" in statements
    assert not {"RecordingLinkSecret", "TwilioApiKeySecret", "CrmSecrets", "SendEmail"} & set(statements)
    (mapping,) = [
        m["Properties"]
        for m in synthesis.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": logical_id}
    ]
    ids = _table_ids(synthesis)
    assert statements["Stream"]["Resource"] == mapping["EventSourceArn"] == {"Fn::GetAtt": [ids["calls"], "StreamArn"]}


def test_the_crm_functions_write_only_the_crm_outbox_and_never_call_twilio_or_email(synthesis: Synthesis) -> None:
    for name in ("crm_stream", "crm_retry"):
        assert _written(synthesis, name) == {"crm_outbox"}
        statements = _role_statements(synthesis, _by_chalice_name(synthesis)[name])
        assert not {"TwilioToken", "SendEmail", "TwilioApiKeySecret"} & set(statements), name


def test_scan_is_granted_only_on_the_tables_the_code_scans(synthesis: Synthesis) -> None:
    for name, logical_id in _by_chalice_name(synthesis).items():
        statements = _role_statements(synthesis, logical_id)
        for sid, statement in statements.items():
            if SCAN_ACTION in _as_list(statement["Action"]):
                assert sid == "TablesScan", (name, sid)
    assert FUNCTION_ACCESS["api_handler"].reads == ALL


def test_every_table_the_code_scans_is_granted_scan() -> None:
    """A ``<Model>.scan(`` in the adapters needs its table in SCANNED_TABLES, or that handler
    fails in AWS with AccessDenied (the moto tests grant everything)."""
    import re
    from pathlib import Path

    from chalicelib.adapters.dynamo import schema

    adapters = Path(schema.__file__).parent
    scanned = {
        model
        for path in adapters.glob("*.py")
        for model in re.findall(r"\b(\w+Item)\.scan\(", path.read_text(encoding="utf-8"))
    }
    assert scanned, "no scan found: the pattern is out of date"
    tables = {getattr(schema, model).Meta.table_name.rsplit("-", 1)[-1] for model in scanned}
    assert tables <= SCANNED_TABLES, sorted(tables - SCANNED_TABLES)


def _read(synthesis: Synthesis, name: str) -> set[str]:
    statements = _role_statements(synthesis, _by_chalice_name(synthesis)[name])
    ids = {v: k for k, v in _table_ids(synthesis).items()}
    return {ids[json.loads(r)["Fn::GetAtt"][0]] for r in _resources(statements.get("TablesRead"))}


def test_reads_are_narrowed_to_the_tables_each_function_reads(synthesis: Synthesis) -> None:
    reads = {name: _read(synthesis, name) for name in FUNCTION_ACCESS}
    readers = {table: {name for name, read in reads.items() if table in read} for table in _table_ids(synthesis)}
    # keys and tokens authenticate the shop API and the desk: the API handler's alone
    assert readers["api_keys"] == readers["agent_tokens"] == {"api_handler"}
    assert readers["report_runs"] == {"api_handler", "daily_reports"}
    # the others only add to the CRM outbox (a conditional put), never read it
    assert readers["crm_outbox"] == {"api_handler", "crm_stream", "crm_retry"}
    assert readers["live_counts"] == {"api_handler", "call_stream", "live_alerts", "daily_reports", "order_stream"}
    assert _read(synthesis, "crm_stream") == _read(synthesis, "crm_retry") == {"shops", "crm_outbox"}
    assert _read(synthesis, "api_handler") == set(_table_ids(synthesis))


def test_the_access_probe_flags_a_read_outside_a_functions_narrowed_row() -> None:
    """``devtools.access_probe`` checks the moto tests' calls against the rows (infra/README.md):
    a read the row no longer grants is reported, one it grants is not."""
    from devtools.access_probe import violations

    rows = [
        ["twilio_webhooks", "dynamodb", "GetItem", "callcenter-api_keys", 1],
        ["crm_retry", "dynamodb", "Query", "callcenter-order_lanes/index/by_shop_phone", 1],
        ["crm_retry", "dynamodb", "Query", "callcenter-crm_outbox/index/by_due", 1],
        ["twilio_webhooks", "dynamodb", "GetItem", "callcenter-calls", 1],
    ]
    assert violations(rows) == [
        "twilio_webhooks: GetItem callcenter-api_keys",
        "crm_retry: Query callcenter-order_lanes/index/by_shop_phone",
    ]


def test_the_twilio_function_finds_a_browser_calls_agent_by_the_index_never_by_scanning_agents(
    synthesis: Synthesis,
) -> None:
    """An agent's outgoing browser call names the agent only by the softphone identity: a Query
    of the agents' sparse ``by_client_identity`` index, with no Scan of the agents table."""
    statements = _role_statements(synthesis, _by_chalice_name(synthesis)["twilio_webhooks"])
    agents = _table_ids(synthesis)["agents"]
    index = {"Fn::Join": ["", [{"Fn::GetAtt": [agents, "Arn"]}, "/index/by_client_identity"]]}
    assert index in _as_list(statements["Indexes"]["Resource"])
    assert {"Fn::GetAtt": [agents, "Arn"]} not in _as_list(statements["TablesScan"]["Resource"])
    assert "agents" not in SCANNED_TABLES
