"""Shops: their settings, the phone numbers that route to them and their API keys (stored only
as SHA-256 digests). Read on every request, so cached per process (see config_cache for the
price)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.adapters.config_cache import TtlCache
from chalicelib.adapters.dynamo.schema import ApiKeyItem, PhoneNumberItem, ShopItem
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

M = TypeVar("M", bound=Model)
_shops, _number_routes, _api_key_shops = TtlCache(), TtlCache(), TtlCache()


def api_key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def by_digest(model: type[M], secret: str, digest_attribute: str) -> M | None:
    """The item stored under ``secret``'s digest (shop API keys, agents' tokens); None when
    unknown or revoked. The stored digest is compared in constant time."""
    digest = api_key_digest(secret)
    try:
        item = model.get(digest)
    except DoesNotExist:
        return None
    return item if hmac.compare_digest(getattr(item, digest_attribute), digest) else None


class ShopRepository:
    def get_shop(self, shop_id: str) -> ShopSettings | None:
        key = (ShopItem.Meta.table_name, shop_id)
        cached: ShopSettings | None = _shops.get(key)
        if cached is not None:
            return cached
        try:
            item = ShopItem.get(shop_id)
        except DoesNotExist:
            return None
        shop = _validated(item.settings)
        _shops.put(key, shop)
        return shop

    def list_shops(self) -> list[ShopSettings]:
        # The shops table holds configuration only (a handful of items), never activity.
        return [_validated(item.settings) for item in ShopItem.scan()]

    def save_shop(self, shop: ShopSettings, now: datetime) -> None:
        settings = json.loads(shop.model_dump_json())
        try:
            item = ShopItem.get(shop.shop_id)
            item.settings = settings
        except DoesNotExist:
            item = ShopItem(shop.shop_id, settings=settings, created_at=now)
        item.save()
        _shops.forget((ShopItem.Meta.table_name, shop.shop_id))

    def shop_for_number(self, number: str) -> tuple[ShopSettings, str] | None:
        if not number:  # DynamoDB refuses an empty key; a webhook without To has no shop
            return None
        key = (PhoneNumberItem.Meta.table_name, number)
        route: tuple[str, str] | None = _number_routes.get(key)
        if route is None:
            try:
                item = PhoneNumberItem.get(number)
            except DoesNotExist:
                return None
            route = (item.shop_id, item.group)
            _number_routes.put(key, route)
        shop = self.get_shop(route[0])
        return (shop, route[1]) if shop else None

    def routed_numbers(self) -> list[tuple[str, str, str]]:
        # A configuration table (a shop's handful of numbers): the operator's CLI reads it whole.
        return sorted((item.number, item.shop_id, item.group) for item in PhoneNumberItem.scan())

    def save_number(self, number: str, shop_id: str, group: str) -> None:
        PhoneNumberItem(number, shop_id=shop_id, group=group).save()
        _number_routes.forget((PhoneNumberItem.Meta.table_name, number))

    def shop_for_api_key(self, api_key: str) -> ShopSettings | None:
        digest = api_key_digest(api_key)
        key = (ApiKeyItem.Meta.table_name, digest)
        shop_id: str | None = _api_key_shops.get(key)
        if shop_id is None:
            owner = self.api_key_owner(api_key)
            if owner is None:
                return None
            shop_id = owner[0]
            _api_key_shops.put(key, shop_id)
        return self.get_shop(shop_id)

    def save_api_key(self, shop_id: str, api_key: str, key_id: str, now: datetime) -> None:
        ApiKeyItem(api_key_digest(api_key), shop_id=shop_id, key_id=key_id, created_at=now).save()
        _api_key_shops.forget((ApiKeyItem.Meta.table_name, api_key_digest(api_key)))

    def api_key_owner(self, api_key: str) -> tuple[str, str] | None:
        """(shop id, key id) of a shop API key, read every time (API Gateway's authorizer
        caches its answers itself); None when unknown or revoked."""
        item = by_digest(ApiKeyItem, api_key, "key_hash")
        return (item.shop_id, item.key_id) if item else None

    def api_key_ids(self) -> list[tuple[str, str]]:
        """(shop id, key id) of every shop API key (an operator's listing: a scan)."""
        return sorted(
            (item.shop_id, item.key_id) for item in ApiKeyItem.scan(attributes_to_get=["key_hash", "shop_id", "key_id"])
        )

    def revoke_api_key(self, key_id: str) -> str | None:
        """Delete the key ``key_id``; its shop id, or None when there was no such key."""
        shop_id = None
        for item in ApiKeyItem.scan(ApiKeyItem.key_id == key_id):
            item.delete()
            _api_key_shops.forget((ApiKeyItem.Meta.table_name, item.key_hash))
            shop_id = item.shop_id
        return shop_id


def _validated(stored: object) -> ShopSettings:
    # cold start: pydantic loads with the first shop read, not with the Twilio webhooks' import
    from chalicelib.domain.shop import ShopSettings

    return ShopSettings.model_validate(stored)


def configured_shops() -> Iterator[ShopSettings]:
    """Every shop's settings for the scheduled reports. The shops table is small config, so a
    Scan is fine here.

    A shop whose stored settings no longer validate is logged and left out, so it cannot
    stop the other shops' reports.
    """
    from pydantic import ValidationError  # cold start: as _validated

    for item in ShopItem.scan():
        try:
            yield _validated(item.settings)
        except ValidationError as error:
            logger.error(
                "Shop settings invalid: shop left out of the daily reports",
                extra={
                    "shop_id": item.shop_id,
                    "problems": [
                        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                        for problem in error.errors(include_url=False)
                    ],
                },
            )
