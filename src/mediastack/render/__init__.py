"""Render the config into three compose projects (pure), and write them to disk."""

from mediastack.render.compose import (
    AUTOHEAL_LABEL,
    MANAGED_LABEL,
    NAMESPACE_GUARD,
    STACK_LABEL,
    ZONE_LABEL,
    RenderedStack,
    image_reference,
    published_ports,
    render_stacks,
)
from mediastack.render.write import WrittenFile, atomic_write, compose_text, render_to_disk

__all__ = [
    "AUTOHEAL_LABEL",
    "MANAGED_LABEL",
    "NAMESPACE_GUARD",
    "STACK_LABEL",
    "ZONE_LABEL",
    "RenderedStack",
    "WrittenFile",
    "atomic_write",
    "compose_text",
    "image_reference",
    "published_ports",
    "render_stacks",
    "render_to_disk",
]
