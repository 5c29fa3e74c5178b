"""The operator's `cli.admin create-shop` and `load` on a shop that exists (issue 16, item 10):
an update changes only what is given (merged over the stored settings), `--replace` replaces
the whole, and a bad update names its field and changes nothing. On moto, through the CLI's
entry function; the robot's dialing runs the real stream handlers with a fake Twilio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import OrderItem
from chalicelib.clock import FixedClock
from chalicelib.config import reload_settings
from chalicelib.domain.shop import ShopSettings
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import API_KEY, StreamReader, post_order

pytestmark = pytest.mark.integration

# How the operator set the shop up: its number shown on robot calls, who gets the report, how
# often the robot tries, and a currency other than the default.
SETUP = {
    "caller_id": "044 765 43 21",
    "report": {
        "hour": 7,
        "recipients": ["owner@kvitka.example", "manager@kvitka.example"],
        "sender": "r@kvitka.example",
    },
    "robot": {"max_attempts": 3, "max_concurrent_calls": 2},
}
CALLER_ID = "+380447654321"
ORDER = {"order_number": "K-1", "phone": "067 123-45-67", "customer_name": "Olena", "total": "500"}


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # only the command's own output (the app's metrics print too)
    code = admin_cli(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stored(shop_id: str) -> ShopSettings | None:
    return repository().get_shop(shop_id)


def robot_dials_from(
    client: Client,
    api_key: str,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,
    shop_id: str = "kvitka",
) -> str:
    """A new order of the shop goes through the pipeline; the number the robot's call shows."""
    before = len(telephony.placed)
    order_id = post_order(client, ORDER, api_key=api_key).json_body["id"]
    client.lambda_.invoke("order_stream", order_stream.next_event())
    assert OrderItem.get(*order_keys(shop_id, order_id), consistent_read=True).status == "queued"
    client.lambda_.invoke("task_stream", task_stream.next_event())
    assert len(telephony.placed) == before + 1, "the robot did not dial"
    return str(telephony.placed[-1]["from_"])


def set_up_kvitka(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys,
        "create-shop",
        *("--id", "kvitka", "--name", "Kvitka Flowers", "--currency", "EUR", "--languages", "uk,ru"),
        *("--settings", json.dumps(SETUP)),
    )
    assert (code, out, err) == (0, "shop kvitka saved\n", "")


def test_create_shop_on_the_demo_shop_with_the_usual_flags_keeps_its_caller_id_recipients_and_attempts(
    client: Client,
    clock: FixedClock,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the demo shop as config/demo.toml set it up (the aws fixture loads it)
    demo = stored("demo")
    assert demo is not None
    assert (demo.caller_id, demo.report.recipients, demo.robot.max_attempts) == (
        "+380441234567",
        ["owner@kvitka.example"],
        3,
    )

    # WHEN the operator runs the README's create-shop line for it, to drop English
    code, out, err = cli(
        capsys,
        "create-shop",
        *("--id", "demo", "--name", "Kvitka Flowers", "--region", "UA", "--timezone", "Europe/Kyiv"),
        *("--languages", "uk,ru"),
    )

    # THEN only the languages changed, and the robot still dials from the shop's number
    assert (code, out, err) == (0, "shop demo saved\n", "")
    shop = stored("demo")
    assert shop is not None and shop.languages == ["uk", "ru"]
    assert (shop.caller_id, shop.report.recipients, shop.robot.max_attempts) == (
        "+380441234567",
        ["owner@kvitka.example"],
        3,
    )
    assert shop.model_copy(update={"languages": demo.languages}) == demo
    assert robot_dials_from(client, API_KEY, order_stream, task_stream, telephony, "demo") == "+380441234567"


def test_create_shop_again_with_some_settings_keeps_the_rest_and_the_robot_still_dials_then_replace_replaces(
    client: Client,
    clock: FixedClock,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the operator's shop with its caller ID, report recipients and robot attempts, and a key
    set_up_kvitka(capsys)
    code, out, _ = cli(capsys, "create-api-key", "--shop", "kvitka")
    assert code == 0
    api_key = out.splitlines()[0].partition(": ")[2]
    first = stored("kvitka")
    assert first is not None and first.caller_id == CALLER_ID and first.robot.max_attempts == 3

    # WHEN the operator runs create-shop again to rename it and move the report an hour later
    code, out, err = cli(
        capsys,
        "create-shop",
        *("--id", "kvitka", "--name", "Kvitka Flowers & Co", "--settings", '{"report": {"hour": 8}}'),
    )

    # THEN only those changed: the caller ID, recipients, sender, attempts, currency and languages stay
    assert (code, out, err) == (0, "shop kvitka saved\n", "")
    shop = stored("kvitka")
    assert shop is not None
    assert shop.name == "Kvitka Flowers & Co" and shop.report.hour == 8
    assert shop.caller_id == CALLER_ID
    assert shop.report.recipients == ["owner@kvitka.example", "manager@kvitka.example"]
    assert shop.report.sender == "r@kvitka.example"
    assert (shop.robot.max_attempts, shop.robot.max_concurrent_calls) == (3, 2)
    assert (shop.currency, shop.languages) == ("EUR", ["uk", "ru"])
    assert shop.model_dump(exclude={"name": True, "report": {"hour"}}) == first.model_dump(
        exclude={"name": True, "report": {"hour"}}
    )
    # AND the robot still dials the shop's customers, from the shop's number
    assert robot_dials_from(client, api_key, order_stream, task_stream, telephony) == CALLER_ID

    # WHEN the operator replaces the settings on purpose
    code, out, err = cli(capsys, "create-shop", "--id", "kvitka", "--name", "Kvitka", "--replace")

    # THEN everything not given took its default (no caller ID: the robot cannot dial)
    assert (code, out, err) == (0, "shop kvitka saved\n", "")
    assert stored("kvitka") == ShopSettings(shop_id="kvitka", name="Kvitka")


def test_an_update_with_a_bad_setting_names_the_field_and_changes_nothing(
    aws: None, clock: FixedClock, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    set_up_kvitka(capsys)
    before = stored("kvitka")
    assert before is not None
    bad_toml = tmp_path / "kvitka.toml"
    bad_toml.write_text('caller_id = "+380440000000"\n[report]\nrecipients = ["not an address"]\n', encoding="utf-8")
    attempts: list[tuple[list[str], str]] = [
        (
            ["--settings", '{"robot": {"max_attempts": 50}}'],
            "robot.max_attempts: Input should be less than or equal to 10",
        ),
        (
            ["--settings", '{"robot": {"max_atempts": 4}}'],
            "robot.max_atempts: unknown field; did you mean 'max_attempts'?",
        ),
        (["--settings", '{"caller_id": "12"}'], "'12': "),
        (["--languages", "uk,de", "--settings", '{"robot": {"max_attempts": 4}}'], "languages.1: Input should be"),
        (["--settings-file", str(bad_toml)], "report.recipients.0: value is not a valid email address"),
        (["--settings", '{"robot": {"max_attempts": 4}'], "--settings: not valid JSON"),
        (["--settings", "[1, 2]"], "--settings: give a JSON object"),
        (["--timezone", "Europe/Kiev-ish"], "timezone: Value error, unknown time zone 'Europe/Kiev-ish'"),
    ]
    for args, problem in attempts:
        code, out, err = cli(capsys, "create-shop", "--id", "kvitka", *args)
        assert (code, out) == (2, ""), args
        assert err.startswith("error: ") and problem in err, (args, err)
        assert stored("kvitka") == before, args  # nothing changed, not even the valid part


def test_an_update_of_a_shop_that_does_not_exist_is_refused_unless_it_names_the_shop_to_create(
    aws: None, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # An update (no --name) of a shop that is not there: refused, nothing created
    code, out, err = cli(capsys, "create-shop", "--id", "kvitka", "--settings", '{"robot": {"max_attempts": 4}}')
    assert (code, out) == (2, "")
    assert err == "error: no shop 'kvitka' to update: give its name to create it\n"
    assert stored("kvitka") is None

    # With a name it is created: what was given, defaults for the rest
    code, out, err = cli(
        capsys, "create-shop", "--id", "kvitka", "--name", "Kvitka", "--settings", '{"robot": {"max_attempts": 4}}'
    )
    assert (code, out, err) == (0, "shop kvitka saved\n", "")
    created = stored("kvitka")
    assert created is not None
    assert created.robot.max_attempts == 4
    assert created.model_dump(exclude={"robot"}) == ShopSettings(shop_id="kvitka", name="Kvitka").model_dump(
        exclude={"robot"}
    )


def test_loading_a_file_over_a_shop_keeps_what_the_file_leaves_out_and_replace_replaces(
    aws: None, clock: FixedClock, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN the demo shop as config/demo.toml set it up (the aws fixture loads it)
    demo = stored("demo")
    assert demo is not None and demo.caller_id and demo.report.recipients and demo.robot.max_attempts == 3
    partial = tmp_path / "demo.toml"
    partial.write_text(
        '[[shops]]\nshop_id = "demo"\nname = "Kvitka"\n[shops.robot]\nmax_concurrent_calls = 7\n', encoding="utf-8"
    )

    # WHEN the operator loads a file that gives only a name and one robot setting
    code, out, err = cli(capsys, "load", str(partial))

    # THEN only those changed
    assert (code, err) == (0, "")
    assert out.startswith("loaded shops ['demo']")
    updated = stored("demo")
    assert updated is not None and updated.name == "Kvitka" and updated.robot.max_concurrent_calls == 7
    changed: Any = {"name": True, "robot": {"max_concurrent_calls"}}
    assert updated.model_dump(exclude=changed) == demo.model_dump(exclude=changed)

    # WHEN it is loaded with --replace THEN the file's settings are the whole of them
    assert cli(capsys, "load", str(partial), "--replace")[0] == 0
    replaced = stored("demo")
    assert replaced is not None
    assert (replaced.caller_id, replaced.report.recipients, replaced.robot.max_attempts) == (None, [], 5)
    assert replaced.robot.max_concurrent_calls == 7


@pytest.mark.parametrize("address", ["::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1"])
def test_a_crm_url_at_an_ipv6_form_of_loopback_or_the_metadata_address_is_refused_naming_the_field(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    # GIVEN a deployment in the cloud (not local mode) and a shop without a CRM
    monkeypatch.setenv("CALLCENTER_LOCAL", "false")
    reload_settings()
    set_up_kvitka(capsys)
    before = stored("kvitka")

    # WHEN the operator points the shop's CRM at the address
    crm = {"crm": {"url": f"https://[{address}]/hook", "secret_name": "kvitka-crm"}}
    code, out, err = cli(capsys, "create-shop", "--id", "kvitka", "--settings", json.dumps(crm))

    # THEN the update is refused naming crm.url and the shop keeps no CRM
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and "crm.url: " in err and "must not point at a" in err, err
    assert stored("kvitka") == before
