"""Autoheal's one engine write: ``docker restart`` of a container.

``SocketRestarter`` goes through the supervisor's own engine client (h11 on the
engine's socket; see ``mediastack.adapters.engine_socket`` for why not the SDK);
``DockerRestarter`` (the SDK) serves a ``DOCKER_HOST`` that client does not reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediastack.adapters.engine import unreachable
from mediastack.adapters.engine_socket import SocketEngine
from mediastack.adapters.errors import EngineError

if TYPE_CHECKING:
    import docker

STOP_TIMEOUT_SECONDS = 10
"""As ``docker restart``: SIGTERM, then SIGKILL after this long."""
REQUEST_TIMEOUT_SECONDS = 60


class SocketRestarter:
    """Restarts containers through ``engine`` (thread-safe: a connection per request)."""

    def __init__(self, engine: SocketEngine, stop_timeout_seconds: int = STOP_TIMEOUT_SECONDS):
        self._engine = engine
        self._stop_timeout = stop_timeout_seconds

    def restart(self, container_id: str) -> None:
        """Restart ``container_id`` in place; raise EngineUnreachableError without an engine
        and EngineError when the engine refuses (e.g. the container is gone)."""
        self._engine.restart(container_id, self._stop_timeout)


class DockerRestarter:
    """Restarts containers with its own SDK client (it runs on the restart worker's thread)."""

    def __init__(self, stop_timeout_seconds: int = STOP_TIMEOUT_SECONDS) -> None:
        self._stop_timeout = stop_timeout_seconds
        self._client: docker.DockerClient | None = None

    def restart(self, container_id: str) -> None:
        """Restart ``container_id`` in place; raise EngineUnreachableError without an engine
        and EngineError when the engine refuses (e.g. the container is gone)."""
        import docker
        import docker.errors
        import requests.exceptions

        try:
            if self._client is None:
                self._client = docker.from_env(timeout=REQUEST_TIMEOUT_SECONDS)
            self._client.api.restart(container_id, timeout=self._stop_timeout)
        except docker.errors.APIError as error:
            raise EngineError(str(error.explanation or error)) from error
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            self._client = None  # a new connection next time (the engine may have restarted)
            raise unreachable(error) from error
