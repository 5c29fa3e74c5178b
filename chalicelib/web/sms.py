"""``POST /twilio/sms/incoming``: text messages to a shop's numbers."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.observability import logger
from chalicelib.web.http import current_request, twilio_webhook, twiml

sms = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(sms))
EMPTY_MESSAGING_RESPONSE = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@sms.route("/twilio/sms/incoming", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def incoming_sms(form: dict[str, str]) -> Response:
    # Replies and opt-outs (O10, O11) and agents' status keywords (A1) come with their issues.
    logger.info("inbound SMS received", extra={"from_number": form.get("From", ""), "to_number": form.get("To", "")})
    return twiml(EMPTY_MESSAGING_RESPONSE)
