"""The API's access logs (#18; the infrastructure scan's CKV_AWS_76): one JSON line per request
in a log group of its own, kept as long as the functions' logs. The fields name the route's
template (``resourcePath``: ``/v1/orders/{order_id}``), never the path or query string, so no
phone number or token reaches the log.

API Gateway writes access logs with the account's CloudWatch role (``AWS::ApiGateway::Account``,
one per account and region): the stack sets it, with AWS's managed policy for exactly that.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "bytes": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "error": "$context.error.message",
    "wafStatus": "$context.waf.status",
}


def add_access_logs(
    scope: Construct, rest_api: cdk.CfnResource, *, api_name: str, retention_days: int
) -> logs.CfnLogGroup:
    role = iam.Role(
        scope,
        "ApiGatewayLogsRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        description="API Gateway writes the API's access logs to CloudWatch Logs",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        ],
    )
    account = apigateway.CfnAccount(scope, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    group = logs.CfnLogGroup(
        scope, "ApiAccessLogs", log_group_name=f"/aws/apigateway/{api_name}/access", retention_in_days=retention_days
    )
    rest_api.add_property_override(
        "AccessLogSetting", {"DestinationArn": group.attr_arn, "Format": json.dumps(ACCESS_LOG_FIELDS)}
    )
    rest_api.add_dependency(account)  # the stage refuses access logs until the account has the role
    return group
