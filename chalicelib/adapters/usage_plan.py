"""API Gateway's usage plan (issue #9): every shop API key has an API Gateway API key in the
deployment's usage plan, so API Gateway throttles and counts each shop key on its own.

The operator's CLI registers a key when it is issued and disables it when it is revoked, and only
against a deployment: ``USAGE_PLAN_ID`` (the stack's ``UsagePlanId`` output) says which plan.
Locally there is no API Gateway and no plan; the app's own digest check is the authority
everywhere. The boto3 client is made on first use, never at import.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from chalicelib.domain.api_keys import usage_identifier, usage_key_name

USAGE_PLAN_ENV = "USAGE_PLAN_ID"


class ApiGatewayUsagePlan:
    def __init__(self, usage_plan_id: str, client: Any = None) -> None:
        self.usage_plan_id = usage_plan_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # cold start: only the admin CLI

            self._client = boto3.client("apigateway")
        return self._client

    def _find(self, name: str) -> dict[str, Any] | None:
        pages = self.client.get_paginator("get_api_keys").paginate(nameQuery=name, includeValues=False)
        for page in pages:
            for item in page.get("items", []):
                if item.get("name") == name:  # nameQuery matches a prefix
                    return dict(item)
        return None

    def register(self, shop_id: str, key_id: str) -> str:
        """The API Gateway API key of ``key_id``, created (or enabled again) and in the plan;
        running it twice changes nothing. Returns its API Gateway id."""
        name = usage_key_name(shop_id, key_id)
        found = self._find(name)
        if found is None:
            created = self.client.create_api_key(
                name=name,
                description=f"meters shop {shop_id}'s key {key_id}; not a credential (key source: the authorizer)",
                enabled=True,
                value=usage_identifier(key_id),
                tags={"callcenter:shop": shop_id, "callcenter:key": key_id},
            )
            api_key_id = str(created["id"])
        else:
            api_key_id = str(found["id"])
            if not found.get("enabled", False):
                self.client.update_api_key(
                    apiKey=api_key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}]
                )
        with contextlib.suppress(self.client.exceptions.ConflictException):  # already in the plan
            self.client.create_usage_plan_key(usagePlanId=self.usage_plan_id, keyId=api_key_id, keyType="API_KEY")
        return api_key_id

    def revoke(self, shop_id: str, key_id: str) -> bool:
        """Disable the key's API Gateway API key and take it out of the plan; False when it had none."""
        found = self._find(usage_key_name(shop_id, key_id))
        if found is None:
            return False
        api_key_id = str(found["id"])
        self.client.update_api_key(
            apiKey=api_key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )
        with contextlib.suppress(self.client.exceptions.NotFoundException):  # not in the plan any more
            self.client.delete_usage_plan_key(usagePlanId=self.usage_plan_id, keyId=api_key_id)
        return True


def usage_plan_from_env() -> ApiGatewayUsagePlan | None:
    """The deployment's usage plan when ``USAGE_PLAN_ID`` names one; None locally."""
    usage_plan_id = os.environ.get(USAGE_PLAN_ENV, "").strip()
    return ApiGatewayUsagePlan(usage_plan_id) if usage_plan_id else None
