"""``POST /twilio/sms/incoming``: text messages to a shop's numbers: customers' replies and
opt-outs (O10, O11), answered with a MessagingResponse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from twilio.twiml.messaging_response import MessagingResponse

from chalicelib.clock import current_clock
from chalicelib.domain.phones import normalise_phone
from chalicelib.observability import logger
from chalicelib.services import agents, bridging, messaging
from chalicelib.voice.catalog import load_catalog
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.wiring import inbound_links, inbound_store, repository, telephony

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

sms = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(sms))


@sms.route("/twilio/sms/incoming", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def incoming_sms(form: dict[str, str]) -> Response:
    reply = MessagingResponse()
    store = repository()
    route = store.shop_for_number(form.get("To", ""))
    if route is None:
        logger.warning("a text to a number of no shop", extra={"to_number": form.get("To", "")})
        return twiml(str(reply))
    shop, _group = route
    sender = normalise_phone(form.get("From", ""), shop.default_region)
    agent_reply = _agent_keyword(shop, sender.e164, form.get("Body", ""))
    if agent_reply is not None:
        reply.message(agent_reply)
        return twiml(str(reply))
    texts = messaging.receive_sms(
        shop,
        sender.stored,
        form.get("Body", ""),
        form.get("OptOutType") or None,
        form.get("MessageSid", ""),
        store=store,
        now=current_clock().now(),
    )
    for text in texts:
        reply.message(text)
    return twiml(str(reply))


def _agent_keyword(shop: ShopSettings, phone: str | None, body: str) -> str | None:
    """A1: READY / BREAK / AWAY / OFF from an agent's own phone sets their status; None when
    the text is not an agent's keyword (then it is a customer's message)."""
    status = agents.status_for_sms(body)
    if status is None or phone is None:
        return None
    agent = next((a for a in inbound_store().list_agents(shop.shop_id) if a.phone == phone), None)
    if agent is None:
        return None
    catalog = load_catalog(agent.languages[0] if agent.languages else shop.main_language)
    try:
        bridging.set_status(
            shop,
            agent.agent_id,
            status,
            store=inbound_store(),
            calls=telephony(),
            links=inbound_links(),
            now=current_clock().now(),
            source="sms",
        )
    except agents.StatusRefused as refused:
        return catalog.sms_text("agent_status_refused", shop_name=shop.name, reason=str(refused))
    return catalog.sms_text("agent_status_set", shop_name=shop.name, status=status)
