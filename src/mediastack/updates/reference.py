"""Image references, normalised as the Docker engine does (pure).

``nginx`` is ``docker.io/library/nginx:latest``; ``qmcgaw/gluetun:v3`` is on Docker Hub;
``lscr.io/linuxserver/sonarr`` and ``127.0.0.1:5000/app:v1`` name their registry in the first
component (it holds a ``.`` or a ``:``, or is ``localhost``). Docker Hub's API lives on
``registry-1.docker.io``; the engine's ``RepoDigests`` name Hub images in their short form
(``nginx@sha256:...``, ``qmcgaw/gluetun@sha256:...``) and every other image with its registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
OFFICIAL_NAMESPACE = "library"
DEFAULT_TAG = "latest"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_HOST = re.compile(r"^[a-zA-Z0-9.-]+(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$")


@dataclass(frozen=True)
class ImageReference:
    """A normalised image reference. ``tag`` is ``latest`` when neither a tag nor a digest
    was given; ``digest`` is set for ``name@sha256:...`` references (pinned content)."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """Return the host serving the registry API (Docker Hub's is not docker.io)."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def familiar_name(self) -> str:
        """Return the repository as the engine writes it in RepoTags and RepoDigests."""
        if self.registry != DOCKER_HUB:
            return f"{self.registry}/{self.repository}"
        return self.repository.removeprefix(f"{OFFICIAL_NAMESPACE}/")

    @property
    def pinned_by_digest(self) -> bool:
        return self.digest is not None

    def same_repository(self, other: ImageReference) -> bool:
        return (self.registry, self.repository) == (other.registry, other.repository)

    def __str__(self) -> str:
        text = self.familiar_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_image_reference(text: str) -> ImageReference:
    """Given an image reference as compose files and ``docker run`` accept it, return it
    normalised; raise ValueError when it is not a valid reference."""
    name, _, digest = text.strip().partition("@")
    if digest and not _DIGEST.match(digest):
        raise ValueError(f"'{text}' has an invalid digest")
    name, tag = _split_tag(name)
    registry, path = _split_registry(name)
    components = path.split("/")
    if not path or not all(_COMPONENT.match(component) for component in components):
        raise ValueError(f"'{text}' is not a valid image name (lower case, digits, . _ -)")
    if registry == DOCKER_HUB and len(components) == 1:
        path = f"{OFFICIAL_NAMESPACE}/{path}"
    if tag is None and not digest:
        tag = DEFAULT_TAG
    return ImageReference(registry, path, tag, digest or None)


def _split_tag(name: str) -> tuple[str, str | None]:
    last_colon = name.rfind(":")
    if last_colon <= name.rfind("/"):
        return name, None
    tag = name[last_colon + 1 :]
    if not _TAG.match(tag):
        raise ValueError(f"'{name}' has an invalid tag '{tag}'")
    return name[:last_colon], tag


def _split_registry(name: str) -> tuple[str, str]:
    first, separator, rest = name.partition("/")
    is_host = separator and ("." in first or ":" in first or first == "localhost")
    if not is_host:
        return DOCKER_HUB, name
    if not _HOST.match(first):
        raise ValueError(f"'{name}' has an invalid registry host '{first}'")
    if first in DOCKER_HUB_ALIASES:
        return DOCKER_HUB, rest
    return first, rest


def repository_digests(reference: ImageReference, repo_digests: Iterable[str]) -> frozenset[str]:
    """Given a reference and an image's ``RepoDigests`` (``name@sha256:...``), return the
    digests recorded for the reference's repository. An image pulled by tag records the digest
    the registry served for that tag: for a multi-arch image its index digest. Unparsable
    entries are skipped."""
    found = set()
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        try:
            recorded = parse_image_reference(name)
        except ValueError:
            continue
        if digest and recorded.same_repository(reference):
            found.add(digest)
    return frozenset(found)
