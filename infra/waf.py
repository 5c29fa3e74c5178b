"""An AWS WAF web ACL on the API's stage (#18): AWS's managed common rule set and known bad inputs,
and a rate limit per client IP, none of them on Twilio's webhooks.

Twilio's requests are signed (every webhook checks ``X-Twilio-Signature`` before reading a
parameter) and come from Twilio's many addresses, several calls' webhooks from one of them at a
time: a rate rule per IP would refuse a busy number's calls, and a caller's speech or a
customer's text that reads like a script or a path ("<script>", "../") must still reach the app.
So every rule is scoped to requests whose path does not start with a Twilio prefix: the stage's
(``/api/twilio/``, the execute-api URL), a custom domain's base path's (``/calls/twilio/``) and
the bare one (``/twilio/``, a custom domain mapped without a path).

Two rules of the common set count instead of blocking, each for a reason of this API:
``SizeRestrictions_BODY`` (bodies over 8 KB: an order may be up to API Gateway's 256 KB; the app
checks its own limits) and ``NoUserAgent_HEADER`` (a shop's server-side integration need not
send one; the shop key is what identifies it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aws_cdk as cdk
from constructs import Construct

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY", "NoUserAgent_HEADER")
RATE_WINDOW_SECONDS = 300
TWILIO_PATH = "twilio/"


def twilio_prefixes(stage: str, public_base_url: str | None) -> list[str]:
    """The URI path prefixes WAF sees on Twilio's webhooks, however the API is reached."""
    prefixes = {f"/{TWILIO_PATH}", f"/{stage}/{TWILIO_PATH}"}
    if public_base_url:
        base_path = urlsplit(public_base_url).path.strip("/")
        if base_path:
            prefixes.add(f"/{base_path}/{TWILIO_PATH}")
    return sorted(prefixes)


def not_twilio(prefixes: list[str]) -> dict[str, Any]:
    """A statement matching every request whose path starts with none of ``prefixes``."""
    matches = [
        {
            "ByteMatchStatement": {
                "FieldToMatch": {"UriPath": {}},
                "PositionalConstraint": "STARTS_WITH",
                "SearchString": prefix,
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            }
        }
        for prefix in prefixes
    ]
    either = matches[0] if len(matches) == 1 else {"OrStatement": {"Statements": matches}}
    return {"NotStatement": {"Statement": either}}


def _visibility(name: str) -> dict[str, Any]:
    return {"CloudWatchMetricsEnabled": True, "MetricName": name, "SampledRequestsEnabled": True}


def _managed(name: str, priority: int, scope: dict[str, Any], counted: tuple[str, ...] = ()) -> dict[str, Any]:
    group: dict[str, Any] = {"VendorName": "AWS", "Name": name, "ScopeDownStatement": scope}
    if counted:
        group["RuleActionOverrides"] = [{"Name": rule, "ActionToUse": {"Count": {}}} for rule in counted]
    return {
        "Name": name,
        "Priority": priority,
        "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": group},
        "VisibilityConfig": _visibility(name),
    }


def web_acl_rules(prefixes: list[str], rate_limit: int) -> list[dict[str, Any]]:
    scope = not_twilio(prefixes)
    return [
        _managed(COMMON_RULE_SET, 0, scope, COUNTED_COMMON_RULES),
        _managed(KNOWN_BAD_INPUTS, 1, scope),
        {
            "Name": "RatePerIp",
            "Priority": 2,
            "Action": {
                "Block": {
                    "CustomResponse": {
                        "ResponseCode": 429,
                        "CustomResponseBodyKey": "rate_limited",
                    }
                }
            },
            "Statement": {
                "RateBasedStatement": {
                    "Limit": rate_limit,
                    "EvaluationWindowSec": RATE_WINDOW_SECONDS,
                    "AggregateKeyType": "IP",
                    "ScopeDownStatement": scope,
                }
            },
            "VisibilityConfig": _visibility("RatePerIp"),
        },
    ]


def add_web_acl(
    scope: Construct, *, name: str, rest_api_id: str, stage_ref: str, prefixes: list[str], rate_limit: int
) -> cdk.CfnResource:
    """The regional web ACL and its association with the API's stage."""
    acl = cdk.CfnResource(
        scope,
        "ApiWebAcl",
        type="AWS::WAFv2::WebACL",
        properties={
            "Name": name,
            "Scope": "REGIONAL",
            "Description": "Call center API - AWS managed rules and a rate per IP, never on the Twilio webhooks",
            "DefaultAction": {"Allow": {}},
            "Rules": web_acl_rules(prefixes, rate_limit),
            "CustomResponseBodies": {
                "rate_limited": {
                    "ContentType": "APPLICATION_JSON",
                    "Content": '{"error": "rate_limited", "message": "too many requests from this address: '
                    'slow down and retry with backoff"}',
                }
            },
            "VisibilityConfig": _visibility(name),
        },
    )
    cdk.CfnResource(
        scope,
        "ApiWebAclAssociation",
        type="AWS::WAFv2::WebACLAssociation",
        properties={
            # The stage's reference (its name) also makes CloudFormation create the stage first.
            "ResourceArn": (
                f"arn:{cdk.Aws.PARTITION}:apigateway:{cdk.Aws.REGION}::/restapis/{rest_api_id}/stages/{stage_ref}"
            ),
            "WebACLArn": acl.get_att("Arn").to_string(),
        },
    )
    return acl
