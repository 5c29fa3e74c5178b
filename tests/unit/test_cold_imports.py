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


def test_the_voice_handlers_path_loads_no_heavy_module() -> None:
    loaded = modules_loaded_by(VOICE_PATH)
    heavy = [m for m in loaded if any(m == name or m.startswith(name + ".") for name in HEAVY)]
    assert heavy == []
    assert "chalicelib.web.voice_inbound" in loaded  # the path was really imported


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
