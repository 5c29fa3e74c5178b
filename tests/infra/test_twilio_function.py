"""The Twilio webhooks' own function (issue #19): API Gateway sends every Twilio route to it and
every other route to the API handler; it runs the same package, settings and tracing, a shorter
timeout, and a role granting nothing the API handler's lacks (no streams, queues or CRM secrets)."""

from __future__ import annotations

import json

import pytest

from infra.twilio_function import TWILIO_FUNCTION, TWILIO_HANDLER
from tests.infra.conftest import Synthesis
from tests.infra.test_iam import _as_list, _literal_parts, _role_statements

pytestmark = pytest.mark.xdist_group("infra")

INTEGRATION = "x-amazon-apigateway-integration"


def _twilio_id(synthesis: Synthesis) -> str:
    (logical_id,) = [
        key
        for key, function in synthesis.of_type("AWS::Serverless::Function").items()
        if function["Properties"]["Handler"] == TWILIO_HANDLER
    ]
    return logical_id


def _function_of(uri: str, synthesis: Synthesis) -> str:
    """The logical id of the function an integration URI calls (by name or by reference)."""
    for logical_id, name in synthesis.function_names.items():
        if f":function:{name}/" in uri or f"${{{logical_id}.Arn}}" in uri:
            return logical_id
    raise AssertionError(f"{uri!r} calls no function of the stack")


@pytest.mark.parametrize("custom_domain", [False, True])
def test_every_twilio_route_reaches_the_twilio_function_and_every_other_route_the_api_handler(
    synthesis: Synthesis, custom_domain_synthesis: Synthesis, custom_domain: bool
) -> None:
    from app import app
    from chalicelib.twilio_webhooks import app as twilio_app

    chosen = custom_domain_synthesis if custom_domain else synthesis
    # GIVEN the routes of the whole app; the Twilio ones all served by the webhooks' app
    twilio_paths = {path for path in app.routes if path.startswith("/twilio/")}
    assert twilio_paths and twilio_paths == set(twilio_app.routes)
    twilio_id = _twilio_id(chosen)
    assert twilio_id == TWILIO_FUNCTION
    # WHEN the API definition's integrations are read (explicit methods and the ANY ones)
    paths = chosen.resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or INTEGRATION not in operation:
                continue
            if operation[INTEGRATION]["type"] == "mock":  # the static voice fallback: API Gateway answers it
                assert path.startswith("/twilio/fallback/"), path
                continue
            called = _function_of(operation[INTEGRATION]["uri"]["Fn::Sub"], chosen)
            # THEN a Twilio route calls the Twilio function, any other the API handler
            assert called == (twilio_id if path in twilio_paths else "APIHandler"), (path, method)
    assert twilio_paths <= set(paths)


def test_the_twilio_function_runs_the_same_package_and_settings_with_twilios_timeout(synthesis: Synthesis) -> None:
    twilio = synthesis.resources[_twilio_id(synthesis)]["Properties"]
    api = synthesis.resources["APIHandler"]["Properties"]
    for key in ("CodeUri", "Runtime", "MemorySize", "Tracing", "Architectures", "Environment"):
        assert twilio[key] == api[key], key
    assert twilio["FunctionName"] == synthesis.function_names[TWILIO_FUNCTION] != api["FunctionName"]
    assert twilio["Timeout"] == 15  # Twilio gives up on a webhook after 15 s
    # its own log group, with the retention, created before it
    (group,) = [
        g
        for g in synthesis.of_type("AWS::Logs::LogGroup").values()
        if g["Properties"]["LogGroupName"] == f"/aws/lambda/{twilio['FunctionName']}"
    ]
    assert group["Properties"]["RetentionInDays"] == 30
    # and API Gateway may invoke it
    permissions = [
        p["Properties"]
        for p in synthesis.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": TWILIO_FUNCTION}
    ]
    assert [p["Principal"] for p in permissions] == ["apigateway.amazonaws.com"]


def test_the_twilio_function_may_do_nothing_the_api_handler_may_not(synthesis: Synthesis) -> None:
    twilio = _role_statements(synthesis, _twilio_id(synthesis))
    api = _role_statements(synthesis, "APIHandler")
    # no stream, failure queue or CRM secret; X-Ray's "*" is the only wildcard
    assert not {"Stream", "FailedRecords", "CrmSecrets"} & set(twilio)
    for sid, statement in twilio.items():
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert ("*" in resources) == (sid == "Tracing"), sid
    # its logs only to its own log group
    name = synthesis.function_names[TWILIO_FUNCTION]
    assert "".join(_literal_parts(twilio["Logs"]["Resource"])).endswith(f":log-group:/aws/lambda/{name}:*")
    # every other statement is the API handler's own or narrower (infra/access.py: fewer tables written)
    for sid, statement in twilio.items():
        if sid == "Logs":
            continue
        assert sid in api, sid
        assert set(_as_list(statement["Action"])) <= set(_as_list(api[sid]["Action"])), sid
        assert {json.dumps(r) for r in _as_list(statement["Resource"])} <= {
            json.dumps(r) for r in _as_list(api[sid]["Resource"])
        }, sid
