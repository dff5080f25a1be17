"""The cascade's second step, starting a prepared (created) container, and the removal of a
half-made one, through the SDK."""

from __future__ import annotations

import threading

import docker
import docker.errors
import requests.exceptions

from mediastack.adapters.engine import unreachable
from mediastack.adapters.errors import EngineError

REQUEST_TIMEOUT_SECONDS = 60


class DockerStarter:
    """Starts containers with one SDK client of its own, shared by the threads that start
    prepared dependents in parallel (its connection pool is thread-safe; made on first use,
    so an idle supervisor holds no connection for it)."""

    def __init__(self) -> None:
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()

    def start(self, container_id: str) -> None:
        """Start ``container_id``; raise EngineUnreachableError without an engine and
        EngineError when the engine refuses (e.g. "cannot join network of a non running
        container" when gluetun went down again)."""
        try:
            self._connected().api.start(container_id)
        except docker.errors.APIError as error:
            raise EngineError(str(error.explanation or error)) from error
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            with self._lock:
                self._client = None  # a new connection next time (the engine may have restarted)
            raise unreachable(error) from error

    def remove(self, container_id: str) -> None:
        """Remove a container that does not run (its volumes kept); one already gone is
        removed. Raise EngineError when the engine refuses."""
        try:
            self._connected().api.remove_container(container_id)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as error:
            raise EngineError(str(error.explanation or error)) from error
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            with self._lock:
                self._client = None
            raise unreachable(error) from error

    def _connected(self) -> docker.DockerClient:
        with self._lock:
            if self._client is None:
                self._client = docker.from_env(timeout=REQUEST_TIMEOUT_SECONDS)
            return self._client
