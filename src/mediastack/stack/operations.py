"""``up``, ``down``, ``restart`` and ``pull`` over the rendered stacks.

Control flow: TARGETs -> one StackTarget per stack (targets.py) -> for ``up``: the shared
network first, then each stack in order vpn, media, ops; for ``down`` the reverse. Every step
prints what it does. With ``dry_run`` the exact commands are printed (as a script: progress
lines are ``#`` comments) and nothing runs, nothing is asked of the engine.

These functions operate on the rendered files as they are; they never render. Each compose
call runs under a lease on the services it touches (``lease``), so a running supervisor leaves
them to it and looks again once it ends.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from mediastack.adapters.compose import (
    MINIMUM_VERSION,
    Compose,
    ComposeProject,
    ComposeVersion,
    compose_version,
)
from mediastack.adapters.engine import NetworkManager
from mediastack.adapters.errors import AdapterError
from mediastack.adapters.executor import COMPOSE_FIX, DryRunExecutor, Executor
from mediastack.config import LoadedConfig
from mediastack.render import MANAGED_LABEL
from mediastack.stack.lease import LeaseHolder, lease_folder
from mediastack.stack.targets import StackTarget, TargetError, resolve_targets

if TYPE_CHECKING:
    # Only a type here: the supervisor imports ``require_compose`` and must not load rich.
    from rich.console import Console

DEFAULT_WAIT_TIMEOUT_SECONDS = 300
NETWORK_LABELS = {MANAGED_LABEL: "true"}


def up(
    loaded: LoadedConfig,
    targets: Sequence[str] = (),
    *,
    executor: Executor,
    console: Console,
    engine: NetworkManager | None = None,
    dry_run: bool = False,
    wait: bool = True,
    wait_timeout_seconds: int = DEFAULT_WAIT_TIMEOUT_SECONDS,
    force_recreate: bool = False,
) -> list[StackTarget]:
    """Create the shared network when missing, then bring up each target stack in order, each
    waiting (``wait``) until its services are healthy. A service that owns a network namespace
    brings up the services in it too (compose recreates them when the owner was recreated).
    ``force_recreate`` recreates unchanged containers; with services named, only those
    (``--no-deps``: forcing gluetun as a mere dependency would strand its other dependents).
    Return what was brought up. Raise TargetError / RenderedFileError for bad TARGETs or
    unrendered stacks, AdapterError when the engine or compose fails. ``engine`` may be None
    only with ``dry_run``."""
    plan = _with_namespace_dependents(resolve_targets(loaded, targets), console, dry_run)
    runner = _prepare(executor, console, dry_run)
    _ensure_network(loaded, engine, console, dry_run)
    for target in plan:
        say_progress(console, f"up {target.describe()}", dry_run)
        compose = _compose(loaded, target, runner)
        with _leased(loaded, target, "up", dry_run):
            compose.up(
                target.services,
                wait=wait,
                wait_timeout_seconds=wait_timeout_seconds,
                force_recreate=force_recreate,
                no_deps=force_recreate and not target.whole_stack,
            )
    return plan


def down(
    loaded: LoadedConfig,
    targets: Sequence[str] = (),
    *,
    executor: Executor,
    console: Console,
    engine: NetworkManager | None = None,
    dry_run: bool = False,
    remove_network: bool = False,
) -> list[StackTarget]:
    """Stop and remove each target stack in reverse order (ops, media, vpn). Namespace owners
    take their dependents down with them (they would be left in a dead namespace). The
    shared network stays unless ``remove_network`` (only without TARGETs: other stacks may
    still use it). Return what was taken down; errors as for ``up``."""
    if remove_network and targets:
        raise TargetError(
            "--remove-network removes the network every stack shares",
            "use it with a full `mediastack down` (no TARGET)",
        )
    plan = resolve_targets(loaded, targets, reverse=True)
    plan = _with_namespace_dependents(plan, console, dry_run)
    runner = _prepare(executor, console, dry_run)
    for target in plan:
        say_progress(console, f"down {target.describe()}", dry_run)
        with _leased(loaded, target, "down", dry_run):
            _compose(loaded, target, runner).down(target.services)
    if remove_network:
        _remove_network(loaded, engine, console, dry_run)
    elif not targets:
        say_progress(console, f"network {loaded.config.network.name} left in place", dry_run)
    return plan


def restart(
    loaded: LoadedConfig,
    targets: Sequence[str] = (),
    *,
    executor: Executor,
    console: Console,
    dry_run: bool = False,
) -> list[StackTarget]:
    """Restart the target containers in place, stack by stack in start order. Compose restarts
    the services in a restarted owner's namespace too (``depends_on.restart``). This does not
    apply changed compose files: that is ``up``. Errors as for ``up``."""
    return _each_target(loaded, targets, "restart", Compose.restart, executor, console, dry_run)


def pull(
    loaded: LoadedConfig,
    targets: Sequence[str] = (),
    *,
    executor: Executor,
    console: Console,
    dry_run: bool = False,
) -> list[StackTarget]:
    """Pull the images of the targets, stack by stack (``pull_policy: never`` services are
    skipped by compose). Running containers keep their image until the next ``up``."""
    return _each_target(loaded, targets, "pull", Compose.pull, executor, console, dry_run)


def _each_target(
    loaded: LoadedConfig,
    targets: Sequence[str],
    verb: str,
    operation: Callable[[Compose, Sequence[str]], object],
    executor: Executor,
    console: Console,
    dry_run: bool,
) -> list[StackTarget]:
    """Run one compose ``operation`` per target stack, in start order, saying each first."""
    plan = resolve_targets(loaded, targets)
    runner = _prepare(executor, console, dry_run)
    for target in plan:
        say_progress(console, f"{verb} {target.describe()}", dry_run)
        with _leased(loaded, target, verb, dry_run):
            operation(_compose(loaded, target, runner), target.services)
    return plan


def _leased(
    loaded: LoadedConfig, target: StackTarget, verb: str, dry_run: bool
) -> AbstractContextManager[None]:
    """Return the lease ``verb`` holds on the target's services (none for a dry run)."""
    if dry_run:
        return nullcontext()
    services = target.services or tuple(service.name for service in target.project.services)
    return LeaseHolder(lease_folder(loaded.root)).hold(services, f"mediastack {verb}")


def require_compose(executor: Executor) -> ComposeVersion:
    """Return the installed Compose version; raise ToolMissingError when it is missing and
    AdapterError when it is older than the features the rendered files use."""
    version = compose_version(executor)
    if version.as_tuple < MINIMUM_VERSION:
        minimum = ".".join(map(str, MINIMUM_VERSION))
        raise AdapterError(f"Docker Compose {version} is older than {minimum}", COMPOSE_FIX)
    return version


def _prepare(executor: Executor, console: Console, dry_run: bool) -> Executor:
    """Return the executor to run compose with: the given one after checking compose, or one
    that only prints commands."""
    if dry_run:
        return DryRunExecutor(lambda line: _print_plain(console, line))
    require_compose(executor)
    return executor


def _compose(loaded: LoadedConfig, target: StackTarget, executor: Executor) -> Compose:
    return Compose(ComposeProject.for_stack(loaded, target.stack), executor)


def _with_namespace_dependents(
    plan: list[StackTarget], console: Console, dry_run: bool
) -> list[StackTarget]:
    return [_with_dependents(target, console, dry_run) for target in plan]


def _with_dependents(target: StackTarget, console: Console, dry_run: bool) -> StackTarget:
    """Return ``target`` with the services that live in a listed service's namespace added
    (bringing gluetun up or down alone would strand them in a dead namespace)."""
    owners: list[str] = []
    added: list[str] = []
    for service in target.services:
        for dependent in target.project.namespace_dependents(service):
            if dependent not in target.services and dependent not in added:
                added.append(dependent)
                owners += [] if service in owners else [service]
    if not added:
        return target
    included = f"{', '.join(added)} live in {', '.join(owners)}'s namespace: included"
    say_progress(console, included, dry_run)
    return StackTarget(target.project, (*target.services, *added))


def _ensure_network(
    loaded: LoadedConfig, engine: NetworkManager | None, console: Console, dry_run: bool
) -> None:
    name = loaded.config.network.name
    if dry_run:
        say_progress(console, f"create network {name} unless it exists:", dry_run)
        _print_plain(console, shlex.join(_network_create_arguments(name)))
        return
    if engine is None:
        raise ValueError("up needs an engine unless dry_run")
    created = engine.ensure_network(name, NETWORK_LABELS)
    say_progress(console, f"network {name}: {'created' if created else 'exists'}", dry_run)


def _remove_network(
    loaded: LoadedConfig, engine: NetworkManager | None, console: Console, dry_run: bool
) -> None:
    name = loaded.config.network.name
    if dry_run:
        say_progress(console, f"remove network {name} if mediastack created it:", dry_run)
        _print_plain(console, shlex.join(["docker", "network", "rm", name]))
        return
    if engine is None:
        raise ValueError("down --remove-network needs an engine unless dry_run")
    network = engine.inspect_network(name)
    if network is None:
        say_progress(console, f"network {name}: already gone", dry_run)
    elif network.labels.get(MANAGED_LABEL) != "true":
        left = f"network {name} left in place: mediastack did not create it"
        say_progress(console, left, dry_run)
    else:
        engine.remove_network(name)
        say_progress(console, f"network {name}: removed", dry_run)


def _network_create_arguments(name: str) -> list[str]:
    labels = [f"--label={key}={value}" for key, value in NETWORK_LABELS.items()]
    return ["docker", "network", "create", "--driver=bridge", *labels, name]


def say_progress(console: Console, message: str, dry_run: bool) -> None:
    """Print a progress line; in a dry run as a shell comment, so the output is a script."""
    if dry_run:
        _print_plain(console, f"# {message}")
    else:
        console.print(f"[bold]>[/] {message}", highlight=False)


def _print_plain(console: Console, line: str) -> None:
    # Commands must print exactly: no markup, no highlighting, no wrapping.
    console.print(line, markup=False, highlight=False, soft_wrap=True)
