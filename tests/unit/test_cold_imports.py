"""What a cold start of the voice webhooks loads: checked in a fresh interpreter, since this
test process has imported everything already. Heavy modules belong to the code paths that
need them (REST calls to Twilio, e-mail templates, chart images, infrastructure) and the X-Ray
SDK only to a Lambda with tracing on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.observability import tracing_enabled

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("twilio.rest", "jinja2", "PIL", "matplotlib", "aws_cdk", "aws_xray_sdk")
# Imported where first used, not with the app: parsing a phone number (order intake, dialing
# hours, a shop's settings), checking an e-mail address (a shop's report recipients), and the
# consumers of the orders and outcomes streams.
LAZY = (
    "phonenumbers",
    "email_validator",
    "chalicelib.adapters.dynamo.crm_outbox",
    "chalicelib.services.intake",
    "chalicelib.services.order_events",
)
VOICE_PATH = """
import json, sys
import app
from chalicelib.web import voice_inbound, voice_robot, voice_status
from chalicelib.services import inbound, robot_call
from chalicelib.voice import inbound_twiml, twiml
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def _among(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in loaded if any(m == name or m.startswith(name + ".") for name in names)]


def test_the_voice_handlers_path_loads_no_heavy_module() -> None:
    loaded = modules_loaded_by(VOICE_PATH)
    assert _among(loaded, HEAVY) == []
    assert _among(loaded, LAZY) == []
    assert "chalicelib.web.voice_inbound" in loaded  # the path was really imported


def test_the_lazy_modules_still_load_where_they_are_used() -> None:
    """The laziness is real deferral, not removal: a phone number parsed and an address checked
    load them (so the list above would catch them creeping back to import time)."""
    loaded = modules_loaded_by(
        VOICE_PATH.replace(
            "print(",
            "from chalicelib.domain.phones import normalise_phone\n"
            "from chalicelib.domain.shop import ReportPolicy\n"
            "assert normalise_phone('067 123-45-67', 'UA').e164 == '+380671234567'\n"
            "ReportPolicy.model_validate({'recipients': ['owner@example.com']})\n"
            "print(",
        )
    )
    assert {"phonenumbers", "email_validator"} <= set(loaded)


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),  # tests, scripts, the local stack
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),  # chalice local
    ],
)
def test_tracing_is_on_only_inside_lambda_unless_disabled(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled() is enabled
