"""One botocore session and DynamoDB client for every table.

PynamoDB gives each model class its own ``Connection``, and each connection its own botocore
session and client: building one costs about 74 ms of CPU (the service model, endpoint rules,
credential chain), paid again for every further table a cold Lambda touches. The ``Model`` here
keeps PynamoDB's per-table ``TableConnection`` (it carries the table's key schema) but points
it at one shared ``Connection``, so the first table used builds the client and every other
table reuses it. Models declared on this ``Model`` share it without doing anything else.

The client's User-Agent header is a fixed string (botocore's ``Config(user_agent=...)``):
botocore otherwise builds its structured header from a dozen components twice a request (once
for the request, once again just before signing, in case a feature was used meanwhile), about
a tenth of the app process's CPU while ingesting orders. The fixed header says the same things
(SDK, Python, platform, execution environment) but leaves out the per-request feature ids.
"""

from __future__ import annotations

import functools
import os
import platform
import threading
from typing import Any

import botocore
import botocore.session
from botocore.config import Config
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import TableError
from pynamodb.models import Model as PynamoModel

_lock = threading.Lock()
_shared: dict[tuple[str, str | None], Connection] = {}


@functools.cache
def user_agent() -> str:
    """The User-Agent every DynamoDB client of the app sends, built once per process (botocore's
    legacy form of its own header, with the app named)."""
    parts = [
        f"Botocore/{botocore.__version__}",
        f"Python/{platform.python_version()}",
        f"{platform.system()}/{platform.release()}",
    ]
    if os.environ.get("AWS_EXECUTION_ENV"):
        parts.append(f"exec-env/{os.environ['AWS_EXECUTION_ENV']}")
    return " ".join([*parts, "app/callcenter"])


def fixed_user_agent() -> Config:
    """A client ``Config`` whose User-Agent is ``user_agent()``, merged into the others given."""
    return Config(user_agent=user_agent())


class _Connection(Connection):
    """PynamoDB's ``Connection`` whose botocore sessions build clients with the fixed User-Agent:
    PynamoDB builds the client's ``Config`` itself, and botocore merges a session's default
    client config into it (each thread has its own session; whichever builds the client)."""

    @property
    def session(self) -> botocore.session.Session:
        session = super().session
        if session.get_default_client_config() is None:
            session.set_default_client_config(fixed_user_agent())
        return session


def shared_connection(meta: Any) -> Connection:
    """The process's one ``Connection`` for a model ``Meta``'s region and endpoint (``host`` is
    None in AWS), with that ``Meta``'s timeouts, retries and pool size (one ``_Meta`` for all)."""
    key = (meta.region, meta.host)
    with _lock:
        connection = _shared.get(key)
        if connection is None:
            connection = _shared[key] = _Connection(
                region=meta.region,
                host=meta.host,
                connect_timeout_seconds=meta.connect_timeout_seconds,
                read_timeout_seconds=meta.read_timeout_seconds,
                max_retry_attempts=meta.max_retry_attempts,
                max_pool_connections=meta.max_pool_connections,
                extra_headers=meta.extra_headers,
                aws_access_key_id=meta.aws_access_key_id,
                aws_secret_access_key=meta.aws_secret_access_key,
                aws_session_token=meta.aws_session_token,
            )
        return connection


def forget_shared_connections() -> None:
    """Tests and the local stack switch endpoints and credentials: build the client again."""
    with _lock:
        _shared.clear()


class Model(PynamoModel):
    """A PynamoDB model whose table connection uses the process's shared client."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        cached = cls._connection
        table = super()._get_connection()
        if table is not cached:  # just built by PynamoDB with a private Connection: share instead
            shared = shared_connection(cls.Meta)
            name = cls.Meta.table_name
            with _lock:
                try:
                    shared.get_meta_table(name)
                except TableError:  # the first time the shared client meets this table
                    shared.add_meta_table(table.connection.get_meta_table(name))
            table.connection = shared
        return table
