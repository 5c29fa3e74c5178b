"""A deployed stack's CloudFormation outputs, for the operator's CLI (``cli.admin twilio-numbers``)."""

from __future__ import annotations

from typing import Any


class StackNotFoundError(ValueError):
    """No such stack in the account and region of the AWS credentials."""


def stack_outputs(stack_name: str, client: Any = None) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` of ``stack_name``."""
    import boto3  # cold start: only the admin CLI
    from botocore.exceptions import ClientError

    cloudformation = client or boto3.client("cloudformation")
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            raise StackNotFoundError(f"no stack {stack_name!r} in this account and region (AWS_REGION?)") from None
        raise
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
