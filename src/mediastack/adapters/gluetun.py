"""Gluetun's control server (the forwarded port) and where gluetun can be reached.

Contract (design.md, "External contracts"): ``GET /v1/portforward`` answers ``{"port": N}``
(gluetun v3.41+; 0 while there is none) or ``{"ports": [...]}`` when several are forwarded;
older releases answer 404 there and serve ``GET /v1/openvpn/portforwarded`` instead. The API
key goes in the ``X-API-Key`` header; newer builds answer 401 on every route without a valid
one. Answers are parsed here, at the edge, into a tuple of ports; failures leave as one of the
``GluetunError`` subclasses below, each with a message and a fix.

The supervisor reaches the control server as ``http://gluetun:<port>`` over the shared bridge
network. On the host, the control port is not published, so :func:`find_gluetun_address`
asks the engine for gluetun's address on that network (the host routes to its bridges).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import httpx
import requests.exceptions

from mediastack.adapters.engine import COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, unreachable
from mediastack.adapters.errors import AdapterError

PORT_FORWARD_PATH = "/v1/portforward"
LEGACY_PORT_FORWARD_PATH = "/v1/openvpn/portforwarded"
# gluetun's internal/server/publicip.go (v3.40): ``GET /v1/publicip/ip`` encodes
# models.PublicIP: {"public_ip": "203.0.113.7", "country": ..., "city": ..., ...}; before
# its public-IP loop has an answer the address is the zero netip.Addr, encoded "".
PUBLIC_IP_PATH = "/v1/publicip/ip"
API_KEY_HEADER = "X-API-Key"
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_ENGINE_LOOKUP_SECONDS = 10
GLUETUN_SERVICE = "gluetun"
MAXIMUM_PORT = 65535


class GluetunError(AdapterError):
    """Gluetun's control server could not tell the forwarded port."""


class GluetunUnavailableError(GluetunError):
    """Nothing answered, or gluetun answered 5xx: it may be (re)starting; worth retrying."""


class GluetunUnauthorizedError(GluetunError):
    """Gluetun refused the API key (401/403): retrying will not help until the key is fixed."""


class GluetunAnswerError(GluetunError):
    """Gluetun answered something this contract does not describe."""


class GluetunNotRunningError(GluetunError):
    """The engine knows no running gluetun of this stack on the shared network."""


def parse_forwarded_ports(payload: object) -> tuple[int, ...]:
    """Given the decoded JSON of a port-forward answer, return the forwarded ports in gluetun's
    order, without the 0 that means "none yet" (so an empty tuple means no port yet).
    Raise GluetunAnswerError when it is neither ``{"port": N}`` nor ``{"ports": [...]}`` of
    integers from 0 to 65535."""
    if isinstance(payload, Mapping) and "ports" in payload:
        raw_ports = payload["ports"]
        if not isinstance(raw_ports, list):
            raise GluetunAnswerError(f"gluetun's `ports` is not a list: {payload!r}")
    elif isinstance(payload, Mapping) and "port" in payload:
        raw_ports = [payload["port"]]
    else:
        raise GluetunAnswerError(f"gluetun's answer has no `port` or `ports`: {payload!r}")
    ports = tuple(_valid_port(port, payload) for port in raw_ports)
    return tuple(port for port in ports if port != 0)


@dataclass(frozen=True)
class PublicAddress:
    """The VPN's exit address as gluetun's public-IP loop last found it."""

    ip: str
    country: str | None = None


def parse_public_address(payload: object) -> PublicAddress | None:
    """Given the JSON of ``/v1/publicip/ip``, return the address, or None while gluetun has
    none yet; raise GluetunAnswerError for another shape or a value that is no IP."""
    if not isinstance(payload, dict) or not isinstance(payload.get("public_ip", ""), str):
        raise GluetunAnswerError(f"gluetun's public IP answer is not understood: {payload!r}")
    text = payload.get("public_ip", "")
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise GluetunAnswerError(f"gluetun's public IP {text!r} is not an IP address") from None
    country = payload.get("country")
    return PublicAddress(str(address), country if isinstance(country, str) and country else None)


def _valid_port(value: object, payload: object) -> int:
    # bool is an int in Python; a JSON true is not a port.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAXIMUM_PORT:
        raise GluetunAnswerError(f"gluetun reported an impossible port {value!r} in {payload!r}")
    return value


class GluetunControlClient:
    """Reads the forwarded port from one gluetun control server.

    ``base_url`` is e.g. ``http://gluetun:8000``; an empty ``api_key`` sends no key header.
    ``transport`` lets tests answer from memory. Close it (or use ``with``) when done.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self.base_url = base_url.rstrip("/")
        # No redirects: the old path answers 301 on new releases, and we ask the new one first.
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout_seconds,
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> GluetunControlClient:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def forwarded_ports(self) -> tuple[int, ...]:
        """Return the forwarded ports (empty while gluetun has none yet). Ask
        ``/v1/portforward`` first and, on a 404 (releases before v3.41), the old path.
        Raise GluetunUnavailableError, GluetunUnauthorizedError or GluetunAnswerError."""
        response = self._get(PORT_FORWARD_PATH)
        if response.status_code == httpx.codes.NOT_FOUND:
            response = self._get(LEGACY_PORT_FORWARD_PATH)
        return parse_forwarded_ports(self._json(response))

    def public_address(self) -> PublicAddress | None:
        """Return the VPN's exit address (None while gluetun has none yet). Raise
        GluetunUnavailableError, GluetunUnauthorizedError or GluetunAnswerError."""
        return parse_public_address(self._json(self._get(PUBLIC_IP_PATH)))

    def _json(self, response: httpx.Response) -> object:
        """Return the JSON of a 200 answer; raise as ``_raise_for_status`` does, or
        GluetunAnswerError for a body that is not JSON."""
        self._raise_for_status(response)
        try:
            return response.json()
        except ValueError:
            raise GluetunAnswerError(
                f"gluetun's {response.request.url.path} did not answer JSON: "
                f"{response.text[:200]!r}"
            ) from None

    def _get(self, path: str) -> httpx.Response:
        try:
            return self._http.get(path)
        except httpx.TimeoutException:
            raise GluetunUnavailableError(
                f"gluetun's control server at {self.base_url} did not answer in time",
                "check that gluetun is running and healthy (`mediastack status`)",
            ) from None
        except httpx.HTTPError as error:
            raise GluetunUnavailableError(
                f"cannot reach gluetun's control server at {self.base_url}: {error}",
                "check that gluetun is running and healthy (`mediastack status`)",
            ) from None

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        path = response.request.url.path
        if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise GluetunUnauthorizedError(
                f"gluetun's control server refused {path} ({status}): the API key is missing "
                "or wrong",
                "set the key gluetun was started with in .env (vpn.api_key_variable, default "
                "GLUETUN_API_KEY), then `mediastack render` and `mediastack up vpn`",
            )
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            raise GluetunUnavailableError(
                f"gluetun's control server answered {status} on {path}",
                "check gluetun's logs (`mediastack logs gluetun`)",
            )
        if status != httpx.codes.OK:
            raise GluetunAnswerError(
                f"gluetun's control server answered {status} on {path}: {response.text[:200]!r}",
                "check that vpn.control_server_port is gluetun's control server, and that "
                "gluetun is v3.x",
            )


def gluetun_network_address(inspected: Mapping[str, Any], network: str) -> str | None:
    """Given one ``docker inspect`` object and a network name, return the container's IPv4
    address on that network, or None when it is not attached (or has no address yet)."""
    networks = (inspected.get("NetworkSettings") or {}).get("Networks") or {}
    endpoint = networks.get(network) or {}
    address = endpoint.get("IPAddress") or ""
    return str(address) or None


def find_gluetun_address(
    project: str, network: str, client: docker.DockerClient | None = None
) -> str:
    """Return the address of the running gluetun of compose project ``project`` on
    ``network``. Raise EngineUnreachableError without an engine, GluetunNotRunningError when
    no such gluetun runs or it has no address there."""
    try:
        engine = client or docker.from_env(timeout=DEFAULT_ENGINE_LOOKUP_SECONDS)
        summaries = engine.api.containers(
            filters={
                "label": [
                    f"{COMPOSE_PROJECT_LABEL}={project}",
                    f"{COMPOSE_SERVICE_LABEL}={GLUETUN_SERVICE}",
                ],
                "status": "running",
            }
        )
        inspected = [engine.api.inspect_container(summary["Id"]) for summary in summaries]
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise unreachable(error) from None
    for container in inspected:
        address = gluetun_network_address(container, network)
        if address is not None:
            return address
    raise _not_running(project, network, found=bool(inspected))


def _not_running(project: str, network: str, *, found: bool) -> GluetunNotRunningError:
    if found:
        return GluetunNotRunningError(
            f"gluetun of project {project} runs but has no address on network {network}",
            f"check `docker network inspect {network}`; or pass --gluetun-url",
        )
    return GluetunNotRunningError(
        f"no running gluetun in compose project {project}",
        "start the VPN stack (`mediastack up vpn`), or pass --gluetun-url",
    )
