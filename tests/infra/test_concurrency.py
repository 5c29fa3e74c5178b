"""Reserved concurrency (#18): a ceiling for the API handler and the Twilio webhooks from the
deployment's settings, a floor for each stream consumer, one run at a time for each schedule
(the dialing schedule's two firings never overlap), a throttled minute firing dropped rather than
queued; all of it off with ``reserved_concurrency=false``."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import ScheduledEventConfig

from chalicelib.wiring import STREAM_CONSUMERS
from infra.stack import DeploySettings
from infra.twilio_function import TWILIO_FUNCTION
from tests.infra.conftest import Synthesis, authorizer_id
from tests.infra.test_tracing_option import Node

pytestmark = pytest.mark.xdist_group("infra")


def _by_handler(synthesis: Synthesis) -> dict[str, str]:
    return {f["Properties"]["Handler"]: k for k, f in synthesis.of_type("AWS::Serverless::Function").items()}


def _reserved(synthesis: Synthesis, logical_id: str) -> Any:
    return synthesis.resources[logical_id]["Properties"].get("ReservedConcurrentExecutions")


def test_the_api_and_the_twilio_webhooks_have_their_ceilings_from_the_settings(synthesis: Synthesis) -> None:
    defaults = DeploySettings()
    assert _reserved(synthesis, "APIHandler") == defaults.api_reserved_concurrency == 50
    assert _reserved(synthesis, TWILIO_FUNCTION) == defaults.twilio_reserved_concurrency == 50
    assert _reserved(synthesis, authorizer_id(synthesis)) is None  # bounded by the stage's throttle


def test_each_schedule_runs_one_at_a_time_and_each_stream_consumer_has_its_floor(synthesis: Synthesis) -> None:
    from app import app

    by_handler = _by_handler(synthesis)
    schedules = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    assert "dial_due" in {s.name for s in schedules}
    invoke_configs = {
        c["Properties"]["FunctionName"]: c["Properties"]
        for c in synthesis.of_type("AWS::Lambda::EventInvokeConfig").values()
    }
    for schedule in schedules:
        logical_id = by_handler[schedule.handler_string]
        assert _reserved(synthesis, logical_id) == 1, schedule.name
        config = invoke_configs.get(synthesis.function_names[logical_id])
        if schedule.schedule_expression == "rate(1 minute)":
            # a firing throttled behind the running one is dropped, not queued for hours
            assert config == {
                "FunctionName": synthesis.function_names[logical_id],
                "Qualifier": "$LATEST",
                "MaximumEventAgeInSeconds": 60,
                "MaximumRetryAttempts": 0,
            }, schedule.name
        else:
            assert config is None, schedule.name  # the hourly report keeps Lambda's retries
    for name in STREAM_CONSUMERS.values():
        assert _reserved(synthesis, by_handler[f"app.{name}"]) == DeploySettings().stream_reserved_concurrency


def test_the_settings_change_the_ceilings_and_refuse_nonsense() -> None:
    settings = DeploySettings.from_context(
        Node({"api_reserved_concurrency": "80", "twilio_reserved_concurrency": 30, "stream_reserved_concurrency": 2})
    )
    assert (settings.api_reserved_concurrency, settings.twilio_reserved_concurrency) == (80, 30)
    assert settings.stream_reserved_concurrency == 2
    assert DeploySettings.from_context(Node({"reserved_concurrency": "false"})).reserved_concurrency is False
    with pytest.raises(ValueError, match="api_reserved_concurrency"):
        DeploySettings.from_context(Node({"api_reserved_concurrency": "-3"}))


def test_reserved_concurrency_false_reserves_nothing(guardrails_off_synthesis: Synthesis) -> None:
    for logical_id in guardrails_off_synthesis.function_names:
        assert _reserved(guardrails_off_synthesis, logical_id) is None, logical_id
    assert not guardrails_off_synthesis.of_type("AWS::Lambda::EventInvokeConfig")


def test_the_orders_stream_parallelization_is_a_setting_within_lambdas_range() -> None:
    assert DeploySettings.from_context(Node({"order_stream_parallelization": "4"})).order_stream_parallelization == 4
    for nonsense in ("0", "11"):
        with pytest.raises(ValueError, match=r"order_stream_parallelization: 1\.\.10"):
            DeploySettings.from_context(Node({"order_stream_parallelization": nonsense}))
