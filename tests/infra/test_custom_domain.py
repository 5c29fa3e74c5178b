"""With a custom domain as PUBLIC_BASE_URL the functions get it as is (no stage), and the API's
integrations keep Chalice's own reference to the handler: no name-based ordering is needed."""

from __future__ import annotations

import pytest

from tests.infra.conftest import CUSTOM_DOMAIN, DATE_DEPENDENT_LINT_RULES, Synthesis

pytestmark = pytest.mark.xdist_group("infra")


def test_functions_get_the_custom_domain_without_stage(custom_domain_synthesis: Synthesis) -> None:
    functions = custom_domain_synthesis.of_type("AWS::Serverless::Function")
    assert functions
    for function in functions.values():
        assert function["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"] == CUSTOM_DOMAIN
    outputs = custom_domain_synthesis.template["Outputs"]
    assert outputs["VoiceWebhook"]["Value"] == f"{CUSTOM_DOMAIN}/twilio/voice/incoming"


def test_the_api_references_the_handler_when_nothing_refers_back(custom_domain_synthesis: Synthesis) -> None:
    paths = custom_domain_synthesis.resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    uris = [
        operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for methods in paths.values()
        for operation in methods.values()
        if operation["x-amazon-apigateway-integration"]["type"] != "mock"  # the static voice fallback
    ]
    assert uris
    assert all("${APIHandler.Arn}" in uri or "${TwilioHandler.Arn}" in uri for uri in uris)


def test_the_custom_domain_template_lints_clean(custom_domain_synthesis: Synthesis) -> None:
    from cfnlint.api import ManualArgs, lint_file

    path = custom_domain_synthesis.assembly_dir / f"{custom_domain_synthesis.stack_name}.template.json"
    matches = lint_file(path, ManualArgs(regions=["eu-central-1"], ignore_checks=DATE_DEPENDENT_LINT_RULES))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity == "error"] == []
