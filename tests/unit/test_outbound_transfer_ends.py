"""An outbound call whose transfer finds nobody once its first agent has left (#17): the customer
(on the app's own leg to them) is not hung up on in silence. They hear an apology and that an
agent will call back, and a callback task is made at once, in the group's queue at the call's
arrival (a callback keeps its place, I6); a repeated webhook makes no second one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.desk import DeskAgent
from chalicelib.domain.entities import Call
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.shop import DeskPolicy, ShopSettings
from chalicelib.services import outside_transfers
from chalicelib.services.transfers import target_gone

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
ARRIVED = NOW - timedelta(minutes=40)  # the callback's caller first rang then
OUTSIDE = "+380442345678"
SHOP = ShopSettings(
    shop_id="kvitka", name="Kvitka", languages=["uk", "en"], desk=DeskPolicy(transfer_numbers=[OUTSIDE])
)


def _apology(lang: str, called_back: bool = True) -> str:
    return f"https://calls.example.test/transfer-failed?lang={lang}" + ("" if called_back else "&callback=none")


def _requeue(lang: str) -> str:
    return f"https://calls.example.test/requeue?lang={lang}"


class Conferences:
    def __init__(self) -> None:
        self.held: list[tuple[str, bool]] = []

    def hold(self, room: str, call_sid: str, *, on: bool, music_url: str | None) -> bool:
        self.held.append((call_sid, on))
        return True

    def set_end_on_exit(self, room: str, call_sid: str, *, end: bool) -> bool:
        return True

    def remove(self, room: str, call_sid: str) -> bool:
        return True

    def end(self, room: str) -> None:
        pass

    def add(self, room: str, *, to: str, from_: str, label: str, status_url: str, ring_seconds: int) -> str:
        return "CAoutside"


class Control:
    def __init__(self) -> None:
        self.redirected: list[tuple[str, str]] = []
        self.ended: list[str] = []

    def redirect_call(self, call_sid: str, url: str) -> None:
        self.redirected.append((call_sid, url))

    def end_call(self, call_sid: str) -> None:
        self.ended.append(call_sid)


class Store:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.tasks: dict[str, tuple[str, str, datetime]] = {}
        self.queue: list[QueueEntry] = []

    def get_call(self, call_sid: str) -> Call | None:
        return self.call if call_sid == self.call.call_sid else None

    def update_call(self, call_sid: str, **fields: Any) -> None:
        assert call_sid == self.call.call_sid
        for name, value in fields.items():
            setattr(self.call, name, value)

    def desk_agent(self, shop_id: str, agent_id: str) -> DeskAgent | None:
        return DeskAgent(shop_id, agent_id, agent_id, "busy", self.call.call_sid)

    def release_agent(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def insert_callback_task(
        self, task_id: str, shop_id: str, phone: str, language: str, arrived_at: datetime, now: datetime
    ) -> bool:
        if task_id in self.tasks:
            return False
        self.tasks[task_id] = (phone, language, arrived_at)
        return True

    def add_queue_entry(self, entry: Any) -> None:
        self.queue.append(entry)


def _agent_first_callback(**fields: Any) -> Call:
    """A callback dialed agent-first: the record is the agent's leg, the customer's is the app's."""
    call = Call(
        call_sid="CAolehleg",
        shop_id="kvitka",
        direction="outbound-agent",
        customer_phone="+380671234567",
        shop_number="+380441234567",
        created_at=NOW - timedelta(minutes=3),
        day="2015-11-23",
        agent_id="oleh",
        agent_call_sid="CAolehleg",
        customer_call_sid="CAcustomer",
        result="agent-talked",
        language="uk",
        group="main",
        queued_at=ARRIVED,
    )
    for name, value in fields.items():
        setattr(call, name, value)
    return call


def test_an_unanswered_cold_transfer_of_an_outbound_call_apologises_and_calls_the_customer_back_in_place() -> None:
    # GIVEN Oleh's callback to a customer, handed cold to Anna, who does not answer
    call = _agent_first_callback(on_hold=True, transfer_to="anna", transfer_mode="cold", transfer_call_sid="CAanna")
    store, control = Store(call), Control()
    target_gone(
        call,
        missed=True,
        shop=SHOP,
        store=store,  # type: ignore[arg-type]
        conferences=Conferences(),
        control=control,
        requeue_url=_requeue,
        apology_url=_apology,
        now=NOW,
    )
    # THEN the customer's own leg hears the apology in their language; the call is not just ended
    assert control.redirected == [("CAcustomer", _apology("uk"))]
    assert control.ended == []
    # AND a callback task keeps the original arrival, in the group's queue at that place
    [(task_id, (phone, language, arrived))] = store.tasks.items()
    assert (phone, language, arrived) == ("+380671234567", "uk", ARRIVED)
    assert [(e.kind, e.ref, e.group, e.queued_at) for e in store.queue] == [("callback", task_id, "main", ARRIVED)]
    # AND the call record names the callback and is still a talked call, the transfer cleared
    assert (call.callback_task_id, call.result, call.transfer_to, call.on_hold) == (
        task_id,
        "agent-talked",
        None,
        False,
    )


def test_an_agent_first_call_whose_cold_transfer_finds_nobody_ends_its_record_keeping_its_agents() -> None:
    # GIVEN Oleh's agent-first call, talked for two minutes, handed cold to Anna: Oleh's leg (the
    # record) has left, its end skipped as a transfer's
    call = _agent_first_callback(
        answered_at=NOW - timedelta(minutes=2),
        status="in-progress",
        handled_by=["oleh"],
        on_hold=True,
        transfer_to="anna",
        transfer_mode="cold",
        transfer_call_sid="CAanna",
    )
    store = Store(call)
    # WHEN Anna does not answer
    target_gone(
        call,
        missed=True,
        shop=SHOP,
        store=store,  # type: ignore[arg-type]
        conferences=Conferences(),
        control=Control(),
        requeue_url=_requeue,
        apology_url=_apology,
        now=NOW,
    )
    # THEN the record ends now (the report and the timeline see a finished, talked call of Oleh's)
    assert (call.status, call.ended_at, call.duration_seconds) == ("completed", NOW, 120)
    assert (call.result, call.handled_by, call.agent_id) == ("agent-talked", ["oleh"], "oleh")


def test_a_customer_whose_number_takes_no_callback_hears_an_apology_that_promises_none() -> None:
    # GIVEN Oleh's agent-first call to a number the shop no longer calls (a US number, a UA
    # shop), handed cold to Anna, who does not answer
    call = _agent_first_callback(
        customer_phone="+12025550123",
        on_hold=True,
        transfer_to="anna",
        transfer_mode="cold",
        transfer_call_sid="CAanna",
    )
    store, control = Store(call), Control()
    target_gone(
        call,
        missed=True,
        shop=SHOP,
        store=store,  # type: ignore[arg-type]
        conferences=Conferences(),
        control=control,
        requeue_url=_requeue,
        apology_url=_apology,
        now=NOW,
    )
    # THEN no callback task is made, and the customer's apology is the one that promises none
    assert store.tasks == {} and store.queue == [] and call.callback_task_id is None
    assert control.redirected == [("CAcustomer", _apology("uk", called_back=False))]


def test_an_outside_number_that_does_not_answer_an_outbound_call_apologises_and_calls_back_once() -> None:
    # GIVEN a predictive call (the record is the customer's leg) sent to an outside number
    call = _agent_first_callback(
        call_sid="CApredictive",
        direction="outbound-predictive",
        customer_call_sid=None,
        result="agent",
        queued_at=None,
        group=None,
        transfer_number=OUTSIDE,
        transfer_mode="cold",
        transfer_call_sid="CAoutside",
        on_hold=True,
    )
    store, control = Store(call), Control()

    def outside_busy() -> bool:
        return outside_transfers.leg_ended(
            call,
            "CAoutside",
            "busy",
            shop=SHOP,
            store=store,  # type: ignore[arg-type]
            control=control,
            requeue_url=_requeue,
            apology_url=_apology,
            now=NOW,
        )

    # WHEN the number is busy
    assert outside_busy()
    # THEN the customer hears the apology (not the inbound queue) and is called back
    assert control.redirected == [("CApredictive", _apology("uk"))]
    [(task_id, (_, _, arrived))] = store.tasks.items()
    assert arrived == call.created_at  # due from the call's start
    assert store.queue == []  # no group's place to keep: the next free agent of any group takes it
    assert call.callback_task_id == task_id and call.result == "agent"
    assert call.ended_at is None  # the customer's leg is the record: its own status ends it
    # AND the same status again (Twilio retries a webhook) adds no second callback
    call.transfer_number, call.transfer_call_sid = OUTSIDE, "CAoutside"
    outside_busy()
    assert len(store.tasks) == 1 and control.redirected == [("CApredictive", _apology("uk"))] * 2


def test_an_outside_transfer_of_an_agent_first_call_holds_the_customers_leg_not_the_agents() -> None:
    call = _agent_first_callback()
    conferences = Conferences()
    outside_transfers.start(
        SHOP,
        "oleh",
        OUTSIDE,
        store=Store(call),  # type: ignore[arg-type]
        conferences=conferences,
        status_url="https://calls.example.test/outside-leg/status",
        music_url="https://calls.example.test/music.mp3",
        now=NOW,
    )
    assert conferences.held == [("CAcustomer", True)]
