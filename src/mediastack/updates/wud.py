"""What's Up Docker's HTTP trigger payload, parsed where it enters, and mapped to our services.

WUD's HTTP trigger (``WUD_TRIGGER_HTTP_<NAME>_URL``, method POST) sends its container object as
JSON: one object in ``simple`` mode, an array of them in ``batch`` mode. Shape (WUD's
``app/model/container.ts``; fixtures in tests/unit/updates/fixtures/): ``id``, ``name`` (the
container name), ``watcher``, ``image{id, registry{name, url}, name, tag{value, semver},
digest{watch, value, repo}, architecture, os, created}``, ``result{tag, digest, created,
link}``, ``updateAvailable``, ``updateKind{kind: tag|digest|unknown, localValue, remoteValue,
semverDiff}``, and ``labels`` (the container's labels, compose's included). Fields this module
does not read are ignored; those it reads are bounded in length.

Mapping: the compose labels (``com.docker.compose.project`` + ``.service``) first, then the
container name compose gives (``<project>-<service>-<n>``). Only a service of the rendered
stacks can come out, and what comes out is *our* name for it, never a string from the payload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mediastack.adapters.engine import COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL
from mediastack.stack.rendered import RenderedProject

MAXIMUM_CONTAINERS = 500
_TEXT = 512


class PayloadError(ValueError):
    """The body is not a WUD container payload; the message says what is wrong (for a 400)."""


class _WudModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WudRegistry(_WudModel):
    name: str | None = Field(None, max_length=_TEXT)
    url: str | None = Field(None, max_length=_TEXT)


class WudTag(_WudModel):
    value: str = Field(max_length=_TEXT)
    semver: bool | None = None


class WudDigest(_WudModel):
    watch: bool | None = None
    value: str | None = Field(None, max_length=_TEXT)
    repo: str | None = Field(None, max_length=_TEXT)


class WudImage(_WudModel):
    id: str | None = Field(None, max_length=_TEXT)
    registry: WudRegistry
    name: str = Field(max_length=_TEXT)
    tag: WudTag
    digest: WudDigest | None = None


class WudResult(_WudModel):
    tag: str | None = Field(None, max_length=_TEXT)
    digest: str | None = Field(None, max_length=_TEXT)


class WudUpdateKind(_WudModel):
    kind: Literal["tag", "digest", "unknown"]
    local_value: str | None = Field(None, alias="localValue", max_length=_TEXT)
    remote_value: str | None = Field(None, alias="remoteValue", max_length=_TEXT)
    semver_diff: str | None = Field(None, alias="semverDiff", max_length=_TEXT)


class WudContainer(_WudModel):
    """One container as WUD's HTTP trigger sends it."""

    id: str | None = Field(None, max_length=_TEXT)
    name: str = Field(min_length=1, max_length=_TEXT)
    watcher: str | None = Field(None, max_length=_TEXT)
    image: WudImage
    result: WudResult | None = None
    update_available: bool = Field(False, alias="updateAvailable")
    update_kind: WudUpdateKind | None = Field(None, alias="updateKind")
    labels: dict[str, str] | None = Field(None, max_length=1000)


def parse_wud_payload(body: bytes) -> list[WudContainer]:
    """Given a request body, return its containers (one for simple mode, each of a batch);
    raise PayloadError when it is not JSON, not UTF-8, not an object or an array of objects,
    an object lacks a field WUD always sends, or a batch holds more than 500 containers."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadError(f"not JSON: {error}") from None
    items = document if isinstance(document, list) else [document]
    if not items or len(items) > MAXIMUM_CONTAINERS:
        raise PayloadError(f"expected 1 to {MAXIMUM_CONTAINERS} containers, got {len(items)}")
    containers = []
    for index, item in enumerate(items):
        try:
            containers.append(WudContainer.model_validate(item))
        except ValidationError as error:
            raise PayloadError(f"container {index}: {_first_problem(error)}") from None
    return containers


def _first_problem(error: ValidationError) -> str:
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"]) or "(top level)"
    return f"{where}: {detail['msg']}"


@dataclass(frozen=True)
class Resolution:
    """A payload container mapped to a service of ours (``service`` None: ignored, and why)."""

    container_name: str
    service: str | None
    reason: str


class ServiceDirectory:
    """The services of the rendered stacks, found by compose labels or container name."""

    def __init__(self, projects: Sequence[RenderedProject]) -> None:
        self._by_labels = {
            (project.project_name, name): name
            for project in projects
            for name in project.service_names
        }
        self._patterns = [
            (re.compile(rf"^{re.escape(project)}[-_]{re.escape(service)}[-_][0-9]+$"), service)
            for (project, service) in self._by_labels
        ]

    def resolve(self, container: WudContainer) -> Resolution:
        """Return the service ``container`` is, or why it is ignored (no update available, or
        not one of the rendered stacks' services)."""
        shown = container.name[:80]
        if not container.update_available:
            return Resolution(shown, None, "no update available")
        service = self._by_compose_labels(container) or self._by_container_name(container.name)
        if service is None:
            return Resolution(shown, None, "not a service of the rendered stacks")
        return Resolution(shown, service, "queued")

    def _by_compose_labels(self, container: WudContainer) -> str | None:
        labels = container.labels or {}
        project = labels.get(COMPOSE_PROJECT_LABEL)
        service = labels.get(COMPOSE_SERVICE_LABEL)
        if project is None or service is None:
            return None
        return self._by_labels.get((project, service))

    def _by_container_name(self, name: str) -> str | None:
        bare = name.lstrip("/")
        return next((service for pattern, service in self._patterns if pattern.match(bare)), None)
