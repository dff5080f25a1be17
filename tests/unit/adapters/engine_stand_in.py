"""A stand-in Docker engine on a unix socket for the adapter tests: it replays captured
answers of engine 20.10 (tests/fixtures/engine/http-*.txt) or hand-made ones, and records each
request."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

from mediastack.adapters.engine_socket import EngineEndpoint, SocketEngine

ENGINE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "engine"
ANSWER_TIMEOUT_SECONDS = 5.0
"""Short, so that a client waiting for the end of a connection the stand-in keeps open fails
fast (as unreachable) instead of hanging for the default 30 s."""


def captured(name: str) -> bytes:
    """Return the raw captured answer ``tests/fixtures/engine/http-<name>.txt``."""
    return (ENGINE_FIXTURES / f"http-{name}.txt").read_bytes()


def answer(status: int, reason: str, body: bytes = b"", content_type: str = "text/html") -> bytes:
    """Return a hand-made answer with a Content-Length."""
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
    return head.encode() + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


Route = Callable[[str, str], bytes]


class StandInEngine:
    """Answers each connection on a unix socket with ``route(method, path)``, then waits until
    the client closes it (so the client must end each answer by its framing), or, with
    ``keep_open=False``, closes it (which ends an answer read to the close, or cuts one).
    Records every request's head."""

    def __init__(self, path: Path, route: Route, keep_open: bool = True) -> None:
        self.requests: list[str] = []
        self.heads: list[bytes] = []
        self._route = route
        self._keep_open = keep_open
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
            lines = [reader.readline()]
            while lines[-1] not in (b"\r\n", b""):
                lines.append(reader.readline())
            method, path, _ = lines[0].decode().split(" ", 2)
            self.heads.append(b"".join(lines))
            self.requests.append(f"{method} {path}")
            try:
                connection.sendall(self._route(method, path))
                if self._keep_open:
                    connection.recv(1)  # returns once the client has closed its end
            except OSError:
                return


class StandIns:
    """Stand-in engines that give one answer to every request; all closed after the test."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._engines: list[StandInEngine] = []

    def client(
        self,
        answer: bytes,
        keep_open: bool = True,
        timeout_seconds: float = ANSWER_TIMEOUT_SECONDS,
    ) -> SocketEngine:
        """Return a client of a new stand-in that answers ``answer``."""
        path = self._folder / f"engine-{len(self._engines)}.sock"
        stand_in = StandInEngine(path, lambda method, path: answer, keep_open)
        self._engines.append(stand_in)
        return SocketEngine(stand_in.endpoint, "1.41", timeout_seconds)

    def close(self) -> None:
        for stand_in in self._engines:
            stand_in.close()
