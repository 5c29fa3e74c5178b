"""Least privilege in the synthesised template: exact ARNs wherever the resource has one, each
function reaching only what it uses, the Twilio token never in the template."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.wiring import STREAM_CONSUMERS
from infra.access import FUNCTION_ACCESS
from tests.infra.conftest import CONTEXT, Synthesis, authorizer_id

pytestmark = pytest.mark.xdist_group("infra")

# Actions that have no resource-level permissions at all: "*" is the only valid resource.
NO_RESOURCE_LEVEL = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _statements(synthesis: Synthesis) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, resource in synthesis.resources.items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            found += [(logical_id, statement) for statement in document["Statement"]]
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _literal_parts(resource: Any) -> list[str]:
    """The literal text of an ARN (strings inside Fn::Join / Fn::Sub), references left out."""
    if isinstance(resource, str):
        return [resource]
    if isinstance(resource, dict) and "Fn::Join" in resource:
        return [part for part in resource["Fn::Join"][1] if isinstance(part, str)]
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return [resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]]
    return []  # Ref / Fn::GetAtt: an exact ARN of a resource in this stack


def _role_statements(synthesis: Synthesis, function_logical_id: str) -> dict[str, dict[str, Any]]:
    role_id = synthesis.resources[function_logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return {s["Sid"]: s for role, s in _statements(synthesis) if role == role_id}


def app_functions(synthesis: Synthesis) -> list[str]:
    """Every function but API Gateway's shop key authorizer, which has a role of its own."""
    return [logical_id for logical_id in synthesis.function_names if logical_id != authorizer_id(synthesis)]


def chalice_name(synthesis: Synthesis, logical_id: str) -> str:
    """app.py's name of a function (the Twilio webhooks' function: twilio_webhooks)."""
    module, _, name = synthesis.resources[logical_id]["Properties"]["Handler"].rpartition(".")
    if name != "app":
        return name
    return "api_handler" if module == "app" else module.rpartition(".")[2]


def with_secret(synthesis: Synthesis, secret: str) -> list[str]:
    """The functions infra/access.py gives ``secret``; the others' roles must not name it."""
    sids = {
        "twilio_token": "TwilioToken",
        "recording_link": "RecordingLinkSecret",
        "twilio_api_key": "TwilioApiKeySecret",
    }
    chosen = []
    for logical_id in app_functions(synthesis):
        if secret in FUNCTION_ACCESS[chalice_name(synthesis, logical_id)].secrets:
            chosen.append(logical_id)
        else:
            assert sids[secret] not in _role_statements(synthesis, logical_id), (logical_id, secret)
    return chosen


def test_the_shop_key_authorizer_reads_one_table_and_nothing_else(synthesis: Synthesis) -> None:
    statements = _role_statements(synthesis, authorizer_id(synthesis))
    assert set(statements) == {"Logs", "Tracing", "ApiKeys"}
    assert statements["ApiKeys"]["Action"] == "dynamodb:GetItem"
    (table_id,) = [
        key
        for key, table in synthesis.of_type("AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"] == "callcenter-api_keys"
    ]
    assert statements["ApiKeys"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}


def test_no_statement_uses_a_wildcard_where_an_arn_exists(synthesis: Synthesis) -> None:
    statements = _statements(synthesis)
    assert statements
    for owner, statement in statements:
        actions = set(_as_list(statement["Action"]))
        assert not any(action.endswith("*") for action in actions), (owner, actions)
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                assert actions <= NO_RESOURCE_LEVEL, (owner, statement)
                continue
            text = "".join(_literal_parts(resource))
            if actions <= {"logs:CreateLogStream", "logs:PutLogEvents"}:
                # The streams of one named log group: 'log-group:/aws/lambda/<function>:*'.
                assert text.count("*") == 1 and text.endswith(":*") and ":log-group:/aws/lambda/" in text
            else:
                assert "*" not in text, (owner, statement)


def test_only_stream_consumers_read_streams_and_each_only_its_own(synthesis: Synthesis) -> None:
    by_handler = {f["Properties"]["Handler"]: k for k, f in synthesis.of_type("AWS::Serverless::Function").items()}
    consumers = {by_handler[f"app.{name}"]: table for table, name in STREAM_CONSUMERS.items()}
    mappings = {
        m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
        for m in synthesis.of_type("AWS::Lambda::EventSourceMapping").values()
    }
    for logical_id in app_functions(synthesis):
        statements = _role_statements(synthesis, logical_id)
        if logical_id not in consumers:
            assert "Stream" not in statements and "FailedRecords" not in statements, logical_id
            continue
        mapping = mappings[logical_id]
        assert statements["Stream"]["Resource"] == mapping["EventSourceArn"]
        assert statements["FailedRecords"]["Resource"] == mapping["DestinationConfig"]["OnFailure"]["Destination"]
        assert statements["FailedRecords"]["Action"] == "sqs:SendMessage"


def test_the_twilio_token_is_read_from_its_one_parameter_and_never_in_the_template(synthesis: Synthesis) -> None:
    name = CONTEXT["twilio_auth_token_param"]
    for logical_id in with_secret(synthesis, "twilio_token"):
        statement = _role_statements(synthesis, logical_id)["TwilioToken"]
        assert statement["Action"] == "ssm:GetParameter"
        assert "".join(_literal_parts(statement["Resource"])).endswith(f":parameter{name}")
    for logical_id in with_secret(synthesis, "recording_link"):  # and the recording-link key (I9) from its own
        statement = _role_statements(synthesis, logical_id)["RecordingLinkSecret"]
        assert statement["Action"] == "ssm:GetParameter"
        assert "".join(_literal_parts(statement["Resource"])).endswith(":parameter/callcenter/recording-link-secret")
    # No SSM parameter resource holds it (CloudFormation cannot even create a SecureString).
    assert not synthesis.of_type("AWS::SSM::Parameter")
    assert not any(
        s.get("Action") in ("ssm:GetParameters", "ssm:GetParametersByPath") for _, s in _statements(synthesis)
    )


def test_the_softphone_api_key_secret_is_read_from_its_one_parameter_and_never_in_the_template(
    synthesis: Synthesis,
) -> None:
    assert with_secret(synthesis, "twilio_api_key") == ["APIHandler"]  # the desk's token route only
    for logical_id, function in synthesis.of_type("AWS::Serverless::Function").items():
        if logical_id not in app_functions(synthesis):
            continue
        if logical_id == "APIHandler":
            statement = _role_statements(synthesis, logical_id)["TwilioApiKeySecret"]
            assert statement["Action"] == "ssm:GetParameter"
            assert "".join(_literal_parts(statement["Resource"])).endswith(
                ":parameter/callcenter/twilio-api-key-secret"
            )
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["TWILIO_API_KEY_SECRET_PARAM"] == "/callcenter/twilio-api-key-secret"
        assert "TWILIO_API_KEY_SECRET" not in variables


def test_email_is_sent_only_as_the_configured_identities(synthesis: Synthesis) -> None:
    identities = CONTEXT["ses_identities"].split(",")
    senders = [k for k in app_functions(synthesis) if FUNCTION_ACCESS[chalice_name(synthesis, k)].email]
    assert "APIHandler" in senders
    for logical_id in app_functions(synthesis):
        if logical_id not in senders:
            assert "SendEmail" not in _role_statements(synthesis, logical_id), logical_id
            continue
        statement = _role_statements(synthesis, logical_id)["SendEmail"]
        assert statement["Action"] == "ses:SendRawEmail"
        resources = ["".join(_literal_parts(r)) for r in _as_list(statement["Resource"])]
        assert [r.rpartition(":identity/")[2] for r in resources] == identities
    created = [i["Properties"]["EmailIdentity"] for i in synthesis.of_type("AWS::SES::EmailIdentity").values()]
    assert created == identities


def test_only_the_crm_functions_read_the_named_crm_secrets(synthesis: Synthesis) -> None:
    by_handler = {f["Properties"]["Handler"]: k for k, f in synthesis.of_type("AWS::Serverless::Function").items()}
    crm_functions = {by_handler["app.crm_stream"], by_handler["app.crm_retry"]}
    for logical_id in app_functions(synthesis):
        statements = _role_statements(synthesis, logical_id)
        if logical_id not in crm_functions:
            assert "CrmSecrets" not in statements, logical_id
            continue
        statement = statements["CrmSecrets"]
        assert statement["Action"] == "ssm:GetParameter"
        resources = ["".join(_literal_parts(r)) for r in _as_list(statement["Resource"])]
        assert [r.rpartition(":parameter")[2] for r in resources] == [
            "/callcenter/crm/kvitka-crm",
            "/callcenter/crm/other-shop",
        ]
