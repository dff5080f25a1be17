"""What ``up`` checks before it starts anything: the rendered files are current, and no secret
the stacks need still holds one of ``init``'s ``CHANGE_ME`` placeholders.

Control flow: stale? (mediastack.yaml or .env newer than a rendered compose file, or a stack
not rendered) -> render, saying which files changed -> the variables the rendered stacks need
-> any still a placeholder: ConfigError naming each (exit 2), nothing started.

Staleness is judged by modification times rather than by always rendering: a compose file
edited by hand after the last render is newer than the config and is run as it is (the README
promises the rendered files are the user's to edit).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mediastack.catalogue import Stack
from mediastack.config import ConfigError, ConfigProblem, LoadedConfig
from mediastack.render import render_stacks, render_to_disk
from mediastack.render.environment import is_placeholder, read_secrets


def stale_reason(loaded: LoadedConfig) -> str | None:
    """Return why the rendered stacks are out of date (None: current): nothing rendered, or
    mediastack.yaml or .env modified after a rendered compose file. A stack missing beside
    rendered ones is left to TARGET resolution, which names it."""
    sources = [path for path in (loaded.path, loaded.env_file) if path.exists()]
    newest_source = max(sources, key=_modified, default=None)
    compose_files = [loaded.compose_file(stack) for stack in Stack]
    rendered = [path for path in compose_files if path.exists()]
    if not rendered:
        return "no stack is rendered yet"
    for compose_file in rendered:
        if newest_source is not None and _modified(newest_source) > _modified(compose_file):
            return f"{newest_source.name} changed after {compose_file} was rendered"
    return None


def render_if_stale(loaded: LoadedConfig, say: Callable[[str], None], dry_run: bool) -> bool:
    """Render when the stacks are out of date, saying why and what changed; return whether
    it rendered (in a dry run: would render). Raise ConfigError as ``render`` does."""
    reason = stale_reason(loaded)
    if reason is None:
        return False
    written = render_to_disk(loaded, dry_run=dry_run)
    if not dry_run:
        # Unchanged files are not rewritten; mark them current so the next `up` does not
        # render again for the same edit.
        for item in render_stacks(loaded):
            os.utime(loaded.compose_file(item.stack))
    changed = [str(item.path.relative_to(loaded.root)) for item in written if item.changed]
    verb = "would render" if dry_run else "rendered"
    say(f"{reason}: {verb} {', '.join(changed) or 'nothing new'}")
    return True


def placeholder_problems(loaded: LoadedConfig, stacks: set[Stack]) -> list[ConfigProblem]:
    """Return one problem per variable that a stack in ``stacks`` needs and ``.env`` still
    holds as a ``CHANGE_ME`` placeholder."""
    secrets = read_secrets(loaded.env_file)
    needed: dict[str, set[str]] = {}
    for rendered in render_stacks(loaded):
        if rendered.stack in stacks:
            for variable in rendered.variables:
                needed.setdefault(variable, set()).add(rendered.stack.value)
    return [
        ConfigProblem(
            variable,
            f"still the placeholder {secrets[variable]!r} (needed by the "
            f"{', '.join(sorted(needed[variable]))} stack)",
            f"put the real value in {loaded.env_file}, then run `mediastack up` again",
        )
        for variable in sorted(needed)
        if is_placeholder(secrets.get(variable, ""))
    ]


def require_no_placeholders(loaded: LoadedConfig, stacks: set[Stack]) -> None:
    """Raise ConfigError listing every placeholder the stacks to start still need."""
    problems = placeholder_problems(loaded, stacks)
    if problems:
        raise ConfigError(str(loaded.env_file), problems)


def _modified(path: Path) -> int:
    return path.stat().st_mtime_ns
