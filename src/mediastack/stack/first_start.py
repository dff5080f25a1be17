"""Everything ``up`` does before compose starts a container, in this order:

0. give .env the generated secrets it lacks (a homelab an older mediastack made has no status
   token yet; every value already there is kept);
1. render when mediastack.yaml or .env changed after the last render (``preflight``);
2. refuse (ConfigError, exit 2) while a secret the targeted stacks need is a placeholder;
3. write the apps' own config files (``mediastack.appconfig``: qBittorrent's password hash,
   cross-seed's config.js, recyclarr.yml, Bazarr's keys) where missing or changed, never
   under a running app;
4. build the supervisor's image when the ops stack is targeted and the image is missing or
   older than the installed mediastack (``mediastack.supervisor_image``);

and, once the stacks are up and healthy, ``up`` wires the apps (``stack.app_links``; Recyclarr's
first sync is one of the links).

Nothing here starts or stops a container; a dry run writes and builds nothing and says what
it would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mediastack.adapters.engine import ContainerReader
from mediastack.appconfig.write import AppConfigResult, apply_app_configs, plan_app_configs
from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.render.environment import read_secrets
from mediastack.scaffold import add_generated_variables, missing_generated_variables
from mediastack.stack.preflight import render_if_stale, require_no_placeholders
from mediastack.stack.rendered import RenderedProject
from mediastack.stack.status import project_containers
from mediastack.stack.targets import resolve_targets
from mediastack.supervisor_image import ensure_supervisor_image, own_image_tag
from mediastack.supervisor_image.build import ImageBuilder, ImageReader


class Engine(ImageBuilder, ContainerReader, Protocol):
    """What ``up``'s preparation asks of the engine: a build and the running containers
    (the image store is read as the update pipeline reads it, ``images``)."""


def prepare_up(
    loaded: LoadedConfig,
    targets: Sequence[str],
    *,
    engine: Engine | None,
    images: ImageReader | None,
    say: Callable[[str], None],
    dry_run: bool,
) -> set[Stack]:
    """Run steps 1-4 for ``targets``; return the stacks ``up`` will start. Raise ConfigError
    (placeholders, a config that does not render), TargetError / RenderedFileError (TARGETs),
    AdapterError (the image build). ``engine`` and ``images`` may be None only with
    ``dry_run``."""
    _add_generated_secrets(loaded, say, dry_run)
    render_if_stale(loaded, say, dry_run)
    projects = [target.project for target in resolve_targets(loaded, targets)]
    stacks = {project.stack for project in projects}
    require_no_placeholders(loaded, stacks)
    write_app_configs(loaded, projects, engine, say, dry_run)
    if Stack.OPS in stacks:
        _supervisor_image(loaded, engine, images, say, dry_run)
    return stacks


def _add_generated_secrets(loaded: LoadedConfig, say: Callable[[str], None], dry_run: bool) -> None:
    if not loaded.env_file.exists():
        return  # require_no_placeholders says how to make it
    if dry_run:
        missing = missing_generated_variables(loaded.env_file)
        if missing:
            say(f"would add to {loaded.env_file.name}: {', '.join(missing)}")
        return
    added = add_generated_variables(loaded.env_file)
    if added:
        say(f"added to {loaded.env_file.name}: {', '.join(added)} (generated)")


def write_app_configs(
    loaded: LoadedConfig,
    projects: Sequence[RenderedProject],
    engine: ContainerReader | None,
    say: Callable[[str], None],
    dry_run: bool,
) -> list[AppConfigResult]:
    """Write the config files of the apps in ``projects`` that are missing or changed, never
    under a running app that would overwrite them; say each file written or skipped. Raise
    ConfigError when a secret a file needs is missing."""
    services = {
        definition.name
        for project in projects
        for definition in loaded.enabled_services(project.stack)
    }
    planned = [
        file
        for file in plan_app_configs(loaded, read_secrets(loaded.env_file))
        if file.service in services
    ]
    running = set() if engine is None else running_services(projects, engine)
    results = apply_app_configs(planned, running, dry_run)
    for result in results:
        if result.action != "unchanged":
            relative = result.path.relative_to(loaded.root)
            verb = f"would be {result.action}" if dry_run else result.action
            detail = f": {result.reason}" if result.reason else ""
            say(f"{result.service} config {relative} {verb}{detail}")
    return results


def running_services(projects: Sequence[RenderedProject], engine: ContainerReader) -> set[str]:
    """Return the compose services of ``projects`` that have a running container."""
    return {
        service
        for project in projects
        for service, container in project_containers(engine, project).items()
        if container.running
    }


def _supervisor_image(
    loaded: LoadedConfig,
    engine: ImageBuilder | None,
    images: ImageReader | None,
    say: Callable[[str], None],
    dry_run: bool,
) -> None:
    if dry_run:
        tag = own_image_tag(loaded)
        if tag is not None:
            say(f"build {tag} unless it exists, built from this mediastack")
        return
    if engine is None or images is None:
        raise ValueError("up needs an engine unless dry_run")
    ensure_supervisor_image(loaded, engine, images, say)
