"""The supervisor's own engine client: DOCKER_HOST, then the client against a stand-in engine
on a unix socket that replays captured answers of engine 20.10 (tests/fixtures/engine/http-*.txt)
or hand-made ones, and records each request: how it reads answers (h11 does the HTTP/1.1), and
what it asks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_stand_in import ANSWER_TIMEOUT_SECONDS, StandInEngine, StandIns, captured

from mediastack.adapters.engine_socket import (
    EngineEndpoint,
    SocketEngine,
    date_nanoseconds,
    encode_filters,
    endpoint_from_environment,
    error_message,
    json_lines,
)
from mediastack.adapters.errors import EngineError, EngineUnreachableError

CREATED_ID = "ac0a984ca402b9f445a71f36cb8d84bfdfcadaa526ae27840b0faf9e620d0854"


def chunked(*parts: bytes) -> bytes:
    """Return an answer whose body is ``parts``, one chunk each (the first with an extension),
    then a trailer."""
    chunks = [b"%x;note=first\r\n%s\r\n" % (len(parts[0]), parts[0])]
    chunks += [b"%x\r\n%s\r\n" % (len(part), part) for part in parts[1:]]
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"".join(chunks) + b"0\r\nX-Trailer: end\r\n\r\n"


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
    assert EngineEndpoint(host="::1", port=2376).host_header == "[::1]:2376"


# -- the event stream's lines and the filters ------------------------------------------------


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


@pytest.fixture
def answering(tmp_path: Path) -> Iterator[StandIns]:
    stand_ins = StandIns(tmp_path)
    try:
        yield stand_ins
    finally:
        stand_ins.close()


# -- reading answers -----------------------------------------------------------------------------


def test_an_answer_with_a_length(answering: StandIns) -> None:
    # What follows the Content-Length is not read: were it, the JSON would not parse.
    client = answering.client(captured("version") + b"not part of the answer")
    assert client.server_version() == "20.10.24+dfsg1"


def test_a_chunked_answer(answering: StandIns) -> None:
    client = answering.client(chunked(b'{"Vers', b'ion": "chunk', b'ed"}\n'))
    assert client.server_version() == "chunked"


def test_an_error_answer_carries_the_engines_message(answering: StandIns) -> None:
    client = answering.client(captured("start-not-found"))
    with pytest.raises(EngineError) as refused:
        client.start("0000000000000000nonexistent")
    assert str(refused.value) == "No such container: 0000000000000000nonexistent"
    with pytest.raises(EngineError, match="No such container"):  # the stream's answer, too
        client.events({"type": "container"})
    assert error_message(500, b"plain text\n") == "plain text"
    assert error_message(502, b"") == "the engine answered 502"


def test_an_answer_to_the_end_of_the_connection(answering: StandIns) -> None:
    to_the_end = b'HTTP/1.1 200 OK\r\n\r\n{"Version": "to the end"}'
    assert answering.client(to_the_end, keep_open=False).server_version() == "to the end"
    # A 204 has no body: nothing is awaited after its head, though the connection stays open.
    answering.client(b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n").restart("x", 1)


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # the engine closed the connection at once
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Endless: " + b"a" * 70000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",  # no last chunk
    ],
)
def test_what_is_not_http_is_refused_as_unreachable(answering: StandIns, raw: bytes) -> None:
    with pytest.raises(EngineUnreachableError):
        answering.client(raw, keep_open=False).server_version()


def test_an_engine_that_never_answers_is_unreachable(answering: StandIns) -> None:
    with pytest.raises(EngineUnreachableError, match="timed out"):
        answering.client(b"", timeout_seconds=0.2).server_version()


def test_the_event_stream_yields_each_event_then_fails_where_it_was_cut(
    answering: StandIns,
) -> None:
    client = answering.client(captured("events-stream"), keep_open=False)
    events = iter(client.events({"type": "container"}))
    created, destroyed = next(events), next(events)
    assert (created["Action"], destroyed["Action"]) == ("create", "destroy")
    assert created["Actor"]["Attributes"]["msfootcap"] == "1"
    with pytest.raises(EngineUnreachableError):  # the stream had no last chunk
        next(events)


def test_an_event_is_yielded_as_its_line_completes_and_close_ends_the_stream(
    answering: StandIns,
) -> None:
    stream = captured("events-stream")
    first_event_only = stream[: stream.index(b"\r\n292\r\n") + 2]
    subscription = answering.client(first_event_only).events({"type": "container"})
    # Closed from another thread soon: a client waiting for more before it yields fails here.
    threading.Timer(0.5, subscription.close).start()
    events = iter(subscription)
    assert next(events)["Action"] == "create"  # while the engine sends nothing more
    with pytest.raises(EngineUnreachableError):  # what EventStream takes as "the stream failed"
        next(events)
    subscription.close()  # twice: nothing happens


# -- the client, against a stand-in engine -------------------------------------------------------


def routes(method: str, path: str) -> bytes:
    if path in ("/version", "/v1.41/version"):
        return captured("version")
    if path.startswith("/v1.41/containers/json"):
        body = f'[{{"Id": "{CREATED_ID}"}}, {{"Id": "gone"}}]'.encode()
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    if path == f"/v1.41/containers/{CREATED_ID}/json":
        return captured("inspect-created")
    if method == "POST" and path.endswith("/restart?t=10"):
        return b"HTTP/1.1 204 No Content\r\n\r\n"
    if method == "POST" and path.endswith("/start"):
        return captured("start-not-found")
    return captured("inspect-not-found")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[SocketEngine, StandInEngine]]:
    stand_in = StandInEngine(tmp_path / "engine.sock", routes)
    try:
        yield SocketEngine.connect(stand_in.endpoint, ANSWER_TIMEOUT_SECONDS), stand_in
    finally:
        stand_in.close()


def test_it_speaks_the_engines_api_version(engine: tuple[SocketEngine, StandInEngine]) -> None:
    client, stand_in = engine
    assert client.api_version == "1.41"
    assert client.server_version() == "20.10.24+dfsg1"
    assert stand_in.requests == ["GET /version", "GET /v1.41/version"]


def test_requests_close_the_connection_and_posts_say_their_empty_body(
    engine: tuple[SocketEngine, StandInEngine],
) -> None:
    client, stand_in = engine
    client.restart(CREATED_ID, 10)
    assert stand_in.heads[0] == (
        b"GET /version HTTP/1.1\r\nHost: docker\r\nUser-Agent: mediastack\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert stand_in.heads[-1].endswith(b"Connection: close\r\nContent-Length: 0\r\n\r\n")


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


def test_the_events_request_names_its_filters(
    engine: tuple[SocketEngine, StandInEngine],
) -> None:
    client, stand_in = engine
    with pytest.raises(EngineError, match="No such container"):  # the stand-in's 404
        client.events({"type": "container"})
    assert stand_in.requests[-1] == (
        "GET /v1.41/events?filters=%7B%22type%22%3A+%5B%22container%22%5D%7D"
    )


def test_no_engine_is_an_unreachable_engine(tmp_path: Path) -> None:
    nowhere = EngineEndpoint(socket_path=str(tmp_path / "missing.sock"))
    with pytest.raises(EngineUnreachableError, match="no socket at"):
        SocketEngine.connect(nowhere)
    with pytest.raises(EngineUnreachableError):
        SocketEngine(nowhere, "1.41").events({})


def test_a_resumed_stream_asks_since_and_the_opening_tells_the_engines_clock(
    tmp_path: Path,
) -> None:
    stand_in = StandInEngine(
        tmp_path / "events.sock", lambda method, path: captured("events-stream"), False
    )
    try:
        client = SocketEngine(stand_in.endpoint, "1.41", ANSWER_TIMEOUT_SECONDS)
        subscription = client.events({"type": "container"}, since="1795731860.377199729")
        subscription.close()
    finally:
        stand_in.close()
    assert stand_in.requests == [
        "GET /v1.41/events?filters=%7B%22type%22%3A+%5B%22container%22%5D%7D"
        "&since=1795731860.377199729"
    ]
    # The captured answer's "Date: Fri, 27 Nov 2026 01:25:57 GMT"
    assert subscription.engine_time_nano == 1795742757 * 1_000_000_000
    assert date_nanoseconds(b"not a date") is None
