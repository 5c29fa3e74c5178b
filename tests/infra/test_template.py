"""The synthesised template against the code it deploys: cfn-lint clean, tables exactly as the
PynamoDB models define them, every handler with its trigger, stream mappings that never block a
shard, environment and alarms."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamo.schema import all_models, idempotency_table_definition, idempotency_table_name
from chalicelib.wiring import STREAM_CONSUMERS
from tests.infra.conftest import CONTEXT, DATE_DEPENDENT_LINT_RULES, Synthesis, authorizer_id

pytestmark = pytest.mark.xdist_group("infra")


def test_cfn_lint_reports_no_errors(synthesis: Synthesis, tmp_path: Any) -> None:
    from cfnlint.api import ManualArgs, lint_file

    path = synthesis.assembly_dir / f"{synthesis.stack_name}.template.json"
    # The SAM parts are transformed by cfn-lint itself (serverless rules included).
    args = ManualArgs(regions=["eu-central-1", "us-east-1"], ignore_checks=DATE_DEPENDENT_LINT_RULES)
    matches = lint_file(path, args)
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.severity == "error"]
    assert errors == []


# ---- tables ----------------------------------------------------------------------------------
def _key_schema(attributes: Any) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Key schema and key attribute types, read from the attributes' hash/range flags."""
    schema: list[dict[str, str]] = []
    types: dict[str, str] = {}
    for attribute in attributes:
        if attribute.is_hash_key:
            schema.insert(0, {"AttributeName": attribute.attr_name, "KeyType": "HASH"})
        elif attribute.is_range_key:
            schema.append({"AttributeName": attribute.attr_name, "KeyType": "RANGE"})
        else:
            continue
        types[attribute.attr_name] = attribute.attr_type
    return schema, types


def _expected_table(model: type[Model]) -> dict[str, Any]:
    key_schema, types = _key_schema(model.get_attributes().values())
    indexes = []
    for index in model._indexes.values():
        index_schema, index_types = _key_schema(index.Meta.attributes.values())
        types.update(index_types)
        projection: dict[str, Any] = {"ProjectionType": index.Meta.projection.projection_type}
        if index.Meta.projection.non_key_attributes:
            projection["NonKeyAttributes"] = sorted(index.Meta.projection.non_key_attributes)
        indexes.append({"IndexName": index.Meta.index_name, "KeySchema": index_schema, "Projection": projection})
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    return {
        "KeySchema": key_schema,
        "AttributeDefinitions": sorted(
            ({"AttributeName": name, "AttributeType": kind} for name, kind in types.items()),
            key=lambda d: d["AttributeName"],
        ),
        "GlobalSecondaryIndexes": sorted(indexes, key=lambda i: i["IndexName"]),
        "StreamViewType": getattr(model.Meta, "stream_view_type", None),
        "TTL": ttl[0] if ttl else None,
    }


def _actual_table(properties: dict[str, Any]) -> dict[str, Any]:
    indexes = []
    for index in properties.get("GlobalSecondaryIndexes", []):
        projection = dict(index["Projection"])
        if "NonKeyAttributes" in projection:
            projection["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
        key_schema = sorted(index["KeySchema"], key=lambda k: k["KeyType"])  # HASH before RANGE
        indexes.append({"IndexName": index["IndexName"], "KeySchema": key_schema, "Projection": projection})
    ttl = properties.get("TimeToLiveSpecification")
    return {
        "KeySchema": sorted(properties["KeySchema"], key=lambda k: k["KeyType"]),
        "AttributeDefinitions": sorted(properties["AttributeDefinitions"], key=lambda d: d["AttributeName"]),
        "GlobalSecondaryIndexes": sorted(indexes, key=lambda i: i["IndexName"]),
        "StreamViewType": properties.get("StreamSpecification", {}).get("StreamViewType"),
        "TTL": ttl["AttributeName"] if ttl and ttl.get("Enabled") else None,
    }


def _tables_by_name(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    tables = synthesis.of_type("AWS::DynamoDB::Table").values()
    return {t["Properties"]["TableName"]: t for t in tables}


def test_every_table_matches_its_model(synthesis: Synthesis) -> None:
    tables = _tables_by_name(synthesis)
    expected_names = {model.Meta.table_name for model in all_models()} | {idempotency_table_name()}
    assert set(tables) == expected_names  # no table missing, none the app does not use
    for model in all_models():
        table = tables[model.Meta.table_name]
        assert _actual_table(table["Properties"]) == _expected_table(model), model.__name__


def test_the_idempotency_table_is_what_powertools_expects(synthesis: Synthesis) -> None:
    import inspect

    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    definition = idempotency_table_definition()
    properties = _tables_by_name(synthesis)[definition["TableName"]]["Properties"]
    assert properties["KeySchema"] == definition["KeySchema"]
    assert properties["AttributeDefinitions"] == definition["AttributeDefinitions"]
    expiry = inspect.signature(DynamoDBPersistenceLayer.__init__).parameters["expiry_attr"].default
    assert properties["TimeToLiveSpecification"] == {"AttributeName": expiry, "Enabled": True}


def test_dedup_claims_expire_by_ttl(synthesis: Synthesis) -> None:
    # The model's TTLAttribute: lapsed window claims must be deleted by DynamoDB itself.
    from chalicelib.adapters.dynamo.schema import DedupClaimItem

    properties = _tables_by_name(synthesis)[DedupClaimItem.Meta.table_name]["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_ttl", "Enabled": True}


def test_every_table_is_on_demand_with_point_in_time_recovery_and_kept(synthesis: Synthesis) -> None:
    for logical_id, table in synthesis.of_type("AWS::DynamoDB::Table").items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert "ProvisionedThroughput" not in properties, logical_id
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
        assert table["DeletionPolicy"] == "Retain", logical_id  # `make destroy` never drops data


# ---- handlers and their triggers -------------------------------------------------------------
def _function_by_handler(synthesis: Synthesis) -> dict[str, str]:
    """Chalice handler string ('app.order_stream') -> logical id."""
    functions = synthesis.of_type("AWS::Serverless::Function")
    return {f["Properties"]["Handler"]: logical_id for logical_id, f in functions.items()}


def _table_logical_id(synthesis: Synthesis, table_suffix: str) -> str:
    from chalicelib.adapters.dynamo.schema import table_name

    name = table_name(table_suffix)
    (logical_id,) = [
        key for key, t in synthesis.of_type("AWS::DynamoDB::Table").items() if t["Properties"]["TableName"] == name
    ]
    return logical_id


def test_every_lambda_function_is_a_wired_stream_consumer() -> None:
    from app import app

    # A @app.lambda_function that no stream triggers would never run in the cloud; the one
    # other is API Gateway's shop key authorizer (tests/infra/test_usage_plan.py).
    assert {f.name for f in app.pure_lambda_functions} == {*STREAM_CONSUMERS.values(), "shop_key_authorizer"}


def test_each_stream_consumer_has_one_mapping_that_never_blocks_a_shard(synthesis: Synthesis) -> None:
    mappings = synthesis.of_type("AWS::Lambda::EventSourceMapping")
    functions = _function_by_handler(synthesis)
    assert len(mappings) == len(STREAM_CONSUMERS)
    for table_suffix, function_name in STREAM_CONSUMERS.items():
        function_id = functions[f"app.{function_name}"]
        table_id = _table_logical_id(synthesis, table_suffix)
        (mapping,) = [
            m["Properties"] for m in mappings.values() if m["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
        assert synthesis.resources[table_id]["Properties"]["StreamSpecification"]["StreamViewType"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True
        assert 0 <= mapping["MaximumRetryAttempts"] <= 10  # -1 (the default) retries forever
        assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 86400
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        # Lambda keeps only an item's records in order across a shard's concurrent batches: the
        # orders stream takes 10 at once (#19), the others, whose consumers need more, one.
        assert mapping["ParallelizationFactor"] == (10 if function_name == "order_stream" else 1), function_name
        queue_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert synthesis.resources[queue_id]["Type"] == "AWS::SQS::Queue"
        depth_alarms = [
            a["Properties"]
            for a in synthesis.of_type("AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and a["Properties"]["Dimensions"]
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
        ]
        assert len(depth_alarms) == 1, function_name
        assert depth_alarms[0]["Threshold"] == 1
        assert depth_alarms[0]["AlarmActions"], "the alarm notifies someone"


def test_every_schedule_has_its_rule(synthesis: Synthesis) -> None:
    from chalice.app import ScheduledEventConfig

    from app import app

    functions = synthesis.resources
    by_handler = _function_by_handler(synthesis)
    schedules = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    assert schedules
    for schedule in schedules:
        events = functions[by_handler[schedule.handler_string]]["Properties"]["Events"]
        expressions = [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"]
        assert expressions == [schedule.schedule_expression], schedule.name


def test_every_route_reaches_its_handler_by_its_name(synthesis: Synthesis) -> None:
    from app import app
    from chalicelib.twilio_webhooks import app as twilio_app

    api = synthesis.resources["RestAPI"]["Properties"]
    paths = api["DefinitionBody"]["paths"]
    for logical_id in ("APIHandler", "TwilioHandler"):
        assert synthesis.resources[logical_id]["Properties"]["FunctionName"] == synthesis.function_names[logical_id]
    for path, methods in app.routes.items():
        # The Twilio webhooks have their own function (tests/infra/test_twilio_function.py).
        handler_name = synthesis.function_names["TwilioHandler" if path in twilio_app.routes else "APIHandler"]
        for method in methods:
            integration = paths[path][method.lower()]["x-amazon-apigateway-integration"]
            uri = integration["uri"]["Fn::Sub"]
            # By name, not ${APIHandler.Arn}: the handler's PUBLIC_BASE_URL refers to the API.
            assert uri.endswith(f":function:{handler_name}/invocations"), (path, method)
            assert integration["type"] == "aws_proxy"


def test_functions_get_their_settings_and_never_the_twilio_token(synthesis: Synthesis) -> None:
    functions = synthesis.of_type("AWS::Serverless::Function")
    assert set(functions) == set(synthesis.function_names)
    for logical_id, function in functions.items():
        properties = function["Properties"]
        variables = properties["Environment"]["Variables"]
        assert variables["TWILIO_ACCOUNT_SID"] == CONTEXT["twilio_account_sid"]
        assert variables["TWILIO_AUTH_TOKEN_PARAM"] == CONTEXT["twilio_auth_token_param"]
        assert "TWILIO_AUTH_TOKEN" not in variables
        assert variables["RECORDING_LINK_SECRET_PARAM"] == "/callcenter/recording-link-secret"
        assert "RECORDING_LINK_SECRET" not in variables
        assert variables["TABLE_PREFIX"] == "callcenter-"
        # The API's URL with its stage: https://<api id>.execute-api.<region>.<suffix>/api
        parts = variables["PUBLIC_BASE_URL"]["Fn::Join"][1]
        assert parts[0] == "https://" and parts[1] == {"Ref": "RestAPI"} and parts[-1] == "/api"
        role = properties["Role"]["Fn::GetAtt"]
        assert synthesis.resources[role[0]]["Type"] == "AWS::IAM::Role"
        assert properties["Tracing"] == "Active"
        assert properties["FunctionName"] == synthesis.function_names[logical_id]


def test_log_groups_keep_logs_for_a_bounded_time(synthesis: Synthesis) -> None:
    groups = {g["Properties"]["LogGroupName"]: g for g in synthesis.of_type("AWS::Logs::LogGroup").values()}
    for logical_id, name in synthesis.function_names.items():
        group = groups[f"/aws/lambda/{name}"]
        assert group["Properties"]["RetentionInDays"] == 30
        # Created before the function, so Lambda never makes one without retention.
        (group_id,) = [k for k, g in synthesis.of_type("AWS::Logs::LogGroup").items() if g is group]
        assert group_id in synthesis.resources[logical_id]["DependsOn"]
    assert groups["/aws/apigateway/CallCenter-api/access"]["Properties"]["RetentionInDays"] == 30  # the API's


def test_alarms_on_errors_throttles_and_the_dialer_drop_rate(synthesis: Synthesis) -> None:
    alarms = [a["Properties"] for a in synthesis.of_type("AWS::CloudWatch::Alarm").values()]

    def alarmed(namespace: str, metric: str, dimensions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            a
            for a in alarms
            if a.get("Namespace") == namespace and a["MetricName"] == metric and a["Dimensions"] == dimensions
        ]

    authorizer = synthesis.function_names[authorizer_id(synthesis)]
    for name in synthesis.function_names.values():
        for metric in ("Errors", "Throttles"):
            # Every refused shop key is an error of the authorizer: not an alarm (API 5xx is).
            expected = 0 if (name, metric) == (authorizer, "Errors") else 1
            dimensions = [{"Name": "FunctionName", "Value": name}]
            assert len(alarmed("AWS/Lambda", metric, dimensions)) == expected, (name, metric)
    (drop_rate,) = alarmed("CallCenter", "DialerDropRate", [{"Name": "service", "Value": "callcenter"}])
    assert drop_rate["Threshold"] == 3
    assert drop_rate["TreatMissingData"] == "notBreaching"
    topic = [k for k in synthesis.of_type("AWS::SNS::Topic")]
    assert all(a["AlarmActions"] == [{"Ref": topic[0]}] for a in alarms)
    (subscription,) = synthesis.of_type("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == CONTEXT["alarm_email"]


@pytest.mark.parametrize("metric", ["CrmEvents_parked", "Texts_parked"])
def test_parked_crm_events_and_texts_raise_an_alarm(synthesis: Synthesis, metric: str) -> None:
    from infra.stack import CRM_PARKED_METRIC, TEXTS_PARKED_METRIC

    assert metric in (CRM_PARKED_METRIC, TEXTS_PARKED_METRIC)
    alarms = [a["Properties"] for a in synthesis.of_type("AWS::CloudWatch::Alarm").values()]
    (parked,) = [a for a in alarms if a.get("MetricName") == metric]
    assert (parked["Namespace"], parked["Threshold"], parked["Dimensions"]) == (
        "CallCenter",
        1,
        [{"Name": "service", "Value": "callcenter"}],
    )
