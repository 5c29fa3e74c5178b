"""The stack synthesised once per test session, offline, into a temporary folder; tests read the
template and the Lambda package it references."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# cfn-lint rules whose verdict depends on today's date, left out so the suite passes on any day:
# E2533 flags a Lambda runtime past AWS's deprecation date (Chalice deploys the Python that
# packages it, 3.11 here: deprecated 2027-06-30, creation blocked from 2027-07-31).
DATE_DEPENDENT_LINT_RULES = ["E2533"]

CONTEXT = {
    "twilio_account_sid": "AC" + "1" * 32,
    "twilio_auth_token_param": "/callcenter/test/twilio-auth-token",
    "ses_identities": "kvitka.example,reports@other-shop.example",
    "alarm_email": "ops@kvitka.example",
    "crm_secret_names": "kvitka-crm,other-shop",
}
CUSTOM_DOMAIN = "https://calls.kvitka.example"


@dataclass(frozen=True)
class Synthesis:
    template: dict[str, Any]
    assembly_dir: Path
    stack_name: str
    function_names: dict[str, str]  # logical id -> Lambda name

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def deployment_zip(self) -> Path:
        """The file asset every function's CodeUri points at, as staged in the assembly."""
        keys = {f["Properties"]["CodeUri"]["Key"] for f in self.of_type("AWS::Serverless::Function").values()}
        assert len(keys) == 1, keys
        return self.assembly_dir / f"asset.{keys.pop()}"


def synthesize(context: dict[str, str], workdir: Path) -> Synthesis:
    from infra.app import build

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.chdir(workdir)  # chalice.cdk stages its packages in ./chalice.out
    try:
        app, stack = build(dict(context), str(workdir / "cdk.out"))
        assembly = app.synth()
        function_names = dict(stack.function_names)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    assembly_dir = Path(assembly.directory)
    template = json.loads((assembly_dir / stack.template_file).read_text())
    return Synthesis(template, assembly_dir, stack.stack_name, function_names)


def authorizer_id(synthesis: Synthesis) -> str:
    """The logical id of API Gateway's shop key authorizer (app.shop_key_authorizer)."""
    (logical_id,) = [
        key
        for key, function in synthesis.of_type("AWS::Serverless::Function").items()
        if function["Properties"]["Handler"] == "app.shop_key_authorizer"
    ]
    return logical_id


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(CONTEXT, tmp_path_factory.mktemp("infra"))


@pytest.fixture(scope="session")
def custom_domain_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize({**CONTEXT, "public_base_url": CUSTOM_DOMAIN}, tmp_path_factory.mktemp("infra-domain"))


@pytest.fixture(scope="session")
def guardrails_off_synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The deployment settings that turn the guardrails off (#18): no reserved concurrency, no WAF."""
    return synthesize(
        {**CONTEXT, "reserved_concurrency": "false", "waf": "false"}, tmp_path_factory.mktemp("infra-guardrails-off")
    )
