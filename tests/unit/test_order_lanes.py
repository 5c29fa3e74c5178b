"""A shop's orders spread over lanes, one customer's in one (#19): the orders stream then runs a
shop's customers in parallel and keeps one customer's records in order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from chalicelib.domain.order_lanes import ORDER_LANES, lane_of_id, lane_of_phone, order_key, shop_of_order_key
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import intake
from chalicelib.services.intake import new_order_id

NOON = datetime(2015, 11, 22, 10, 0, tzinfo=UTC)


def test_one_customers_orders_share_a_partition_key() -> None:
    ids = [new_order_id(NOON + timedelta(minutes=n), "+380671234567") for n in range(20)]
    assert len(set(ids)) == 20
    assert {order_key("demo", order_id) for order_id in ids} == {f"demo#{lane_of_phone('+380671234567')}"}


def test_a_thousand_customers_spread_roughly_evenly_over_the_lanes() -> None:
    lanes = Counter(lane_of_phone(f"+38067{n:07d}") for n in range(0, 10_000_000, 10_000))
    assert set(lanes) == set(range(ORDER_LANES))
    # 1,000 / 16 = 62.5 a lane on average
    assert max(lanes.values()) < 100 and min(lanes.values()) > 30, lanes


def test_an_ids_lane_is_its_customers_and_ids_stay_time_ordered() -> None:
    for n in range(200):
        phone = f"+38050{n:07d}"
        assert lane_of_id(new_order_id(NOON, phone)) == lane_of_phone(phone)
    earlier = new_order_id(NOON, "+380500000009")
    later = new_order_id(NOON + timedelta(milliseconds=1), "+380500000001")
    assert earlier < later


def test_the_lane_comes_from_the_phone_as_stored_e164_or_as_sent_when_invalid() -> None:
    shop = ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567"})
    valid = OrderIn.model_validate({"phone": "067 123-45-67", "total": "100"})
    invalid = OrderIn.model_validate({"phone": "12", "total": "100"})
    assert intake.stored_phone(shop, valid) == "+380671234567"
    assert intake.stored_phone(shop, invalid) == "12"


def test_ids_made_elsewhere_fall_back_to_a_hash_of_the_id() -> None:
    for foreign in ("o-d1", "ord_2", "ord-demo", "ord_0000000000000000000000", "ORD_0123456789ABCDEF012345"):
        lane = lane_of_id(foreign)
        assert 0 <= lane < ORDER_LANES
        assert lane_of_id(foreign) == lane  # the same every time: the order is found again
    assert len({lane_of_id(f"o-{n}") for n in range(200)}) == ORDER_LANES


def test_the_shop_comes_back_from_the_partition_key() -> None:
    assert shop_of_order_key(order_key("kvitka-2", "o-1")) == "kvitka-2"
