"""The CRM sender against real sockets on loopback: what counts as no answer (refused, timed out,
TLS failure), that an answer's status comes back as is, and that a name resolving to a
forbidden address is never connected to."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.crm_http import UrllibCrmSender
from chalicelib.domain.crm import CrmAddressRefused, CrmUnreachable
from devtools.crm_receiver import CrmReceiver

pytestmark = pytest.mark.integration
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def test_the_crm_answer_comes_back_with_the_request_as_sent() -> None:
    with CrmReceiver(b"k", lambda: NOW, answers=[503]) as crm:
        status = UrllibCrmSender(local=True).post(crm.url + "?shop=1", b'{"id":"evt_1"}', {"X-Test": "yes"})
        assert status == 401  # unsigned: the receiver refuses it, as a CRM should
        [received] = crm.received
        assert (received.path, received.body) == ("/crm/events?shop=1", b'{"id":"evt_1"}')


def test_a_refused_connection_is_no_answer() -> None:
    with pytest.raises(CrmUnreachable, match="NewConnectionError"):
        UrllibCrmSender(local=True).post(f"http://127.0.0.1:{closed_port()}/crm", b"{}", {})


def test_a_crm_that_never_answers_times_out(silent_server: int) -> None:
    sender = UrllibCrmSender(local=True, connect_seconds=1, read_seconds=0.5)
    with pytest.raises(CrmUnreachable, match="ReadTimeoutError"):
        sender.post(f"http://127.0.0.1:{silent_server}/crm", b"{}", {})


def test_a_tls_failure_is_no_answer(silent_server: int) -> None:
    # https to a server that never completes the handshake (or answers in plain http)
    sender = UrllibCrmSender(local=True, connect_seconds=1, read_seconds=0.5)
    with pytest.raises(CrmUnreachable):
        sender.post(f"https://127.0.0.1:{silent_server}/crm", b"{}", {})
    with CrmReceiver(b"k", lambda: NOW) as plain:
        with pytest.raises(CrmUnreachable, match="SSLError"):
            sender.post(plain.url.replace("http://", "https://"), b"{}", {})
        assert plain.received == []


def test_in_the_cloud_a_name_resolving_to_loopback_is_never_connected_to() -> None:
    with CrmReceiver(b"k", lambda: NOW) as crm:
        url = crm.url.replace("127.0.0.1", "localhost")
        with pytest.raises(CrmAddressRefused, match="loopback"):
            UrllibCrmSender(local=False).post(url, b"{}", {})
        assert crm.received == []


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("::127.0.0.1", "loopback"),  # IPv4-compatible form of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254 (instance metadata)
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 form of 169.254.169.254
    ],
)
def test_in_the_cloud_a_name_resolving_to_an_ipv6_form_of_a_forbidden_ipv4_address_is_never_connected_to(
    monkeypatch: pytest.MonkeyPatch, address: str, problem: str
) -> None:
    # GIVEN the CRM's name, which passed the check when the shop was set up, now resolves (DNS
    # rebinding) to an IPv6 address standing for loopback or the instance metadata service
    answers = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 443, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    connections: list[object] = []
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: connections.append(args))

    # WHEN an event is sent THEN it is refused before any connection, naming the address
    with pytest.raises(CrmAddressRefused, match=problem) as refused:
        UrllibCrmSender(local=False).post("https://crm.kvitka.example/hook", b"{}", {})
    assert str(ipaddress.ip_address(address)) in str(refused.value)
    assert connections == []
