"""The gluetun adapter: the control server's port-forward answers (per the contract in
design.md; no real gluetun can run here) and gluetun's address from `docker inspect`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors
import httpx
import pytest

from mediastack.adapters.errors import EngineUnreachableError
from mediastack.adapters.gluetun import (
    API_KEY_HEADER,
    GluetunAnswerError,
    GluetunControlClient,
    GluetunNotRunningError,
    GluetunUnauthorizedError,
    GluetunUnavailableError,
    find_gluetun_address,
    gluetun_network_address,
    parse_forwarded_ports,
)

ENGINE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "engine"
Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, api_key: str = "key-1") -> GluetunControlClient:
    return GluetunControlClient(
        "http://gluetun:8000", api_key, transport=httpx.MockTransport(handler)
    )


def answering(routes: dict[str, httpx.Response], seen: list[httpx.Request]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes.get(request.url.path, httpx.Response(404, text="404 page not found"))

    return handle


@pytest.mark.parametrize(
    ("payload", "ports"),
    [
        ({"port": 43210}, (43210,)),
        ({"port": 0}, ()),
        ({"ports": [43210, 43211]}, (43210, 43211)),
        ({"ports": [0]}, ()),
        ({"ports": []}, ()),
    ],
)
def test_port_forward_answers(payload: dict[str, Any], ports: tuple[int, ...]) -> None:
    assert parse_forwarded_ports(payload) == ports


@pytest.mark.parametrize(
    "payload",
    [{"port": 70000}, {"port": -1}, {"port": "43210"}, {"port": True}, {"ports": 5}, {}, [1]],
)
def test_impossible_answers_are_refused(payload: object) -> None:
    with pytest.raises(GluetunAnswerError):
        parse_forwarded_ports(payload)


def test_the_new_path_is_asked_with_the_api_key() -> None:
    seen: list[httpx.Request] = []
    routes = {"/v1/portforward": httpx.Response(200, json={"port": 43210})}
    with client_for(answering(routes, seen)) as client:
        assert client.forwarded_ports() == (43210,)
    assert [request.url.path for request in seen] == ["/v1/portforward"]
    assert seen[0].headers[API_KEY_HEADER] == "key-1"


def test_without_a_key_no_key_header_is_sent() -> None:
    seen: list[httpx.Request] = []
    routes = {"/v1/portforward": httpx.Response(200, json={"port": 1})}
    with client_for(answering(routes, seen), api_key="") as client:
        client.forwarded_ports()
    assert API_KEY_HEADER not in seen[0].headers


def test_older_releases_are_asked_on_the_old_path_after_a_404() -> None:
    seen: list[httpx.Request] = []
    routes = {"/v1/openvpn/portforwarded": httpx.Response(200, json={"port": 51413})}
    with client_for(answering(routes, seen)) as client:
        assert client.forwarded_ports() == (51413,)
    assert [request.url.path for request in seen] == [
        "/v1/portforward",
        "/v1/openvpn/portforwarded",
    ]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_unauthorized(status: int) -> None:
    routes = {"/v1/portforward": httpx.Response(status, text="Unauthorized")}
    with (
        client_for(answering(routes, [])) as client,
        pytest.raises(GluetunUnauthorizedError) as caught,
    ):
        client.forwarded_ports()
    assert str(status) in caught.value.message
    assert caught.value.fix is not None and "GLUETUN_API_KEY" in caught.value.fix


def test_a_server_error_is_unavailable() -> None:
    routes = {"/v1/portforward": httpx.Response(503, text="starting")}
    with client_for(answering(routes, [])) as client, pytest.raises(GluetunUnavailableError):
        client.forwarded_ports()


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")],
    ids=["refused", "timeout"],
)
def test_no_answer_is_unavailable(failure: httpx.HTTPError) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise failure

    with client_for(handle) as client, pytest.raises(GluetunUnavailableError) as caught:
        client.forwarded_ports()
    assert "http://gluetun:8000" in caught.value.message


def test_an_answer_that_is_not_json_is_refused() -> None:
    routes = {"/v1/portforward": httpx.Response(200, text="<html>")}
    with client_for(answering(routes, [])) as client, pytest.raises(GluetunAnswerError):
        client.forwarded_ports()


def test_an_unexpected_status_is_refused() -> None:
    routes = {
        "/v1/portforward": httpx.Response(404),
        "/v1/openvpn/portforwarded": httpx.Response(404),
    }
    with client_for(answering(routes, [])) as client, pytest.raises(GluetunAnswerError) as caught:
        client.forwarded_ports()
    assert "404" in caught.value.message


def captured_inspect(name: str) -> dict[str, Any]:
    objects = json.loads((ENGINE_FIXTURES / f"inspect-{name}.json").read_text(encoding="utf-8"))
    inspected: dict[str, Any] = objects[0]
    return inspected


def test_the_address_on_the_shared_network_is_read_from_docker_inspect() -> None:
    inspected = captured_inspect("gluetun-before")
    assert gluetun_network_address(inspected, "msfixture_net") == "172.18.0.2"
    assert gluetun_network_address(inspected, "another_network") is None
    assert gluetun_network_address(captured_inspect("gluetun-stopped"), "msfixture_net") is None


class FakeApi:
    """The two low-level docker SDK calls find_gluetun_address makes."""

    def __init__(self, containers: list[dict[str, Any]], failure: Exception | None = None):
        self._containers = containers
        self._failure = failure
        self.filters: list[Any] = []

    def containers(self, filters: Any) -> list[dict[str, Any]]:
        if self._failure is not None:
            raise self._failure
        self.filters.append(filters)
        return [{"Id": container["Id"]} for container in self._containers]

    def inspect_container(self, container_id: str) -> dict[str, Any]:
        return next(c for c in self._containers if c["Id"] == container_id)


class FakeDocker:
    def __init__(self, api: FakeApi) -> None:
        self.api = api


def test_gluetun_is_found_by_its_compose_labels() -> None:
    api = FakeApi([captured_inspect("gluetun-before")])
    address = find_gluetun_address("msfixture", "msfixture_net", FakeDocker(api))  # type: ignore[arg-type]
    assert address == "172.18.0.2"
    assert api.filters == [
        {
            "label": ["com.docker.compose.project=msfixture", "com.docker.compose.service=gluetun"],
            "status": "running",
        }
    ]


def test_no_running_gluetun_says_how_to_start_it() -> None:
    with pytest.raises(GluetunNotRunningError) as caught:
        find_gluetun_address("home-vpn", "net", FakeDocker(FakeApi([])))  # type: ignore[arg-type]
    assert "home-vpn" in caught.value.message
    assert caught.value.fix is not None and "mediastack up vpn" in caught.value.fix


def test_a_gluetun_off_the_network_is_reported() -> None:
    api = FakeApi([captured_inspect("gluetun-before")])
    with pytest.raises(GluetunNotRunningError, match="no address on network other"):
        find_gluetun_address("msfixture", "other", FakeDocker(api))  # type: ignore[arg-type]


def test_no_engine_is_engine_unreachable() -> None:
    api = FakeApi([], failure=docker.errors.DockerException("Connection refused"))
    with pytest.raises(EngineUnreachableError):
        find_gluetun_address("home-vpn", "net", FakeDocker(api))  # type: ignore[arg-type]
