"""AWS WAF on the API's stage (#18): AWS's managed common rule set and known bad inputs, a rate
limit per client IP, none of them on Twilio's webhooks (signed, from Twilio's shared addresses);
``waf=false`` leaves it out."""

from __future__ import annotations

from typing import Any

import pytest

from infra.stack import DeploySettings
from infra.waf import COUNTED_COMMON_RULES
from tests.infra.conftest import CUSTOM_DOMAIN, Synthesis
from tests.infra.test_tracing_option import Node

pytestmark = pytest.mark.xdist_group("infra")


def _acl(synthesis: Synthesis) -> dict[str, Any]:
    (acl,) = synthesis.of_type("AWS::WAFv2::WebACL").values()
    properties: dict[str, Any] = acl["Properties"]
    return properties


def _matches(statement: dict[str, Any], path: str) -> bool:
    """AWS WAF's verdict on a request path for the statements the ACL uses (scope-downs)."""
    if "NotStatement" in statement:
        return not _matches(statement["NotStatement"]["Statement"], path)
    if "OrStatement" in statement:
        return any(_matches(s, path) for s in statement["OrStatement"]["Statements"])
    match = statement["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert match["PositionalConstraint"] == "STARTS_WITH"
    return path.startswith(match["SearchString"])


def _scopes(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    scopes = {}
    for rule in acl["Rules"]:
        statement = rule["Statement"]
        inner = statement.get("ManagedRuleGroupStatement") or statement["RateBasedStatement"]
        scopes[rule["Name"]] = inner["ScopeDownStatement"]
    return scopes


def test_the_web_acl_has_the_managed_rules_and_a_rate_per_ip_on_the_stage(synthesis: Synthesis) -> None:
    acl = _acl(synthesis)
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert list(rules) == ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "RatePerIp"]
    for name in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        group = rules[name]["Statement"]["ManagedRuleGroupStatement"]
        assert (group["VendorName"], group["Name"]) == ("AWS", name)
        assert rules[name]["OverrideAction"] == {"None": {}}  # the group's own block actions apply
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    # orders up to API Gateway's 256 KB body; shops' servers without a User-Agent
    assert [o["Name"] for o in common["RuleActionOverrides"]] == list(COUNTED_COMMON_RULES)
    assert all(o["ActionToUse"] == {"Count": {}} for o in common["RuleActionOverrides"])
    rate = rules["RatePerIp"]
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == DeploySettings().waf_rate_limit == 3000
    assert rate["Statement"]["RateBasedStatement"]["EvaluationWindowSec"] == 300
    assert rate["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert "rate_limited" in acl["CustomResponseBodies"]["rate_limited"]["Content"]
    # associated with the API's stage
    (association,) = synthesis.of_type("AWS::WAFv2::WebACLAssociation").values()
    (acl_id,) = synthesis.of_type("AWS::WAFv2::WebACL")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": "RestAPI"} in arn and {"Ref": "RestAPI.Stage"} in arn
    assert any(isinstance(part, str) and "/restapis/" in part for part in arn)


@pytest.mark.parametrize(("custom_domain", "prefix"), [(False, "/api"), (True, "")])
def test_no_rule_applies_to_twilios_webhooks_and_every_rule_to_the_shop_api(
    synthesis: Synthesis, custom_domain_synthesis: Synthesis, custom_domain: bool, prefix: str
) -> None:
    from app import app
    from chalicelib.twilio_webhooks import app as twilio_app

    chosen = custom_domain_synthesis if custom_domain else synthesis
    assert not custom_domain or CUSTOM_DOMAIN.count("/") == 2  # mapped without a base path
    scopes = _scopes(_acl(chosen))
    assert set(scopes) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "RatePerIp"}
    for path in twilio_app.routes:
        concrete = prefix + path.replace("{", "").replace("}", "")
        for name, scope in scopes.items():
            assert not _matches(scope, concrete), (name, concrete)
    shop_paths = [path for path in app.routes if not path.startswith("/twilio/")]
    assert "/v1/orders" in shop_paths
    for path in shop_paths:
        concrete = prefix + path.replace("{", "").replace("}", "")
        for name, scope in scopes.items():
            assert _matches(scope, concrete), (name, concrete)
    # a stranger cannot slip past by naming a Twilio path further down
    assert all(_matches(scope, f"{prefix}/v1/orders/twilio/x") for scope in scopes.values())


def test_a_custom_domain_with_a_base_path_excludes_that_path_too() -> None:
    from infra.waf import not_twilio, twilio_prefixes

    prefixes = twilio_prefixes("api", "https://kvitka.example/calls")
    assert prefixes == ["/api/twilio/", "/calls/twilio/", "/twilio/"]
    assert not _matches(not_twilio(prefixes), "/calls/twilio/voice/incoming")
    assert _matches(not_twilio(prefixes), "/calls/v1/orders")


def test_waf_is_a_setting(guardrails_off_synthesis: Synthesis) -> None:
    assert not guardrails_off_synthesis.of_type("AWS::WAFv2::WebACL")
    assert not guardrails_off_synthesis.of_type("AWS::WAFv2::WebACLAssociation")
    assert DeploySettings.from_context(Node({"waf_rate_limit": "500"})).waf_rate_limit == 500
    assert DeploySettings.from_context(Node({"waf": "false"})).waf is False
    with pytest.raises(ValueError, match="waf_rate_limit"):
        DeploySettings.from_context(Node({"waf_rate_limit": "5"}))
