"""Autoheal's one engine write: ``docker restart`` of a container, through the SDK."""

from __future__ import annotations

import docker
import docker.errors
import requests.exceptions

from mediastack.adapters.engine import unreachable
from mediastack.adapters.errors import EngineError

STOP_TIMEOUT_SECONDS = 10
"""As ``docker restart``: SIGTERM, then SIGKILL after this long."""
REQUEST_TIMEOUT_SECONDS = 60


class DockerRestarter:
    """Restarts containers with its own SDK client (it runs on the restart worker's thread)."""

    def __init__(self, stop_timeout_seconds: int = STOP_TIMEOUT_SECONDS) -> None:
        self._stop_timeout = stop_timeout_seconds
        self._client: docker.DockerClient | None = None

    def restart(self, container_id: str) -> None:
        """Restart ``container_id`` in place; raise EngineUnreachableError without an engine
        and EngineError when the engine refuses (e.g. the container is gone)."""
        try:
            if self._client is None:
                self._client = docker.from_env(timeout=REQUEST_TIMEOUT_SECONDS)
            self._client.api.restart(container_id, timeout=self._stop_timeout)
        except docker.errors.APIError as error:
            raise EngineError(str(error.explanation or error)) from error
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            self._client = None  # a new connection next time (the engine may have restarted)
            raise unreachable(error) from error
