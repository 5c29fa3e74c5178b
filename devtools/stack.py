"""The whole system on one machine (P2): DynamoDB Local, the Chalice app on loopback, stream
records delivered to the same handlers Lambda would call, schedules fired on a clock that may
run faster than real time, email into an outbox, and the Twilio stand-in (or, for ``make run``
given a real account's credentials and a tunnel's public URL, real Twilio: devtools.twilio_mode).

``python -m devtools.stack`` (``make run``) serves it until Ctrl-C; tests and the demo use
``LocalStack`` as a context manager.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from chalicelib.clock import Clock, SystemClock, use_clock, use_wall_clock
from devtools.dynamodb_local import DynamoDBLocal
from devtools.quiet import Quiet, poller_busy
from devtools.scheduler import ScheduledJob, Scheduler
from devtools.ses_sink import SesSink
from devtools.stream_poller import StreamConsumer, StreamPoller
from devtools.twilio_mode import RealTwilio, TwilioModeError, choose_twilio, read_dotenv
from devtools.twilio_standin import TwilioStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = PROJECT_ROOT / "config" / "demo.toml"
STATE_FILE = PROJECT_ROOT / ".local" / "stack.json"
DOTENV = PROJECT_ROOT / ".env"  # make run's real Twilio settings (README: "Real Twilio calls")
LOCAL_REGION = "eu-central-1"
LOCAL_ACCOUNT_SID = "AC" + "0" * 31 + "1"
LOCAL_AUTH_TOKEN = "local-auth-token-not-a-secret"  # noqa: S105 - the local stand-in only
LOCAL_RECORDING_LINK_SECRET = "local-recording-link-key-not-a-secret"  # noqa: S105 - local links only
# The agents' softphone tokens (issue 17): a local API key and TwiML App; real ones come from .env.
LOCAL_API_KEY_SID = "SK" + "0" * 31 + "1"
LOCAL_API_KEY_SECRET = "local-api-key-secret-not-a-secret"  # noqa: S105 - the local stand-in only
LOCAL_TWIML_APP_SID = "AP" + "0" * 31 + "1"
SOFTPHONE_VARIABLES = ("TWILIO_API_KEY_SID", "TWILIO_API_KEY_SECRET", "TWILIO_TWIML_APP_SID")

log = logging.getLogger(__name__)


@dataclass
class StackOptions:
    config_path: Path = DEMO_CONFIG
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    clock: Clock = field(default_factory=SystemClock)
    outbox_dir: Path = PROJECT_ROOT / "outbox"
    standin_speed: float = 0.0  # virtual call seconds per real second; 0: calls run without sleeping
    run_schedules: bool = True
    state_file: Path | None = None  # written for `make call` while `make run` serves
    verified_senders: set[str] | None = None
    real_twilio: RealTwilio | None = None  # None: the stand-in


def stream_consumers(handlers: Mapping[str, Any], stream_arn: Callable[[str], str]) -> list[StreamConsumer]:
    """The local stream consumers, configured as the deployed event source mappings."""
    from chalicelib.wiring import STREAM_CONSUMERS
    from infra.streams import parallelization_factors  # the deployed defaults, without CDK

    return [
        StreamConsumer(
            name=function,
            stream_arn=stream_arn(table),
            handler=handlers[function],
            bisect_on_error=True,
            parallelization=parallelization_factors()[function],
        )
        for table, function in STREAM_CONSUMERS.items()
    ]


def _request_handler_base() -> type:
    from devtools.local_gateway import ApiRequestHandler

    return ApiRequestHandler


class _LoggingRequestHandler(_request_handler_base()):  # type: ignore[misc]
    """Chalice's local handler, answering unknown paths and OPTIONS as the deployed API Gateway
    does (devtools.local_gateway), with its access lines sent to logging instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class LocalStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.dynamodb = DynamoDBLocal(PROJECT_ROOT, region=LOCAL_REGION)
        self.ses = SesSink(self.options.outbox_dir, region=LOCAL_REGION, clock=self.options.clock)
        self.standin = TwilioStandIn(
            account_sid=LOCAL_ACCOUNT_SID,
            auth_token=self._auth_token(),
            speed=self.options.standin_speed,
            clock=self.options.clock.now,
            hold_music_on_clock=True,  # at speed 0 hold music lasts minutes of the stack's clock
        )
        self.poller: StreamPoller | None = None
        self.scheduler: Scheduler | None = None
        self.api_url = ""
        self.numbers: list[str] = []  # the shops' numbers of the loaded config
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._saved_environ: dict[str, str] = {}
        self.app_module: ModuleType | None = None

    @staticmethod
    def _auth_token() -> str:
        return os.environ.get("TWILIO_AUTH_TOKEN") or LOCAL_AUTH_TOKEN

    # ---- lifecycle --------------------------------------------------------------------
    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._saved_environ = dict(os.environ)
        self.dynamodb.start()
        self.ses.start()
        real = self.options.real_twilio
        if real is None:
            self.standin.start()
        server = self._bind_app_server()
        self.api_url = f"http://{self.options.host}:{server.server.server_address[1]}"
        os.environ.update(self.dynamodb.env())
        os.environ.update(
            {
                "AWS_REGION": LOCAL_REGION,
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_ENDPOINT_URL_SES": self.ses.base_url,
                "RECORDING_LINK_SECRET": os.environ.get("RECORDING_LINK_SECRET") or LOCAL_RECORDING_LINK_SECRET,
                "POWERTOOLS_METRICS_NAMESPACE": "CallCenterLocal",
                "CALLCENTER_LOCAL": "1",  # a shop's CRM may be http on loopback (devtools.crm_receiver)
            }
        )
        os.environ.update(self._twilio_environ(real))
        if real is not None:
            os.environ.pop("TWILIO_API_BASE_URL", None)  # the SDK talks to api.twilio.com
        self._forget_cached_clients()
        use_clock(self.options.clock)

        from chalicelib.adapters.dynamo.schema import create_tables
        from chalicelib.services.admin import load_config
        from chalicelib.wiring import repository

        create_tables()
        summary = load_config(self.options.config_path, store=repository(), now=self.options.clock.now())
        self.numbers = list(summary.numbers)
        for number in summary.numbers if real is None else ():
            # As a shop's developer sets the number up in Twilio's console (see the README).
            self.standin.register_number(
                number,
                voice_url=f"{self.api_url}/twilio/voice/incoming",
                status_callback_url=f"{self.api_url}/twilio/voice/status",
                sms_url=f"{self.api_url}/twilio/sms/incoming",
            )
        self._server = server
        self._server_thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
        self._server_thread.start()
        self.poller = self._start_poller()
        if self.options.run_schedules:
            self.scheduler = Scheduler(self.options.clock, self._scheduled_jobs(), region=LOCAL_REGION).start()
        if self.options.state_file:
            self._write_state(self.options.state_file)
        twilio = f"real Twilio at {real.public_base_url}" if real else f"stand-in {self.standin.base_url}"
        log.info("local stack up: api %s, %s, outbox %s", self.api_url, twilio, self.ses.outbox_dir)

    def _twilio_environ(self, real: RealTwilio | None) -> dict[str, str]:
        if real is not None:
            dotenv = read_dotenv(DOTENV)
            softphone = {name: os.environ.get(name) or dotenv.get(name) or "" for name in SOFTPHONE_VARIABLES}
            return {name: value for name, value in softphone.items() if value} | {
                "TWILIO_ACCOUNT_SID": real.account_sid,
                "TWILIO_AUTH_TOKEN": real.auth_token,
                "PUBLIC_BASE_URL": real.public_base_url,  # Twilio signs and calls the tunnel's URL
            }
        return {
            "TWILIO_API_KEY_SID": LOCAL_API_KEY_SID,
            "TWILIO_API_KEY_SECRET": LOCAL_API_KEY_SECRET,
            "TWILIO_TWIML_APP_SID": LOCAL_TWIML_APP_SID,
            "TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": self._auth_token(),
            "TWILIO_API_BASE_URL": self.standin.base_url,
            "PUBLIC_BASE_URL": self.api_url,
        }

    def _bind_app_server(self) -> Any:
        from chalice.config import Config
        from chalice.local import LocalChalice, LocalDevServer, create_local_server

        import app as app_module

        self.app_module = app_module
        config = Config.create(chalice_stage="dev", app_name="callcenter", lambda_timeout=60)
        if isinstance(app_module.app, LocalChalice):  # an earlier stack in this process adapted it already
            server = LocalDevServer(app_module.app, config, self.options.host, self.options.port)
        else:
            server = create_local_server(app_module.app, config, self.options.host, self.options.port)
        server.server.RequestHandlerClass = functools.partial(
            _LoggingRequestHandler, app_object=app_module.app, config=config
        )
        return server

    def _forget_cached_clients(self) -> None:
        from chalicelib.adapters.dynamo.schema import reset_connections
        from chalicelib.config import reload_settings
        from chalicelib.wiring import forget_clients

        # Each use keeps its own Powertools persistence layer (a layer keeps the first config
        # it is given), so each is rebuilt against this stack's DynamoDB Local.
        reload_settings()
        reset_connections()
        forget_clients()

    def _start_poller(self) -> StreamPoller:
        import boto3

        from chalicelib.adapters.dynamo.schema import table_name

        assert self.app_module is not None
        dynamodb = boto3.client("dynamodb", region_name=LOCAL_REGION, endpoint_url=self.dynamodb.endpoint_url)
        consumers = stream_consumers(
            self.app_module.app.handler_map,
            lambda table: str(dynamodb.describe_table(TableName=table_name(table))["Table"]["LatestStreamArn"]),
        )
        failure_log = PROJECT_ROOT / ".local" / "stream-failures.jsonl"
        return StreamPoller(
            consumers, region=LOCAL_REGION, endpoint_url=self.dynamodb.endpoint_url, failure_log=failure_log
        ).start()

    def _scheduled_jobs(self) -> list[ScheduledJob]:
        assert self.app_module is not None
        app = self.app_module.app
        jobs = []
        for source in app.event_sources:
            expression = getattr(source, "schedule_expression", None)
            if expression is None:
                continue
            jobs.append(ScheduledJob(source.name, str(expression), app.handler_map[source.name]))
        return jobs

    def _write_state(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "api_url": self.api_url,
            **({} if self.options.real_twilio else {"standin_url": self.standin.base_url}),
            "outbox": str(self.ses.outbox_dir),
            "dynamodb_endpoint": self.dynamodb.endpoint_url,
            "pid": os.getpid(),
        }
        path.write_text(json.dumps(state, indent=2))

    def wait_quiet(self, timeout: float = 60.0) -> Quiet:
        """Until no stream record is pending and no call is in progress (twice in a row,
        since a finished call writes records and a record can place a call). A round is quiet
        when, after the stand-in went idle, the streams drain and the stand-in is still idle:
        the drain is given the time left, not a fixed half second (on a loaded machine that
        could fail round after round with nothing busy). Falsy on timeout, naming what was
        still busy."""
        deadline = time.monotonic() + timeout
        quiet_rounds = 0
        while time.monotonic() < deadline and quiet_rounds < 2:
            drained = self.poller.drain(timeout=max(0.1, deadline - time.monotonic())) if self.poller else True
            idle = self.standin.wait_idle(timeout=max(0.1, deadline - time.monotonic()))
            settled = self.poller.drain(timeout=max(0.1, deadline - time.monotonic())) if self.poller else True
            still = drained and idle and settled and self.standin.wait_idle(timeout=0.0)  # no call it placed
            quiet_rounds = quiet_rounds + 1 if still else 0
        if quiet_rounds >= 2:
            return Quiet()
        return Quiet(tuple(self.busy()) or ("records or calls kept coming until the deadline",))

    def busy(self) -> list[str]:
        """What keeps the stack from being quiet now: the stand-in's calls, conferences and
        background work, the streams' undelivered records."""
        standin = self.standin.busy() if self.options.real_twilio is None else []
        return standin + poller_busy(self.poller)

    def stop(self) -> None:
        stoppers: list[Any] = [self.scheduler.stop] if self.scheduler else []
        stoppers += [self.poller.stop] if self.poller else []
        stoppers += [self._server.server.shutdown] if self._server else []
        for stopper in (
            *stoppers,
            self.standin.stop,
            self.ses.stop,
            self.dynamodb.stop,
        ):
            try:
                stopper()
            except Exception:  # stop everything even when one part is already gone
                log.exception("while stopping the local stack")
        if self.options.state_file and self.options.state_file.exists():
            self.options.state_file.unlink()
        use_wall_clock()
        if self._saved_environ:
            os.environ.clear()
            os.environ.update(self._saved_environ)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stack_options(args: argparse.Namespace, environ: Mapping[str, str], dotenv: Path = DOTENV) -> StackOptions:
    """``make run``'s stack: real Twilio when the environment or ``.env`` gives an account, its
    token and a public URL (devtools.twilio_mode), else the stand-in."""
    real = choose_twilio(environ, read_dotenv(dotenv), local_account_sid=LOCAL_ACCOUNT_SID)
    return StackOptions(
        config_path=args.config, port=args.port, state_file=STATE_FILE, standin_speed=1.0, real_twilio=real
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stack", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        options = stack_options(args, os.environ)
    except TwilioModeError as error:
        print(f"error: {error} (README: Real Twilio calls)", file=sys.stderr)
        return 2
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with LocalStack(options) as stack:
        print(f"API            {stack.api_url}   (POST /v1/orders with 'Authorization: Bearer demo-shop-key-0001')")
        real = options.real_twilio
        if real is None:
            print(f"Twilio stand-in {stack.standin.base_url}   (make call FROM=+380671112233 TO=+380441234567)")
        else:
            print(f"Twilio         account {real.account_sid}; Twilio calls {real.public_base_url} (your tunnel)")
            numbers = " ".join(f"--number {number}" for number in stack.numbers)
            print(
                "               point your numbers at it (with .env's variables exported): "
                f".venv/bin/python -m cli.admin twilio-numbers --public-base-url {real.public_base_url} {numbers}"
            )
        print(f"Outbox         {stack.ses.outbox_dir}")
        print(f"Started        {datetime.now().isoformat(timespec='seconds')}; Ctrl-C stops everything")
        try:
            while not stopping.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
