"""Running the rendered stacks: TARGET resolution, up/down/restart/pull, and status."""

from mediastack.stack.rendered import (
    RenderedFileError,
    RenderedProject,
    RenderedService,
    read_project,
    rendered_projects,
    require_rendered,
)
from mediastack.stack.targets import StackTarget, TargetError, resolve_targets

__all__ = [
    "RenderedFileError",
    "RenderedProject",
    "RenderedService",
    "StackTarget",
    "TargetError",
    "read_project",
    "rendered_projects",
    "require_rendered",
    "resolve_targets",
]
