"""The engine's local images, through the docker CLI and the one executor: which image a
container runs, what ``RepoDigests`` an image carries, and moving a tag.

This module is the update pipeline's side-effect edge towards the local image store (the
compose side is ``mediastack.adapters.compose``). It uses the CLI, not the SDK, so a dry run
prints the exact ``docker tag`` it would run, and the supervisor reaches the engine the same way
compose does (``DOCKER_HOST``). Reads batch every id into one command.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mediastack.adapters.errors import CommandError
from mediastack.adapters.executor import Executor
from mediastack.updates.reference import ImageReference, parse_image_reference

DOCKER = "docker"
ROLLBACK_REPOSITORY = "mediastack-rollback"
ROLLBACK_TAG = "previous"


@dataclass(frozen=True)
class LocalImage:
    """One local image: its id, and the repository digests and tags it carries."""

    id: str
    repo_digests: tuple[str, ...]
    repo_tags: tuple[str, ...]


class LocalImages(Protocol):
    """What the update pipeline reads from and does to the local image store."""

    def container_image_ids(self, container_ids: Sequence[str]) -> dict[str, str]:
        """Return container id -> the id of the image it runs (containers gone are left out)."""
        ...

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        """Return reference (name or id, as given) -> image, for those that exist locally."""
        ...

    def tag(self, image_id: str, target: str) -> None:
        """Point the tag ``target`` at ``image_id``. Raise CommandError when the engine refuses."""
        ...

    def remove_tag(self, target: str) -> None:
        """Remove the tag ``target`` (not the image, while other tags or containers use it);
        a tag that does not exist is not an error."""
        ...


def rollback_tag(project: str, service: str) -> str:
    """Return the tag that keeps a service's previous image during an update, e.g.
    ``mediastack-rollback/home-vpn-gluetun:previous``."""
    return f"{ROLLBACK_REPOSITORY}/{project}-{service}:{ROLLBACK_TAG}".lower()


class DockerCliImages:
    """LocalImages through ``docker`` commands run by an Executor."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def container_image_ids(self, container_ids: Sequence[str]) -> dict[str, str]:
        if not container_ids:
            return {}
        arguments = [DOCKER, "container", "inspect", "--format", "{{.Id}} {{.Image}}"]
        result = self._executor.run([*arguments, *container_ids], check=False)
        found: dict[str, str] = {}
        for line in result.stdout.splitlines():
            container_id, _, image_id = line.strip().partition(" ")
            if image_id:
                found[container_id] = image_id
        return {
            given: found[full]
            for given in container_ids
            for full in found
            if full.startswith(given)
        }

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        if not references:
            return {}
        result = self._executor.run([DOCKER, "image", "inspect", *references], check=False)
        images = [parse_image(raw) for raw in _json_list(result.stdout)]
        return {
            reference: image
            for reference in references
            for image in images
            if _is_named(image, reference)
        }

    def tag(self, image_id: str, target: str) -> None:
        self._executor.run([DOCKER, "image", "tag", image_id, target])

    def remove_tag(self, target: str) -> None:
        try:
            self._executor.run([DOCKER, "image", "rm", "--no-prune", target])
        except CommandError as error:
            if "No such image" not in error.output:
                raise


def parse_image(raw: dict[str, Any]) -> LocalImage:
    """Given one ``docker image inspect`` object, return a LocalImage."""
    return LocalImage(
        id=str(raw["Id"]),
        repo_digests=tuple(raw.get("RepoDigests") or ()),
        repo_tags=tuple(raw.get("RepoTags") or ()),
    )


def _json_list(text: str) -> list[dict[str, Any]]:
    """``docker image inspect`` prints one JSON array (``[]`` and an error for names that do
    not exist); anything unreadable reads as no images."""
    try:
        parsed = json.loads(text or "[]")
    except ValueError:
        return []
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []


def _is_named(image: LocalImage, reference: str) -> bool:
    """True when ``reference`` is one of the image's tags (compared normalised, so
    ``docker.io/library/nginx`` names ``nginx:latest``) or its id (12 hex digits at least)."""
    wanted = _normalised(reference)
    if wanted is not None and any(_normalised(tag) == wanted for tag in image.repo_tags):
        return True
    hexadecimal = reference.removeprefix("sha256:")
    return len(hexadecimal) >= 12 and image.id.removeprefix("sha256:").startswith(hexadecimal)


def _normalised(reference: str) -> ImageReference | None:
    try:
        return parse_image_reference(reference)
    except ValueError:
        return None
