"""The robot confirmation call's webhooks (O7): what the customer hears and what a key does."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.entities import Order
from chalicelib.services import robot_call
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.wiring import repository, urls

voice_robot = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_robot))
FORM = ["application/x-www-form-urlencoded"]
REPLIES = {"confirm": "robot_confirmed", "cancel": "robot_cancelled", "agent": "robot_agent"}


@voice_robot.route("/twilio/voice/robot/{task_id}", methods=["POST"], content_types=FORM)
@webhook
def robot_answer(task_id: str, form: dict[str, str]) -> Response:
    talk = robot_call.answer_robot_call(
        task_id, form.get("CallSid", ""), form.get("AnsweredBy"), store=repository(), now=current_clock().now()
    )
    if talk is None:
        return twiml(render.hang_up())
    links = urls()
    return twiml(
        render.robot_conversation(
            load_catalog(talk.language),
            talk.shop.name,
            talk.orders,
            links.robot_keypress(task_id),
            links.robot_again(task_id),
            greet=True,
        )
    )


@voice_robot.route("/twilio/voice/robot/{task_id}/again", methods=["POST"], content_types=FORM)
@webhook
def robot_again(task_id: str, form: dict[str, str]) -> Response:
    task = repository().get_task(task_id)
    if task is None:
        return twiml(render.hang_up())
    catalog = load_catalog(task.language)
    orders = _open_orders(task.shop_id, task.order_ids)
    if not orders:
        return twiml(render.say_and_hang_up(catalog, "robot_nothing_open"))
    return twiml(render.robot_last_chance(catalog, orders, urls().robot_keypress(task_id)))


@voice_robot.route("/twilio/voice/robot/{task_id}/keypress", methods=["POST"], content_types=FORM)
@webhook
def robot_keypress(task_id: str, form: dict[str, str]) -> Response:
    store, now = repository(), current_clock().now()
    pressed = robot_call.press_key(task_id, form.get("CallSid", ""), form.get("Digits"), store=store, now=now)
    task = pressed.task
    shop = store.get_shop(task.shop_id) if task else None
    catalog = load_catalog(task.language if task else "en")
    if task is None or shop is None:
        return twiml(render.say_and_hang_up(catalog, "system_error"))
    links = urls()
    if pressed.action in REPLIES:
        return twiml(render.say_and_hang_up(catalog, REPLIES[pressed.action]))
    if pressed.action == "repeat":
        orders = _open_orders(shop.shop_id, task.order_ids)
        return twiml(
            render.robot_conversation(
                catalog, shop.name, orders, links.robot_keypress(task_id), links.robot_again(task_id), greet=False
            )
        )
    return twiml(render.say_and_redirect(catalog, "robot_unknown_key", links.robot_again(task_id)))


def _open_orders(shop_id: str, order_ids: list[str]) -> list[Order]:
    return [o for o in repository().orders_by_ids(shop_id, order_ids) if o.status == "queued"]
