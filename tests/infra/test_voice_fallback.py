"""The voice webhooks' static fallback (#18): API Gateway itself answers the number's Voice
Fallback URL with TwiML (a mock integration: no Lambda), an apology in the deployment's languages
and a voicemail recording, in Twilio's verbs Say, Record and Hangup only; no WAF rule, key or
authorizer stands in front of it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urljoin

import pytest

from chalicelib.domain.twilio_numbers import VOICE_FALLBACK_PATH
from chalicelib.voice.catalog import load_catalog
from infra.stack import DeploySettings
from infra.voice_fallback import RECORDED_PATH, fallback_twiml, recorded_twiml
from tests.infra.conftest import Synthesis
from tests.infra.test_tracing_option import Node
from tests.infra.test_waf import _acl, _matches, _scopes

pytestmark = pytest.mark.xdist_group("infra")

INTEGRATION = "x-amazon-apigateway-integration"
# Twilio's TwiML reference: the attributes each verb takes (https://www.twilio.com/docs/voice/twiml)
TWILIO_VERBS = {
    "Say": {"voice", "language", "loop"},
    "Record": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
        "transcribe",
        "transcribeCallback",
    },
    "Hangup": set(),
}


def _verbs(twiml: str) -> list[ET.Element]:
    root = ET.fromstring(twiml.encode("utf-8"))
    assert root.tag == "Response"
    verbs = list(root)
    for verb in verbs:
        assert verb.tag in TWILIO_VERBS, verb.tag  # Say, Record, Hangup only
        assert set(verb.attrib) <= TWILIO_VERBS[verb.tag], (verb.tag, verb.attrib)
        assert list(verb) == []  # no nested nouns
    assert verbs[-1].tag == "Hangup"
    return verbs


def _operations(synthesis: Synthesis, path: str) -> dict[str, Any]:
    operations: dict[str, Any] = synthesis.resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"][path]
    return operations


def test_api_gateway_answers_the_fallback_itself_with_static_twiml(synthesis: Synthesis) -> None:
    languages = DeploySettings().voice_fallback_languages
    for path, twiml in ((VOICE_FALLBACK_PATH, fallback_twiml(languages)), (RECORDED_PATH, recorded_twiml(languages))):
        operations = _operations(synthesis, path)
        assert set(operations) == {"get", "post"}  # Twilio's Voice Fallback Method, either way
        for operation in operations.values():
            integration = operation[INTEGRATION]
            assert integration["type"] == "mock"  # no Lambda: nothing of the app's to fail
            assert "security" not in operation  # no key, no authorizer: Twilio sends none
            assert integration["requestTemplates"]["application/x-www-form-urlencoded"] == '{"statusCode": 200}'
            answer = integration["responses"]["default"]
            assert answer["statusCode"] == "200"
            assert answer["responseParameters"] == {"method.response.header.Content-Type": "'application/xml'"}
            assert answer["responseTemplates"]["application/xml"] == twiml
            assert "$" not in twiml and "#" not in twiml  # nothing API Gateway's template language would read


def test_the_fallback_says_sorry_in_each_language_then_records_a_message_then_hangs_up() -> None:
    languages = DeploySettings().voice_fallback_languages
    assert languages == ("uk", "en", "ru")
    verbs = _verbs(fallback_twiml(languages))
    assert [v.tag for v in verbs] == ["Say"] * 2 * len(languages) + ["Record", "Hangup"]
    for index, language in enumerate(languages):
        catalog = load_catalog(language)
        sorry, leave = verbs[2 * index], verbs[2 * index + 1]
        assert (sorry.text, leave.text) == (catalog.prompts["fallback_sorry"], catalog.prompts["inbound_voicemail"])
        assert sorry.attrib == {"language": catalog.tts_language, "voice": catalog.voice}
    record = verbs[-2]
    assert record.attrib["playBeep"] == "true" and int(record.attrib["maxLength"]) <= 300
    # the action is relative: Twilio resolves it against the document's own URL, whatever the host
    for base in ("https://abc.execute-api.eu-central-1.amazonaws.com/api", "https://calls.kvitka.example"):
        assert urljoin(base + VOICE_FALLBACK_PATH, record.attrib["action"]) == base + RECORDED_PATH
    thanks = _verbs(recorded_twiml(languages))
    assert [v.tag for v in thanks] == ["Say"] * len(languages) + ["Hangup"]
    assert [v.text for v in thanks[:-1]] == [
        load_catalog(lang).prompts["inbound_voicemail_thanks"] for lang in languages
    ]


def test_no_waf_rule_stands_before_the_fallback_and_the_stack_names_its_url(synthesis: Synthesis) -> None:
    for scope in _scopes(_acl(synthesis)).values():
        assert not _matches(scope, f"/api{VOICE_FALLBACK_PATH}")
        assert not _matches(scope, f"/api{RECORDED_PATH}")
    output = synthesis.template["Outputs"]["VoiceFallbackUrl"]["Value"]
    assert output["Fn::Join"][1][-1].endswith(f"/api{VOICE_FALLBACK_PATH}")


def test_the_fallback_languages_are_a_setting_of_known_catalogs() -> None:
    assert DeploySettings.from_context(Node({"voice_fallback_languages": "en"})).voice_fallback_languages == ("en",)
    assert _verbs(fallback_twiml(["en"]))[0].text == "Sorry, we cannot take your call right now."
    with pytest.raises(ValueError, match="voice_fallback_languages"):
        DeploySettings.from_context(Node({"voice_fallback_languages": "uk,xx"}))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_local_gateway_serves_the_same_static_twiml(method: str) -> None:
    from app import app
    from devtools.local_gateway import ApiTestClient

    languages = DeploySettings().voice_fallback_languages
    with ApiTestClient(app) as client:
        answer = client.http.request(method, VOICE_FALLBACK_PATH + "?CallSid=CA1", body=b"CallSid=CA1")
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/xml"
        assert answer.body.decode() == fallback_twiml(languages)
        done = client.http.request(method, RECORDED_PATH)
        assert done.body.decode() == recorded_twiml(languages)
        assert client.http.request("PUT", VOICE_FALLBACK_PATH).status_code == 404  # as API Gateway: no route
