"""Building the status routes for the supervisor's listener from the config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from mediastack.config import LoadedConfig
from mediastack.render.environment import secret_value
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.web.routes import StatusRoutes, token_needed
from mediastack.supervisor.web.status_sources import StatusPaths, StatusReader
from mediastack.supervisor.web.topology import topology_of_config
from mediastack.updates.coordination import MEMORY_FILE_NAME, FileRollbacks, state_folder
from mediastack.updates.webhook import WebhookSettings


def status_paths(loaded: LoadedConfig, state_file: Path) -> StatusPaths:
    """Return where the view is read from: the daemon's state file (and its heartbeat), the
    backups folder and the update pipeline's rollback memory."""
    return StatusPaths(
        state_file,
        loaded.backups_folder,
        state_folder(loaded.root) / MEMORY_FILE_NAME,
        loaded.env_file,
    )


def status_token(loaded: LoadedConfig, environment: Mapping[str, str]) -> str:
    """Return the read-only token: the variable ``status.token_variable`` names, from
    ``environment`` (the supervisor container's), else from .env; "" when unset."""
    return secret_value(environment, loaded.env_file, loaded.config.status.token_variable)


def status_reader(
    loaded: LoadedConfig, state_file: Path, clock: Clock, *, for_verdict: bool = False
) -> StatusReader:
    """Return what reads a fresh view from the daemon's files (the pages' and the push
    pings' one source); ``for_verdict``: only what the stack's verdict needs."""
    return StatusReader(
        loaded.config.name,
        status_paths(loaded, state_file),
        loaded.config.supervisor,
        clock,
        lambda path: FileRollbacks(path).rolled_back(),
        for_verdict=for_verdict,
    )


def status_pages(
    loaded: LoadedConfig, state_file: Path, clock: Clock, environment: Mapping[str, str]
) -> Callable[[WebhookSettings], StatusRoutes]:
    """Return what builds the status routes from the listener's settings: the status token
    is wanted unless it listens on loopback only."""
    reader = status_reader(loaded, state_file, clock)
    verdict_reader = status_reader(loaded, state_file, clock, for_verdict=True)
    topology = topology_of_config(loaded)
    token = status_token(loaded, environment)
    variable = loaded.config.status.token_variable

    def build(settings: WebhookSettings) -> StatusRoutes:
        return StatusRoutes(
            reader,
            token,
            require_token=token_needed(settings.bind_address),
            topology=topology,
            token_variable=variable,
            read_verdict_view=verdict_reader,
        )

    return build
