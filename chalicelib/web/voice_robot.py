"""The robot confirmation call's webhooks (O7): what the customer hears and what a key does.

The URLs the app gives Twilio for a robot call carry the attempt they belong to (shop,
language, the call's orders, attempt number; see ``domain.robot_call_ref``), signed by Twilio
with the rest of the URL: the webhooks act on them without reading the task back."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.entities import Order
from chalicelib.domain.robot_call_ref import RobotCallRef, ref_from_params
from chalicelib.services import robot_call
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import ROBOT_PATH
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.wiring import repository, together, urls

voice_robot = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_robot))
FORM = ["application/x-www-form-urlencoded"]
REPLIES = {"confirm": "robot_confirmed", "cancel": "robot_cancelled", "agent": "robot_agent"}


def _ref(task_id: str) -> RobotCallRef | None:
    """The attempt named by the (signed) query of the URL Twilio called, if it names one."""
    query = current_request(voice_robot).query_params
    return ref_from_params(task_id, {key: query.getlist(key) for key in query} if query else None)


def _links(task_id: str, ref: RobotCallRef | None) -> tuple[str, str]:
    """The keypress and again URLs of this call, carrying its attempt on."""
    links, params = urls(), ref.params() if ref else None
    return links.robot_keypress(task_id, params), links.robot_again(task_id, params)


@voice_robot.route(f"{ROBOT_PATH}/{{task_id}}", methods=["POST"], content_types=FORM)
@webhook
def robot_answer(task_id: str, form: dict[str, str]) -> Response:
    ref = _ref(task_id)
    talk = robot_call.answer_robot_call(
        task_id,
        form.get("CallSid", ""),
        form.get("AnsweredBy"),
        store=repository(),
        now=current_clock().now(),
        ref=ref,
        together=together,
    )
    if talk is None:
        return twiml(render.hang_up())
    keypress_url, again_url = _links(task_id, ref)
    return twiml(
        render.robot_conversation(
            load_catalog(talk.language), talk.shop.name, talk.orders, keypress_url, again_url, greet=True
        )
    )


@voice_robot.route(f"{ROBOT_PATH}/{{task_id}}/again", methods=["POST"], content_types=FORM)
@webhook
def robot_again(task_id: str, form: dict[str, str]) -> Response:
    task = repository().get_task(task_id)
    if task is None:
        return twiml(render.hang_up())
    catalog = load_catalog(task.language)
    orders = _open_orders(task.shop_id, task.order_ids)
    if not orders:
        return twiml(render.say_and_hang_up(catalog, "robot_nothing_open"))
    keypress_url, _ = _links(task_id, _ref(task_id))
    return twiml(render.robot_last_chance(catalog, orders, keypress_url))


@voice_robot.route(f"{ROBOT_PATH}/{{task_id}}/keypress", methods=["POST"], content_types=FORM)
@webhook
def robot_keypress(task_id: str, form: dict[str, str]) -> Response:
    store, now, ref = repository(), current_clock().now(), _ref(task_id)
    pressed = robot_call.press_key(task_id, form.get("CallSid", ""), form.get("Digits"), store=store, now=now, ref=ref)
    return _reply(task_id, ref, pressed)


@voice_robot.route(f"{ROBOT_PATH}/{{task_id}}/cancel", methods=["POST"], content_types=FORM)
@webhook
def robot_cancel_check(task_id: str, form: dict[str, str]) -> Response:
    store, now, ref = repository(), current_clock().now(), _ref(task_id)
    pressed = robot_call.answer_cancel_check(
        task_id, form.get("CallSid", ""), form.get("Digits"), store=store, now=now, ref=ref
    )
    return _reply(task_id, ref, pressed)


def _reply(task_id: str, ref: RobotCallRef | None, pressed: robot_call.KeyPressed) -> Response:
    """What the customer hears after a key: the decision's reply, the cancel read back, the
    menu again, or "not an option"."""
    catalog = load_catalog(pressed.language or "en")
    if pressed.language is None:
        return twiml(render.say_and_hang_up(catalog, "system_error"))
    if pressed.action in REPLIES:
        return twiml(render.say_and_hang_up(catalog, pressed.overruled or REPLIES[pressed.action]))
    keypress_url, again_url = _links(task_id, ref)
    if pressed.action in ("repeat", "check_cancel"):
        store = repository()
        task = store.get_task(task_id)
        shop = store.get_shop(task.shop_id) if task else None
        if task is None or shop is None:
            return twiml(render.say_and_hang_up(catalog, "system_error"))
        orders = _open_orders(shop.shop_id, task.order_ids)
        if not orders:  # decided meanwhile (a text, the shop's cancel)
            return twiml(render.say_and_hang_up(catalog, "robot_nothing_open"))
        if pressed.action == "check_cancel":
            cancel_url = urls().robot_cancel_check(task_id, ref.params() if ref else None)
            return twiml(render.robot_cancel_check(catalog, orders, cancel_url, again_url))
        return twiml(render.robot_conversation(catalog, shop.name, orders, keypress_url, again_url, greet=False))
    return twiml(render.say_and_redirect(catalog, "robot_unknown_key", again_url))


def _open_orders(shop_id: str, order_ids: list[str]) -> list[Order]:
    return [o for o in repository().orders_by_ids(shop_id, order_ids) if o.status == "queued"]
