"""The storage expiry (TTL) of a customer's records (#18): the shop's ``privacy.retention_days``
from now by the wall clock (DynamoDB compares TTLs with its own clock, never business time).
The shop's settings come from the process's cache: a write never costs another read."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.adapters.dynamo.shops import ShopRepository
from chalicelib.clock import storage_expiry
from chalicelib.domain.shop import PrivacyPolicy

DEFAULT_RETENTION_DAYS = PrivacyPolicy().retention_days


def kept_until(shop_id: str) -> datetime:
    shop = ShopRepository().get_shop(shop_id)
    days = shop.privacy.retention_days if shop is not None else DEFAULT_RETENTION_DAYS
    return storage_expiry(timedelta(days=days))
