"""The engine's local image store through the Docker Engine HTTP API: which image a container
runs, what an image carries (``RepoDigests``, ``RepoTags``), moving a tag, removing one.

The update pipeline's one way to the image store, on the host (``mediastack update``) and in
the supervisor image, which has no docker CLI (issue 9: through the CLI, every update in the
container was a silent no-op). The requests go through the supervisor's own client
(``engine_socket.SocketEngine``: unix socket or ``tcp://socket-proxy:2375``); a ``DOCKER_HOST``
it does not reach (TLS, ``ssh://``) is served by the same requests through the docker SDK's
session (``SdkTransport``).

Endpoints (Engine API v1.41, the version of engine 20.10; unchanged since):
``GET /containers/{id}/json`` (``Image``), ``GET /images/{name}/json``, ``POST
/images/{name}/tag?repo=&tag=`` (201), ``DELETE /images/{name}?noprune=1`` (200). Only a 404
means "absent"; every other failure (a 5xx, a socket proxy's 403, an engine that cannot be
reached, an answer that is not JSON) raises, so an unreadable store is never read as an empty
one. Behind lscr.io/linuxserver/socket-proxy (HAProxy, root/templates/haproxy.cfg): the reads
need ``CONTAINERS=1`` and ``IMAGES=1``; the tag (POST) and the removal (DELETE) also
``POST=1``, which lets every method but GET and HEAD through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from mediastack.adapters.engine import DEFAULT_ENGINE_TIMEOUT_SECONDS, unreachable
from mediastack.adapters.engine_socket import SocketEngine, endpoint_from_environment, error_message
from mediastack.adapters.errors import EngineError

if TYPE_CHECKING:
    import docker

OK = 200
CREATED = 201
FORBIDDEN = 403
NOT_FOUND = 404
PATH_SAFE = "/:@"
"""Kept as they are in a path, as the Go client does: image names read as themselves."""


@dataclass(frozen=True)
class LocalImage:
    """One local image: its id, the repository digests and tags it carries, and its labels
    (``up`` reads the supervisor image's source label from them)."""

    id: str
    repo_digests: tuple[str, ...]
    repo_tags: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class EngineRequest:
    """One API request without a body: method and path (without the API version)."""

    method: str
    path: str

    def text(self, api_version: str | None = None) -> str:
        """Return the request as a line, e.g. ``DELETE /v1.41/images/x:1?noprune=1``."""
        prefix = f"/v{api_version}" if api_version else ""
        return f"{self.method} {prefix}{self.path}"


class Transport(Protocol):
    """Makes one request on the engine; returns the status and the whole body; raises
    EngineUnreachableError when the engine cannot be reached."""

    api_version: str

    def request(self, method: str, path: str) -> tuple[int, bytes]: ...


# -- the requests (pure) -------------------------------------------------------------------------


def container_request(container_id: str) -> EngineRequest:
    return EngineRequest("GET", f"/containers/{quote(container_id, safe='')}/json")


def image_request(name: str) -> EngineRequest:
    return EngineRequest("GET", f"/images/{quote(name, safe=PATH_SAFE)}/json")


def tag_request(image: str, target: str) -> EngineRequest:
    """The request that points ``target`` (``repository[:tag]``, tag ``latest`` when none)
    at ``image`` (a name or an id)."""
    repository, tag = split_target(target)
    query = urlencode({"repo": repository, "tag": tag}, safe=PATH_SAFE)
    return EngineRequest("POST", f"/images/{quote(image, safe=PATH_SAFE)}/tag?{query}")


def remove_request(target: str) -> EngineRequest:
    """The request that removes the tag ``target``: the image goes with its last tag, unless a
    container uses it (409); ``noprune`` keeps its untagged parents, as ``--no-prune``."""
    return EngineRequest("DELETE", f"/images/{quote(target, safe=PATH_SAFE)}?noprune=1")


def split_target(target: str) -> tuple[str, str]:
    """Given ``repository[:tag]`` (the repository may name a registry with a port), return
    the repository and the tag (``latest`` when none)."""
    repository, colon, tag = target.rpartition(":")
    if not colon or "/" in tag:  # no tag, or the colon was a registry's port
        return target, "latest"
    return repository, tag


def parse_image(raw: Mapping[str, Any]) -> LocalImage:
    """Given one ``GET /images/{name}/json`` object, return a LocalImage."""
    return LocalImage(
        id=str(raw["Id"]),
        repo_digests=tuple(raw.get("RepoDigests") or ()),
        repo_tags=tuple(raw.get("RepoTags") or ()),
        labels=dict((raw.get("Config") or {}).get("Labels") or {}),
    )


# -- the store -----------------------------------------------------------------------------------


class EngineImages:
    """The update pipeline's ``LocalImages``, one request per container or image."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    @property
    def api_version(self) -> str:
        return self._transport.api_version

    def container_image_ids(self, container_ids: Sequence[str]) -> dict[str, str]:
        """Return container id -> the id of the image it runs; containers gone (404) are left
        out. Raise EngineError or EngineUnreachableError for any other failure."""
        found: dict[str, str] = {}
        for container_id in container_ids:
            raw = self._read(container_request(container_id))
            if raw is not None:
                found[container_id] = str(raw["Image"])
        return found

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        """Return reference (name or id, as given) -> image, for those that exist (404: not
        there). Raise EngineError or EngineUnreachableError for any other failure."""
        found: dict[str, LocalImage] = {}
        for reference in dict.fromkeys(references):
            raw = self._read(image_request(reference))
            if raw is not None:
                found[reference] = parse_image(raw)
        return found

    def tag(self, image_id: str, target: str) -> None:
        """Point ``target`` at ``image_id``; raise EngineError when the engine refuses."""
        self._change(tag_request(image_id, target), (CREATED, OK))

    def remove_tag(self, target: str) -> None:
        """Remove the tag ``target``; one that does not exist (404) is fine. Raise EngineError
        when the engine refuses (409: a container uses the image it is the last tag of)."""
        self._change(remove_request(target), (OK, NOT_FOUND))

    def printing(self, write: Callable[[str], None]) -> PrintedImages:
        """Return a twin whose changes are written as requests (a dry run), not made."""
        return PrintedImages(write, self.api_version)

    def _read(self, request: EngineRequest) -> dict[str, Any] | None:
        status, body = self._transport.request(request.method, request.path)
        if status == NOT_FOUND:
            return None
        self._raise_for(request, status, body, (OK,))
        try:
            value = json.loads(body)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise EngineError(f"{self._line(request)}: the engine's answer is not a JSON object")
        return value

    def _change(self, request: EngineRequest, accepted: tuple[int, ...]) -> None:
        status, body = self._transport.request(request.method, request.path)
        self._raise_for(request, status, body, accepted)

    def _raise_for(
        self, request: EngineRequest, status: int, body: bytes, accepted: tuple[int, ...]
    ) -> None:
        if status in accepted:
            return
        message = f"{self._line(request)} answered {status}: {error_message(status, body)}"
        fix = None
        if status == FORBIDDEN:
            fix = (
                "the socket proxy forbids this request: the update pipeline needs "
                "CONTAINERS=1, IMAGES=1 and POST=1 on the socket-proxy service"
            )
        raise EngineError(message, fix)

    def _line(self, request: EngineRequest) -> str:
        return request.text(self.api_version)


class PrintedImages:
    """``LocalImages`` for a dry run: ``tag`` and ``remove_tag`` write the request they would
    make (``POST /v1.41/images/<id>/tag?repo=...&tag=...``); nothing is read or changed."""

    def __init__(self, write: Callable[[str], None], api_version: str | None = None) -> None:
        self._write = write
        self._api_version = api_version

    def container_image_ids(self, container_ids: Sequence[str]) -> dict[str, str]:
        return {}

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        return {}

    def tag(self, image_id: str, target: str) -> None:
        self._write(f"engine: {tag_request(image_id, target).text(self._api_version)}")

    def remove_tag(self, target: str) -> None:
        self._write(f"engine: {remove_request(target).text(self._api_version)}")

    def printing(self, write: Callable[[str], None]) -> PrintedImages:
        return PrintedImages(write, self._api_version)


# -- reaching the engine -------------------------------------------------------------------------


class SdkTransport:
    """The same requests through the docker SDK's HTTP session, for a ``DOCKER_HOST`` the
    socket client does not reach (TLS, ``ssh://``)."""

    def __init__(self, client: docker.APIClient, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self.api_version = str(client.api_version)

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        import requests.exceptions

        url = f"{self._client.base_url}/v{self.api_version}{path}"
        try:
            response = self._client.request(method, url, timeout=self._timeout)
        except requests.exceptions.RequestException as error:
            raise unreachable(error) from None
        return response.status_code, response.content


def connect_images(
    environment: Mapping[str, str],
    timeout_seconds: float = DEFAULT_ENGINE_TIMEOUT_SECONDS,
) -> EngineImages:
    """Return the image store of the engine ``DOCKER_HOST`` names; raise
    EngineUnreachableError when there is no engine to talk to."""
    endpoint = endpoint_from_environment(environment)
    if endpoint is not None:
        return EngineImages(SocketEngine.connect(endpoint, timeout_seconds))
    import docker
    import docker.errors
    import requests.exceptions
    from docker.utils import kwargs_from_env

    try:
        client = docker.APIClient(**kwargs_from_env(environment=dict(environment)))
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        raise unreachable(error) from None
    return EngineImages(SdkTransport(client, timeout_seconds))
