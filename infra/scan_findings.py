"""The independent infrastructure scan (#18): checkov over the synthesised template runs in
`make test` (tests/infra/test_checkov.py) and fails on any finding not accepted here. Each
accepted finding is written into its resource's ``Metadata.checkov.skip`` with the reason, where
checkov (and a reviewer reading the template) finds it.

What the scan found and we fixed instead lives in the stack: the API's X-Ray tracing and access
logs (infra/api_logs.py), the report schedule's dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from constructs import IConstruct

FUNCTION = "AWS::Serverless::Function"


@dataclass(frozen=True)
class Accepted:
    check_id: str
    reason: str
    applies: Callable[[str, str], bool]  # (resource type, logical id) -> whether it applies


def _of_type(*types: str) -> Callable[[str, str], bool]:
    return lambda resource_type, _logical_id: resource_type in types


def _functions(logical_ids: Collection[str]) -> Callable[[str, str], bool]:
    ids = frozenset(logical_ids)
    return lambda resource_type, logical_id: resource_type == FUNCTION and logical_id in ids


def accepted_findings(
    *, synchronous: Collection[str], stream_consumers: Collection[str], minute_schedules: Collection[str], tracing: bool
) -> list[Accepted]:
    """Every finding the deployment accepts, with why; the functions by logical id."""
    accepted = [
        Accepted(
            "CKV_AWS_117",
            "no VPC: the functions reach only AWS APIs and Twilio over TLS; a VPC would add NAT gateways "
            "(about 32 USD a month each) to a deployment that otherwise costs cents",
            _of_type(FUNCTION),
        ),
        Accepted(
            "CKV_AWS_173",
            "the environment holds names and settings, never a secret (secrets are read from SSM at run "
            "time); Lambda encrypts it at rest with its AWS-managed key",
            _of_type(FUNCTION),
        ),
        Accepted(
            "CKV_AWS_119",
            "encrypted at rest with DynamoDB's AWS-owned key; a customer-managed key costs 1 USD a month "
            "per key plus a KMS request per read, and the operator can switch tables to one in the console",
            _of_type("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"),
        ),
        Accepted(
            "CKV_AWS_158",
            "CloudWatch Logs encrypts every log group at rest; the logs hold masked phone numbers only",
            _of_type("AWS::Logs::LogGroup"),
        ),
        Accepted(
            "CKV_AWS_27",
            "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled, tests/infra check it); "
            "checkov's rule knows only KMS keys",
            _of_type("AWS::SQS::Queue"),
        ),
        Accepted(
            "CKV_AWS_26",
            "the topic carries alarm names and figures, no customer data; CloudWatch cannot publish to a "
            "topic under SNS's AWS-managed key, and a customer-managed key costs 1 USD a month",
            _of_type("AWS::SNS::Topic"),
        ),
        Accepted(
            "CKV_AWS_120",
            "every answer is per shop key and changes by the second (orders, live figures); a cache "
            "would serve stale or another request's data",
            _of_type("AWS::Serverless::Api", "AWS::ApiGateway::Stage"),
        ),
        Accepted(
            "CKV_AWS_116",
            "invoked synchronously (API Gateway): the caller gets the error; Lambda never queues these "
            "events, so a dead-letter queue would receive nothing",
            _functions(synchronous),
        ),
        Accepted(
            "CKV_AWS_116",
            "a stream consumer: failed batches go to the event source mapping's on-failure queue "
            "(<function>FailedRecords, alarmed), not to a function DLQ, which streams never use",
            _functions(stream_consumers),
        ),
        Accepted(
            "CKV_AWS_116",
            "a minute schedule: the next minute's firing does the same work, so a failed or throttled "
            "run is dropped on purpose (no retries, 60 s event age) and shows in its Errors alarm",
            _functions(minute_schedules),
        ),
        Accepted(
            "CKV_AWS_115",
            "the shop key authorizer answers API Gateway, whose stage throttles bound it; reserving its "
            "executions would take them from the account's pool for nothing",
            lambda resource_type, logical_id: resource_type == FUNCTION and logical_id == "ShopKeyAuthorizer",
        ),
    ]
    if not tracing:
        accepted.append(
            Accepted(
                "CKV_AWS_73",
                "X-Ray is off in this deployment's settings (tracing=false, to spare the cold start)",
                _of_type("AWS::Serverless::Api", "AWS::ApiGateway::Stage"),
            )
        )
    return accepted


@jsii.implements(cdk.IAspect)
class AcceptFindings:
    """Writes each resource's accepted findings into its Metadata as checkov reads them."""

    def __init__(self, accepted: list[Accepted]) -> None:
        self.accepted = accepted

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cdk.CfnResource):
            return
        logical_id = cdk.Stack.of(node).resolve(node.logical_id)
        skips = [
            {"id": finding.check_id, "comment": finding.reason}
            for finding in self.accepted
            if finding.applies(node.cfn_resource_type, logical_id)
        ]
        if skips:
            node.add_metadata("checkov", {"skip": skips})
