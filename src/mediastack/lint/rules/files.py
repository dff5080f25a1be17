"""Rules about the compose files themselves."""

from __future__ import annotations

from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject


def unlinted_override_file(project: ComposeProject) -> Iterator[Violation]:
    """FIL001: compose merges an override file next to the project file; lint does not read
    it, so what it changes is unchecked."""
    for override in project.override_paths:
        yield Violation(
            None,
            f"{override.name} is merged into {project.path.name} by compose, but lint does not "
            "read it: whatever it changes is unchecked",
            f"move its settings into {project.path.name} (or mediastack.yaml) and delete it",
        )
