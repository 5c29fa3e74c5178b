"""The Chalice app as a CDK construct, with the things ``chalice package`` alone gets wrong
for this app:

- the caller-facing catalogs (``twiml/``) are outside ``chalicelib/``, and Chalice zips only
  ``app.py``, ``chalicelib/`` and ``vendor/`` (it does not follow a symlinked directory inside
  ``chalicelib/``): they are added to the package as ``chalicelib/twiml/``, the first place
  ``chalicelib.voice.catalog.catalog_dir()`` looks; likewise Twilio's Voice SDK for the agent
  page's softphone (npm's ``node_modules/``, gitignored) as ``chalicelib/vendor/voice-sdk/``,
  where ``chalicelib.web.page_assets`` looks first; and so is the bytecode Lambda's read-only
  code directory needs (``infra/package.py``);
- the Twilio webhooks get a function of their own (``infra/twilio_function.py``);
- every function gets a fixed name, and, when the handler's ``PUBLIC_BASE_URL`` is the API's own
  URL, the API's integrations call the handler by that name instead of ``${APIHandler.Arn}``:
  otherwise that is a dependency cycle (API -> handler -> API).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalice.cdk import Chalice

from infra.package import (
    PACKAGED_TWIML,
    PACKAGED_VOICE_SDK,
    VOICE_SDK,
    add_catalogs,
    add_voice_sdk,
    finish_package,
    runtime_of,
)
from infra.twilio_function import add_twilio_function, twilio_routes

__all__ = [
    "PACKAGED_TWIML",
    "PACKAGED_VOICE_SDK",
    "VOICE_SDK",
    "ChaliceApp",
    "add_catalogs",
    "add_voice_sdk",
    "name_functions",
]

FUNCTION_TYPE = "AWS::Serverless::Function"
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"
API_TYPE = "AWS::Serverless::Api"


def function_arn_sub(function_name: str) -> str:
    return f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function_name}"


def name_functions(template: dict[str, Any], names: dict[str, str], *, arn_by_name: bool = True) -> dict[str, Any]:
    """Give each function its fixed name and, with ``arn_by_name``, point ``${Fn.Arn}``
    references (the API's integrations) at that name instead of the resource."""
    resources = template["Resources"]
    for logical_id, name in names.items():
        resources[logical_id]["Properties"]["FunctionName"] = name
    replacements = {f"${{{logical_id}.Arn}}": function_arn_sub(name) for logical_id, name in names.items()}
    if not arn_by_name:
        replacements = {}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(value) for value in node]
        if isinstance(node, str):
            for old, new in replacements.items():
                node = node.replace(old, new)
        return node

    template["Resources"] = resources = rewrite(resources)
    # Chalice's log groups (the ones carrying the retention) name their function in a Sub; for
    # the API handler it writes ${ApiHandler}, a resource that does not exist (the function is
    # APIHandler). With fixed names the log group needs no reference at all, and the function
    # waits for it, so Lambda never creates a log group without retention first.
    by_lower = {logical_id.lower(): logical_id for logical_id in names}
    for group_id, group in resources.items():
        if group["Type"] != LOG_GROUP_TYPE:
            continue
        sub = group["Properties"]["LogGroupName"]
        match = re.fullmatch(r"/aws/lambda/\$\{(\w+)\}", sub.get("Fn::Sub", "") if isinstance(sub, dict) else "")
        if match is None or match.group(1).lower() not in by_lower:
            raise ValueError(f"{group_id}: cannot tell which function {sub!r} belongs to")
        function_id = by_lower[match.group(1).lower()]
        group["Properties"]["LogGroupName"] = f"/aws/lambda/{names[function_id]}"
        depends = resources[function_id].setdefault("DependsOn", [])
        resources[function_id]["DependsOn"] = [*([depends] if isinstance(depends, str) else depends), group_id]
    return template


class ChaliceApp(Chalice):
    """``chalice.cdk.Chalice`` whose functions are named ``<name_prefix><LogicalId>`` and whose
    package carries the ``twiml/`` catalogs."""

    def __init__(
        self,
        scope: Any,
        id: str,
        *,
        source_dir: str,
        stage_config: dict[str, Any],
        name_prefix: str,
        api_calls_handler_by_name: bool,
        api_definition_hook: Callable[[dict[str, Any], dict[str, str]], Any] | None = None,
    ):
        self._name_prefix = name_prefix
        # Called with the API's swagger document and the functions' names by their app.py names.
        self._api_definition_hook = api_definition_hook
        self._api_calls_handler_by_name = api_calls_handler_by_name
        self.function_names: dict[str, str] = {}  # logical id -> Lambda function name
        self.chalice_names: dict[str, str] = {}  # logical id -> name in app.py ("api_handler" for routes)
        self.scheduled: dict[str, str] = {}  # logical id of each @app.schedule function -> its expression
        super().__init__(scope, id, source_dir=source_dir, stage_config=stage_config)

    @property
    def deployment_zip(self) -> Path:
        return Path(self._sam_package_dir) / "deployment.zip"

    def _package_app(self) -> None:
        super()._package_app()
        sam_path = Path(self._sam_package_dir) / "sam.json"
        template = json.loads(sam_path.read_text())
        finish_package(self.deployment_zip, runtime_of(template))  # catalogs and bytecode: infra/package.py
        add_twilio_function(template, twilio_routes())  # the webhooks' own function: infra/twilio_function.py
        self.function_names = {
            logical_id: f"{self._name_prefix}{logical_id}"
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == FUNCTION_TYPE
        }
        self.chalice_names = {
            logical_id: _chalice_name(template["Resources"][logical_id]["Properties"]["Handler"])
            for logical_id in self.function_names
        }
        self.scheduled = {
            logical_id: event["Properties"]["Schedule"]
            for logical_id in self.function_names
            for event in template["Resources"][logical_id]["Properties"].get("Events", {}).values()
            if event.get("Type") == "Schedule"
        }
        too_long = [name for name in self.function_names.values() if len(name) > 64]
        if too_long:
            raise ValueError(f"Lambda function names are limited to 64 characters: {too_long}")
        if self._api_definition_hook is not None:
            names = {self.chalice_names[logical_id]: name for logical_id, name in self.function_names.items()}
            for resource in template["Resources"].values():
                if resource["Type"] == API_TYPE:
                    self._api_definition_hook(resource["Properties"]["DefinitionBody"], names)
        sam_path.write_text(
            json.dumps(
                name_functions(template, self.function_names, arn_by_name=self._api_calls_handler_by_name), indent=2
            )
        )


def _chalice_name(handler: str) -> str:
    # "app.order_stream" -> "order_stream"; the routes' handler is the app object itself, and
    # another module's app object goes by its module ("chalicelib.twilio_webhooks.app").
    module, _, name = handler.rpartition(".")
    if name != "app":
        return name
    return "api_handler" if module == "app" else module.rpartition(".")[2]


def chalice_out_dir() -> str:
    """Where ``chalice.cdk.Chalice`` stages its packages (``./chalice.out``, fixed by Chalice)."""
    return os.path.join(os.getcwd(), "chalice.out")
