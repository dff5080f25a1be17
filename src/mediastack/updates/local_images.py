"""The update pipeline's view of the engine's local images: which image a container runs,
what ``RepoDigests`` an image carries, and moving a tag (the rollback tag, and the service's
tag back on a rollback).

One way to the store: the Engine API (``mediastack.adapters.engine_images.EngineImages``), for
``mediastack update`` on the host and for the supervisor's update jobs in its image alike (that
image has no docker CLI). A dry run prints the API requests a change would make
(``EngineImages.printing``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mediastack.adapters.engine_images import (
    EngineImages,
    LocalImage,
    PrintedImages,
    connect_images,
    parse_image,
)

ROLLBACK_REPOSITORY = "mediastack-rollback"
ROLLBACK_TAG = "previous"

__all__ = [
    "EngineImages",
    "LocalImage",
    "LocalImages",
    "PrintedImages",
    "connect_images",
    "parse_image",
    "rollback_tag",
]


class LocalImages(Protocol):
    """What the update pipeline reads from and does to the local image store. Every method
    raises AdapterError when the store cannot be read or refuses: an unreadable store is
    never taken for an empty one."""

    def container_image_ids(self, container_ids: Sequence[str]) -> dict[str, str]:
        """Return container id -> the id of the image it runs (containers gone are left out)."""
        ...

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        """Return reference (name or id, as given) -> image, for those that exist locally."""
        ...

    def tag(self, image_id: str, target: str) -> None:
        """Point the tag ``target`` at ``image_id``. Raise AdapterError when the engine refuses."""
        ...

    def remove_tag(self, target: str) -> None:
        """Remove the tag ``target`` (the image goes with its last tag); a tag that does not
        exist is not an error. Raise AdapterError when the engine refuses (a container uses
        the image it is the last tag of)."""
        ...

    def printing(self, write: Callable[[str], None]) -> LocalImages:
        """Return a twin whose ``tag`` and ``remove_tag`` write what they would do (one line
        each) instead of doing it: the dry run's."""
        ...


def rollback_tag(project: str, service: str) -> str:
    """Return the tag that keeps a service's previous image during an update, e.g.
    ``mediastack-rollback/home-vpn-gluetun:previous``."""
    return f"{ROLLBACK_REPOSITORY}/{project}-{service}:{ROLLBACK_TAG}".lower()
