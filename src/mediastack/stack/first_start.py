"""Everything ``up`` does before compose starts a container, in this order:

1. render when mediastack.yaml or .env changed after the last render (``preflight``);
2. refuse (ConfigError, exit 2) while a secret the targeted stacks need is a placeholder;
3. build the supervisor's image when the ops stack is targeted and the image is missing or
   older than the installed mediastack (``mediastack.supervisor_image``);

and after the vpn stack is up and healthy: one Recyclarr sync (``sync_recyclarr_once``).

Nothing here starts or stops a container; a dry run writes and builds nothing and says what
it would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mediastack.adapters.compose import Compose
from mediastack.adapters.errors import CommandError
from mediastack.catalogue import CATALOGUE, Stack
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


RECYCLARR = "recyclarr"
RECYCLARR_NEEDS = ("sonarr", "radarr")
RECYCLARR_SYNC_TIMEOUT_SECONDS = 300


def sync_recyclarr_once(
    loaded: LoadedConfig,
    compose: Compose,
    say: Callable[[str], None],
) -> bool | None:
    """Run one ``recyclarr sync`` in the vpn stack, right after ``up --wait`` found Sonarr and
    Radarr healthy: the image's cron would first sync a day later, and until then the quality
    profiles Seerr and the wiring name do not exist. Return True on success, False on a
    failure (said, with the fix: it never fails ``up``), None when recyclarr, Sonarr or Radarr
    is switched off."""
    if not all(loaded.is_enabled(CATALOGUE[name]) for name in (RECYCLARR, *RECYCLARR_NEEDS)):
        return None
    say("recyclarr: first sync of the quality profiles into sonarr and radarr")
    try:
        result = compose.exec(
            RECYCLARR, ["recyclarr", "sync"], timeout_seconds=RECYCLARR_SYNC_TIMEOUT_SECONDS
        )
    except CommandError as error:
        say(f"recyclarr sync did not finish: {error.message} (fix: `mediastack logs recyclarr`)")
        return False
    if result.exit_code != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        say(
            f"recyclarr sync exited {result.exit_code}: {last[0]} (its daily cron tries again; "
            "see `mediastack logs recyclarr`)"
        )
        return False
    say("recyclarr: profiles synced")
    return True
