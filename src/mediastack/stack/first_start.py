"""Everything ``up`` does before compose starts a container, in this order:

1. render when mediastack.yaml or .env changed after the last render (``preflight``);
2. refuse (ConfigError, exit 2) while a secret the targeted stacks need is a placeholder;
3. build the supervisor's image when the ops stack is targeted and the image is missing or
   older than the installed mediastack (``mediastack.supervisor_image``).

Nothing here starts or stops a container; a dry run writes and builds nothing and says what
it would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.stack.preflight import render_if_stale, require_no_placeholders
from mediastack.stack.targets import resolve_targets
from mediastack.supervisor_image import ensure_supervisor_image, own_image_tag
from mediastack.supervisor_image.build import ImageBuilder


def prepare_up(
    loaded: LoadedConfig,
    targets: Sequence[str],
    *,
    engine: ImageBuilder | None,
    say: Callable[[str], None],
    dry_run: bool,
) -> set[Stack]:
    """Run steps 1-3 for ``targets``; return the stacks ``up`` will start. Raise ConfigError
    (placeholders, a config that does not render), TargetError / RenderedFileError (TARGETs),
    AdapterError (the image build). ``engine`` may be None only with ``dry_run``."""
    render_if_stale(loaded, say, dry_run)
    stacks = {target.stack for target in resolve_targets(loaded, targets)}
    require_no_placeholders(loaded, stacks)
    if Stack.OPS in stacks:
        _supervisor_image(loaded, engine, say, dry_run)
    return stacks


def _supervisor_image(
    loaded: LoadedConfig, engine: ImageBuilder | None, say: Callable[[str], None], dry_run: bool
) -> None:
    if dry_run:
        tag = own_image_tag(loaded)
        if tag is not None:
            say(f"build {tag} unless it exists, built from this mediastack")
        return
    if engine is None:
        raise ValueError("up needs an engine unless dry_run")
    ensure_supervisor_image(loaded, engine, say)
