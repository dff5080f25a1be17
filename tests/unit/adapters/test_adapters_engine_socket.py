"""The supervisor's own engine client: DOCKER_HOST, the HTTP/1.1 it reads (captured answers of
engine 20.10 in tests/fixtures/engine/http-*.txt), and the client against a stand-in engine
on a unix socket that replays those answers and records each request."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mediastack.adapters.engine_socket import (
    AnswerError,
    EngineEndpoint,
    SocketEngine,
    encode_filters,
    endpoint_from_environment,
    error_message,
    json_lines,
    read_body,
    read_head,
    request_bytes,
)
from mediastack.adapters.errors import EngineError, EngineUnreachableError

ENGINE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "engine"
CREATED_ID = "ac0a984ca402b9f445a71f36cb8d84bfdfcadaa526ae27840b0faf9e620d0854"


def captured(name: str) -> bytes:
    return (ENGINE_FIXTURES / f"http-{name}.txt").read_bytes()


def answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader = io.BytesIO(raw)
    status, headers = read_head(reader)
    return status, headers, b"".join(read_body(reader, status, headers))


# -- DOCKER_HOST ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, EngineEndpoint(socket_path="/var/run/docker.sock")),
        ({"DOCKER_HOST": ""}, EngineEndpoint(socket_path="/var/run/docker.sock")),
        ({"DOCKER_HOST": "unix:///tmp/relay.sock"}, EngineEndpoint(socket_path="/tmp/relay.sock")),
        ({"DOCKER_HOST": "tcp://socket-proxy:2375"}, EngineEndpoint(host="socket-proxy")),
        ({"DOCKER_HOST": "tcp://10.0.0.2"}, EngineEndpoint(host="10.0.0.2", port=2375)),
        ({"DOCKER_HOST": "tcp://[::1]:2376"}, EngineEndpoint(host="::1", port=2376)),
        ({"DOCKER_HOST": "ssh://me@host"}, None),
        ({"DOCKER_HOST": "tcp://host:2376", "DOCKER_TLS_VERIFY": "1"}, None),
        ({"DOCKER_CERT_PATH": "/certs"}, None),
        ({"DOCKER_HOST": "tcp://host:port"}, None),
    ],
)
def test_docker_host_as_the_cli_reads_it(
    environment: dict[str, str], expected: EngineEndpoint | None
) -> None:
    assert endpoint_from_environment(environment) == expected


def test_the_host_header() -> None:
    assert EngineEndpoint(socket_path="/s").host_header == "docker"
    assert EngineEndpoint(host="socket-proxy").host_header == "socket-proxy:2375"


# -- HTTP/1.1 ------------------------------------------------------------------------------------


def test_requests_close_the_connection_and_posts_say_their_empty_body() -> None:
    assert request_bytes("GET", "/version", "docker") == (
        b"GET /version HTTP/1.1\r\nHost: docker\r\nUser-Agent: mediastack\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert b"Content-Length: 0\r\n\r\n" in request_bytes("POST", "/x/start", "docker")


def test_an_answer_with_a_length() -> None:
    status, headers, body = answer(captured("version"))
    assert status == 200 and headers["api-version"] == "1.41"
    assert b'"ApiVersion":"1.41"' in body and len(body) == int(headers["content-length"])


def test_a_chunked_answer() -> None:
    status, headers, body = answer(captured("inspect-created"))
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert body.startswith(b'{"Id":"' + CREATED_ID.encode())
    assert body.endswith(b"}\n")


def test_an_error_answer_carries_the_engines_message() -> None:
    status, _, body = answer(captured("start-not-found"))
    assert status == 404
    assert error_message(status, body) == "No such container: 0000000000000000nonexistent"
    assert error_message(500, b"plain text\n") == "plain text"
    assert error_message(502, b"") == "the engine answered 502"


def test_an_answer_to_the_end_of_the_connection() -> None:
    assert answer(b"HTTP/1.1 200 OK\r\n\r\n[1, 2]")[2] == b"[1, 2]"
    assert answer(b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n")[2] == b""


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # the engine closed the connection at once
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
    ],
)
def test_what_is_not_http_is_refused(raw: bytes) -> None:
    with pytest.raises(AnswerError):
        answer(raw)


def test_the_event_stream_yields_each_event_then_fails_where_it_was_cut() -> None:
    reader = io.BytesIO(captured("events-stream"))
    status, headers = read_head(reader)
    events = json_lines(read_body(reader, status, headers))
    created, destroyed = next(events), next(events)
    assert (created["Action"], destroyed["Action"]) == ("create", "destroy")
    assert created["Actor"]["Attributes"]["msfootcap"] == "1"
    with pytest.raises(AnswerError):
        next(events)


def test_json_lines_across_chunks() -> None:
    assert list(json_lines(iter([b'{"a": 1}\n{"b"', b": 2}\n", b"\n", b'{"c": 3}']))) == [
        {"a": 1},
        {"b": 2},
        {"c": 3},
    ]


def test_filters_as_the_sdk_sends_them() -> None:
    assert encode_filters({"label": ["a=b", "c"], "type": "container"}) == (
        '{"label": ["a=b", "c"], "type": ["container"]}'
    )


# -- the client, against a stand-in engine -------------------------------------------------------

Route = Callable[[str, str], bytes]


class StandInEngine:
    """Answers each connection on a unix socket with ``route(method, path)``; records every
    request line."""

    def __init__(self, path: Path, route: Route) -> None:
        self.requests: list[str] = []
        self._route = route
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(8)
        self.endpoint = EngineEndpoint(socket_path=str(path))
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            method, path, _ = reader.readline().decode().split(" ", 2)
            while reader.readline() not in (b"\r\n", b""):
                pass
            self.requests.append(f"{method} {path}")
            try:
                connection.sendall(self._route(method, path))
            except OSError:
                return
            if path.split("?")[0].endswith("/events"):  # open until the client closes it
                connection.recv(1)


def routes(method: str, path: str) -> bytes:
    if path in ("/version", "/v1.41/version"):
        return captured("version")
    if path.startswith("/v1.41/containers/json"):
        body = f'[{{"Id": "{CREATED_ID}"}}, {{"Id": "gone"}}]'.encode()
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    if path == f"/v1.41/containers/{CREATED_ID}/json":
        return captured("inspect-created")
    if path.startswith("/v1.41/events"):
        return captured("events-stream")
    if method == "POST" and path.endswith("/restart?t=10"):
        return b"HTTP/1.1 204 No Content\r\n\r\n"
    if method == "POST" and path.endswith("/start"):
        return captured("start-not-found")
    return captured("inspect-not-found")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[SocketEngine, StandInEngine]]:
    stand_in = StandInEngine(tmp_path / "engine.sock", routes)
    try:
        yield SocketEngine.connect(stand_in.endpoint), stand_in
    finally:
        stand_in.close()


def test_it_speaks_the_engines_api_version(engine: tuple[SocketEngine, StandInEngine]) -> None:
    client, stand_in = engine
    assert client.api_version == "1.41"
    assert client.server_version() == "20.10.24+dfsg1"
    assert stand_in.requests == ["GET /version", "GET /v1.41/version"]


def test_containers_are_listed_then_inspected_and_a_gone_one_left_out(
    engine: tuple[SocketEngine, StandInEngine],
) -> None:
    client, stand_in = engine
    (container,) = client.inspect_containers({"label": ["msfootcap=1"]})
    assert container.id == CREATED_ID and container.status == "created"
    assert container.labels["msfootcap"] == "1" and container.name == "msfootcap-probe"
    assert stand_in.requests[1] == (
        "GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A+%5B%22msfootcap%3D1%22%5D%7D"
    )
    assert stand_in.requests[2:] == [
        f"GET /v1.41/containers/{CREATED_ID}/json",
        "GET /v1.41/containers/gone/json",
    ]


def test_restart_and_start(engine: tuple[SocketEngine, StandInEngine]) -> None:
    client, stand_in = engine
    client.restart(CREATED_ID, 10)
    assert stand_in.requests[-1] == f"POST /v1.41/containers/{CREATED_ID}/restart?t=10"
    with pytest.raises(EngineError, match="No such container"):
        client.start("0000000000000000nonexistent")


def test_the_event_stream_ends_when_closed_from_another_thread(
    engine: tuple[SocketEngine, StandInEngine],
) -> None:
    client, _ = engine
    subscription = client.events({"type": "container"})
    events = iter(subscription)
    assert next(events)["Action"] == "create"
    assert next(events)["Action"] == "destroy"
    threading.Timer(0.2, subscription.close).start()
    with pytest.raises(AnswerError):  # what EventStream takes as "the stream failed"
        next(events)
    subscription.close()  # twice: nothing happens


def test_no_engine_is_an_unreachable_engine(tmp_path: Path) -> None:
    nowhere = EngineEndpoint(socket_path=str(tmp_path / "missing.sock"))
    with pytest.raises(EngineUnreachableError, match="no socket at"):
        SocketEngine.connect(nowhere)
    with pytest.raises(EngineUnreachableError):
        SocketEngine(nowhere, "1.41").events({})
