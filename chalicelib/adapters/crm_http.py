"""POSTing an event to a shop's CRM: urllib3 (already shipped with botocore) with explicit
timeouts, no retries or redirects of its own, and the host resolved here first so that a name
pointing at a private, loopback or link-local address is refused and the connection goes to
the very address that was checked (no second DNS answer in between)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from chalicelib.domain.crm import CrmAddressRefused, CrmUnreachable, address_problem

CONNECT_SECONDS = 3.0
READ_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024


class UrllibCrmSender:
    def __init__(self, *, local: bool, connect_seconds: float = CONNECT_SECONDS, read_seconds: float = READ_SECONDS):
        self.local = local
        self.connect_seconds = connect_seconds
        self.read_seconds = read_seconds

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The CRM's HTTP status, or ``CrmUnreachable`` / ``CrmAddressRefused``."""
        import urllib3  # cold start: only CRM deliveries

        parts = urlsplit(url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        address = self._checked_address(host, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default_port = port == (443 if https else 80)
        host_header = host if ":" not in host else f"[{host}]"
        timeout = urllib3.Timeout(connect=self.connect_seconds, read=self.read_seconds)
        pool: urllib3.HTTPConnectionPool
        if https:
            from botocore.httpsession import get_cert_path  # cold start: only CRM deliveries

            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                ca_certs=get_cert_path(True),
                server_hostname=host,  # SNI and the certificate check use the name, not the address
                assert_hostname=host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": host_header if default_port else f"{host_header}:{port}"},
                redirect=False,
                retries=False,
                preload_content=False,
            )
            try:
                response.read(MAX_ANSWER_BYTES)  # what the CRM says is not used; a bounded read frees the socket
            finally:
                response.release_conn()
            return int(response.status)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise CrmUnreachable(f"{type(error).__name__}: {_short(error)}") from error
        finally:
            pool.close()

    def _checked_address(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise CrmUnreachable(f"cannot resolve {host}: {error}") from error
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        for address in addresses:
            problem = address_problem(address, local=self.local)
            if problem:
                raise CrmAddressRefused(f"{host} resolves to {address}: {problem}")
        if not addresses:
            raise CrmUnreachable(f"cannot resolve {host}")
        return str(addresses[0])


def _short(error: Exception) -> str:
    return str(error)[:300]
