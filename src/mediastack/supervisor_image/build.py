"""Make sure the supervisor's image exists before ``up`` starts the ops stack.

Control flow: is the supervisor enabled and running mediastack's own image? -> does the
engine hold that tag, built from the installed code (label ``org.mediastack.source``)? -> if
not: make the build context (``context.py``) and build it through the engine, each builder
line shown as progress. A user's own supervisor image (``services.supervisor.image``) is never
built over: it is theirs to provide.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mediastack.adapters.engine_images import LocalImage
from mediastack.catalogue import CATALOGUE
from mediastack.config import LoadedConfig
from mediastack.render.compose import image_reference
from mediastack.supervisor_image.context import prepare_context, source_hash

SERVICE = "supervisor"
SOURCE_LABEL = "org.mediastack.source"


class ImageReader(Protocol):
    """The image store as the update pipeline reads it (``EngineImages`` is one)."""

    def inspect_images(self, references: Sequence[str]) -> Mapping[str, LocalImage]: ...


class ImageBuilder(Protocol):
    """What this module needs from the engine to build (``DockerEngine`` is one)."""

    def build_image(
        self,
        context: Path,
        tag: str,
        build_arguments: Mapping[str, str],
        labels: Mapping[str, str],
        on_line: Callable[[str], None],
    ) -> None: ...


@dataclass(frozen=True)
class ImageNeed:
    """Whether ``up`` must build the supervisor image, and why."""

    tag: str
    base_image: str
    reason: str | None  # None: nothing to build

    @property
    def build(self) -> bool:
        return self.reason is not None


def own_image_tag(loaded: LoadedConfig) -> str | None:
    """Return the supervisor image tag ``up`` builds, or None when the supervisor is off or
    runs an image the user chose (``services.supervisor.image``)."""
    definition = CATALOGUE[SERVICE]
    if not loaded.is_enabled(definition):
        return None
    settings = loaded.config.services.get(SERVICE)
    if settings is not None and settings.image is not None:
        return None
    return image_reference(loaded, definition)


def decide(tag: str, base_image: str, labels: Mapping[str, str] | None, wanted: str) -> ImageNeed:
    """Given the engine's labels of ``tag`` (None: no such image) and the installed code's
    hash, return whether to build (pure)."""
    if labels is None:
        return ImageNeed(tag, base_image, f"{tag} is not built yet")
    found = labels.get(SOURCE_LABEL)
    if found != wanted:
        return ImageNeed(tag, base_image, f"{tag} was built from other code ({found or 'unknown'})")
    return ImageNeed(tag, base_image, None)


def ensure_supervisor_image(
    loaded: LoadedConfig,
    engine: ImageBuilder,
    images: ImageReader,
    say: Callable[[str], None],
) -> ImageNeed | None:
    """Build the supervisor image when it is missing or stale; return what was decided (None:
    not mediastack's to build). Raise AdapterError when the build fails."""
    tag = own_image_tag(loaded)
    if tag is None:
        return None
    return ensure_image(engine, images, tag, loaded.config.supervisor.image_base, say)


def ensure_image(
    engine: ImageBuilder,
    images: ImageReader,
    tag: str,
    base_image: str,
    say: Callable[[str], None],
) -> ImageNeed:
    """Build ``tag`` on ``base_image`` unless the engine holds it built from this code.
    Raise EngineError when the store cannot be read (never taken for "no image")."""
    found = images.inspect_images([tag]).get(tag)
    need = decide(tag, base_image, None if found is None else found.labels, source_hash())
    if need.build:
        say(f"building {tag}: {need.reason} (base {base_image}; a few minutes the first time)")
        build(engine, tag, base_image, say)
        say(f"built {tag}")
    return need


def build(engine: ImageBuilder, tag: str, base_image: str, say: Callable[[str], None]) -> None:
    """Make the build context from the installed mediastack and build ``tag`` from it, each
    builder line passed to ``say``. Raise AdapterError when pip or the build fails."""
    with tempfile.TemporaryDirectory(prefix="mediastack-image-") as folder:
        context = Path(folder)
        say("collecting wheels (pip wheel, pinned to the installed versions)")
        prepare_context(context)
        engine.build_image(
            context,
            tag,
            {"BASE_IMAGE": base_image},
            {SOURCE_LABEL: source_hash()},
            lambda line: say(f"  {line}"),
        )
