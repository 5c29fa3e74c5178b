"""The Twilio webhooks' own Lambda function in the SAM template ``chalice package`` writes (issue
#19): Chalice makes one function for every route of ``app.py``; this adds a second one from the
same package whose handler is ``chalicelib.twilio_webhooks.app`` (only the Twilio-facing
blueprints, a lean cold start), and points API Gateway's integrations of the routes that app
serves at it. Its log group and API Gateway's permission to invoke it are made like the API
handler's; its role, name, alarms and settings come from the stack like every function's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

TWILIO_HANDLER = "chalicelib.twilio_webhooks.app"
TWILIO_FUNCTION = "TwilioHandler"  # logical id
API_FUNCTION = "APIHandler"
API_PERMISSION = "APIHandlerInvokePermission"
INTEGRATION = "x-amazon-apigateway-integration"


def twilio_routes() -> list[str]:
    """The paths ``chalicelib.twilio_webhooks`` serves (every ``voice_*``/``sms*`` module's)."""
    from chalicelib.twilio_webhooks import app  # the app's own route table, not a copy of it

    return sorted(app.routes)


def add_twilio_function(template: dict[str, Any], routes: Iterable[str]) -> list[str]:
    """Add the function beside ``APIHandler`` and send ``routes`` to it; returns the paths moved."""
    resources = template["Resources"]
    function = copy.deepcopy(resources[API_FUNCTION])
    function["Properties"]["Handler"] = TWILIO_HANDLER
    function.pop("DependsOn", None)
    resources[TWILIO_FUNCTION] = function
    log_group = _log_group(resources)
    if log_group is not None:  # Chalice makes them when the stage sets a log retention (the stack does)
        resources[f"{TWILIO_FUNCTION}LogGroup"] = log_group
    permission = copy.deepcopy(resources[API_PERMISSION])
    permission["Properties"]["FunctionName"] = {"Ref": TWILIO_FUNCTION}
    resources[f"{TWILIO_FUNCTION}InvokePermission"] = permission
    moved = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Api":
            continue
        paths = resource["Properties"]["DefinitionBody"]["paths"]
        for path in sorted(set(routes) & set(paths)):
            for operation in paths[path].values():
                if isinstance(operation, dict) and INTEGRATION in operation:
                    _retarget(operation[INTEGRATION])
            moved.append(path)
    if not moved:
        raise ValueError("no Twilio webhook route found in the API definition")
    return moved


def _log_group(resources: dict[str, Any]) -> dict[str, Any] | None:
    groups = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::Logs::LogGroup"
        and resource["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${ApiHandler}"}
    ]
    if not groups:
        return None
    (group,) = groups
    twilio_group = copy.deepcopy(group)
    twilio_group["Properties"]["LogGroupName"] = {"Fn::Sub": f"/aws/lambda/${{{TWILIO_FUNCTION}}}"}
    return twilio_group


def _retarget(integration: dict[str, Any]) -> None:
    uri = integration["uri"]["Fn::Sub"]
    old, new = f"${{{API_FUNCTION}.Arn}}", f"${{{TWILIO_FUNCTION}.Arn}}"
    if old not in uri:
        raise ValueError(f"expected the API handler's integration, got {uri!r}")
    integration["uri"]["Fn::Sub"] = uri.replace(old, new)
