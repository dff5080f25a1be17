"""The status stream over a real socket on 127.0.0.1: first event, a change, its bounds."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web_support import Lab

from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.web.routes import StatusRoutes
from mediastack.supervisor.web.stream import STREAM_PATH, StreamSettings, frame_of
from mediastack.supervisor.web.topology import Topology
from mediastack.updates.webhook import WebhookServer, WebhookSettings
from mediastack.updates.wud import ServiceDirectory

TOKEN = "a-read-token-of-32-characters-xx"
# Short bounds so the test sees them; a read that waits longer than this fails the test.
READ_TIMEOUT_SECONDS = 10.0


@dataclass
class Event:
    name: str
    data: dict[str, object]


class StreamClient:
    """A raw EventSource: the request, then the status line and the events as they come."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.socket = socket.create_connection(address, timeout=READ_TIMEOUT_SECONDS)
        request = (
            f"GET {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Accept: text/event-stream\r\n\r\n"
        )
        self.socket.sendall(request.encode())
        self._buffer = b""
        head = self._read_until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.head = head.decode("latin-1").lower()

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.socket.recv(65_536)
            if not chunk:
                raise EOFError("the server closed the stream")
            self._buffer += chunk
        block, _, self._buffer = self._buffer.partition(marker)
        return block

    def next_event(self) -> Event:
        """Return the next named event (comments and the retry field skipped)."""
        while True:
            fields = dict(
                line.split(": ", 1)
                for line in self._read_until(b"\n\n").decode().splitlines()
                if ": " in line and not line.startswith(":")
            )
            if "event" in fields:
                return Event(fields["event"], json.loads(fields["data"]))

    def read_to_end(self) -> bytes:
        """Return what comes until the server closes (a timeout fails the test)."""
        while chunk := self.socket.recv(65_536):
            self._buffer += chunk
        return self._buffer

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def server(lab: Lab) -> Iterator[WebhookServer]:
    settings = WebhookSettings(bind_address="127.0.0.1", port=0, token=TOKEN)
    stream = StreamSettings(max_clients=2, lifetime_seconds=3, poll_seconds=0.1)
    pages = StatusRoutes(lab.reader(), TOKEN, require_token=False, stream=stream)
    webhook = WebhookServer(settings, ServiceDirectory([]), lambda request: True, pages=pages)
    webhook.start()
    yield webhook
    webhook.stop()


def test_the_first_event_carries_every_section(server: WebhookServer) -> None:
    client = StreamClient(server.address)

    first = client.next_event()
    client.close()

    assert client.status == 200 and "content-type: text/event-stream" in client.head
    assert first.name == "sections"
    assert {"needs", "supervisor", "zones", "cascades"} <= set(first.data)


def test_a_cascade_in_the_state_file_is_a_new_event(lab: Lab, server: WebhookServer) -> None:
    lab.beat()
    client = StreamClient(server.address)
    first = client.next_event()
    assert "No cascade yet" in str(first.data["cascades"])
    assert client.next_event().name == "status"

    lab.finish_cascade(Outcome.HEALED, 7)
    change = client.next_event()
    status = client.next_event()
    client.close()

    assert change.name == "sections" and "healed" in str(change.data["cascades"])
    assert "zones" not in change.data  # only what changed is sent again
    assert status.name == "status"
    assert status.data["cascades"]["recent"][0]["outcome"] == "healed"  # type: ignore[index]


def test_a_stream_ends_after_its_lifetime(server: WebhookServer) -> None:
    client = StreamClient(server.address)

    rest = client.read_to_end()  # returns only because the server closes

    assert b"event: sections" in rest


def test_at_most_two_streams_at_once(server: WebhookServer) -> None:
    first, second = StreamClient(server.address), StreamClient(server.address)
    first.next_event()
    second.next_event()

    third = StreamClient(server.address)
    refused = third.status
    third.close()
    first.close()
    fourth = StreamClient(server.address)  # a closed client's slot is free again
    while fourth.status == 503:  # until the server has seen the close (about a second)
        fourth.close()
        fourth = StreamClient(server.address)
    admitted = fourth.next_event().name
    second.close()
    fourth.close()

    assert refused == 503 and "retry-after:" in third.head
    assert admitted == "sections"


def test_the_api_still_answers_beside_two_streams(server: WebhookServer) -> None:
    streams = [StreamClient(server.address) for _ in range(2)]
    for stream in streams:
        stream.next_event()

    with socket.create_connection(server.address, timeout=READ_TIMEOUT_SECONDS) as plain:
        plain.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = plain.recv(65_536)
    for stream in streams:
        stream.close()

    assert answer.split(b" ", 2)[1] in (b"200", b"503")  # answered, not queued behind them


def test_stopping_the_server_ends_the_stream(server: WebhookServer) -> None:
    client = StreamClient(server.address)
    client.next_event()

    server.stop()

    client.read_to_end()  # returns: the server closed it
    client.close()


def test_nothing_is_sent_again_while_only_time_passes(lab: Lab) -> None:
    """An age in a section ("9 s ago") would change at every look and be sent every 2 s:
    frames of the same files a few seconds apart are equal."""
    lab.beat()
    topology = Topology()
    first = frame_of(lab.view(), topology)
    lab.clock.advance(7)
    second = frame_of(lab.view(), topology)
    assert first.sections == second.sections
    assert "s ago" not in str(first.sections)
