"""Building the real supervisor from the config: engine, compose, state file, notifier.

The engine is reached through the supervisor's own client (``SocketEngine``: h11 on the
engine's socket) rather than the docker SDK, which would add about 14 MB to
the idle daemon (issue 3: 45 MB; see ``mediastack.adapters.engine_socket``). Only a
``DOCKER_HOST`` that client does not reach (TLS, ssh://) makes the daemon load the SDK.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mediastack.adapters.engine import ContainerReader, DockerEngine
from mediastack.adapters.engine_socket import SocketEngine, endpoint_from_environment
from mediastack.adapters.executor import SubprocessExecutor
from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.render.environment import read_secrets
from mediastack.stack.lease import lease_folder
from mediastack.stack.operations import require_compose
from mediastack.supervisor.clock import SystemClock
from mediastack.supervisor.runtime.container_board import BoardRecorder, board_record_path
from mediastack.supervisor.runtime.daemon import DaemonParts, Restarting, SupervisorDaemon
from mediastack.supervisor.runtime.discovery import EngineSurveyor, Layout
from mediastack.supervisor.runtime.event_stream import (
    DockerEventSource,
    EventSource,
    EventStream,
    SocketEventSource,
)
from mediastack.supervisor.runtime.heartbeat import HeartbeatFile, heartbeat_path
from mediastack.supervisor.runtime.hold import LeaseWatch
from mediastack.supervisor.runtime.instance import lock_state_file
from mediastack.supervisor.runtime.job_records import RestartCounter, restarts_record_path
from mediastack.supervisor.runtime.job_wiring import build_jobs
from mediastack.supervisor.runtime.messages import Inbox
from mediastack.supervisor.runtime.notice_records import (
    NotificationsRecorder,
    notifications_record_path,
)
from mediastack.supervisor.runtime.notices import build_notifier
from mediastack.supervisor.runtime.recreate import ContainerStarter, Recreator
from mediastack.supervisor.runtime.report import state_file_path
from mediastack.supervisor.runtime.restarts import DockerRestarter, SocketRestarter
from mediastack.supervisor.runtime.stop_budget import COMPOSE_CALL_SECONDS
from mediastack.supervisor.runtime.workers import SerialWorker
from mediastack.supervisor.state import SupervisorStore

logger = logging.getLogger("mediastack.supervisor")


@dataclass(frozen=True)
class Supervision:
    """A daemon ready to run, its inbox (for signal handlers), its event stream, and the lock
    that keeps a second supervisor off the same state file (held while this object lives)."""

    daemon: SupervisorDaemon
    inbox: Inbox
    stream: EventStream
    lock: IO[str]


@dataclass(frozen=True)
class EngineAccess:
    """What the daemon asks of the engine: the surveyor's reads, the compose worker's reads
    and starts, autoheal's restarts, and the events stream."""

    surveyor: ContainerReader
    recreator: ContainerReader
    starter: ContainerStarter
    restarter: Restarting
    events: EventSource


def connect_engine(environment: Mapping[str, str]) -> EngineAccess:
    """Return the engine access for ``DOCKER_HOST`` (see the module docstring); raise
    EngineUnreachableError when there is no engine to talk to."""
    endpoint = endpoint_from_environment(environment)
    if endpoint is not None:
        engine = SocketEngine.connect(endpoint)
        return EngineAccess(
            engine, engine, engine, SocketRestarter(engine), SocketEventSource(engine)
        )
    logger.info("DOCKER_HOST needs TLS or ssh: the engine is reached through the docker SDK")
    from mediastack.supervisor.runtime.starts import DockerStarter

    return EngineAccess(
        DockerEngine.connect(),
        # The compose worker's thread gets its own SDK client: one client per thread.
        DockerEngine.connect(),
        DockerStarter(),
        DockerRestarter(),
        DockerEventSource(),
    )


def build_supervision(
    loaded: LoadedConfig,
    state_file: Path | None = None,
    with_jobs: bool = True,
    verbose: bool = False,
) -> Supervision:
    """Given the config, return the real daemon, not started, with its background jobs (port
    sync, updates, backups; none when ``with_jobs`` is False, for ``--once``). Raise
    AdapterError when the engine or compose (older than the rendered files need) is missing,
    RenderedFileError when the vpn stack's file (with the update webhook on: every stack's)
    is unreadable, AlreadyRunningError when another supervisor uses the state file,
    StateError when the state file is unusable."""
    executor = compose_executor()
    require_compose(executor)
    engine = connect_engine(os.environ)
    Layout.from_config(loaded)  # fail now, not at the first event, on an unreadable file
    path = state_file_path(loaded, state_file)
    lock = lock_state_file(path)
    store = SupervisorStore(path)
    inbox = Inbox()
    stream = EventStream(engine.events, inbox)
    surveyor = EngineSurveyor(
        engine.surveyor,
        lambda: Layout.from_config(loaded),
        store.known_gluetun_ids,
        store.user_stopped,
    )
    clock = SystemClock()
    notifier = build_notifier(loaded, NotificationsRecorder(notifications_record_path(path), clock))
    parts = DaemonParts(
        surveyor=surveyor,
        recreator=Recreator(engine.recreator, executor, engine.starter),
        restarter=engine.restarter,
        notifier=notifier,
        store=store,
        clock=clock,
        inbox=inbox,
        compose_worker=SerialWorker("compose"),
        restart_worker=SerialWorker("autoheal-restart"),
        stream=stream,
        jobs=build_jobs(loaded, inbox, notifier, clock, daemon_secrets(loaded), verbose, path)
        if with_jobs
        else None,
        leases=LeaseWatch(lease_folder(loaded.root)),
        heartbeat=HeartbeatFile(heartbeat_path(path)),
        restart_counts=RestartCounter(restarts_record_path(path), clock),
        board=BoardRecorder(
            board_record_path(path), [loaded.project_name(stack) for stack in Stack]
        ),
    )
    daemon = SupervisorDaemon(loaded.config.supervisor, loaded.config.name, parts)
    return Supervision(daemon, inbox, stream, lock)


def compose_executor() -> SubprocessExecutor:
    """Return the executor of the daemon's compose calls: each one bounded by
    ``COMPOSE_CALL_SECONDS`` (one hung call would stall all healing on the single compose
    worker), its process group killed when the time is up."""
    return SubprocessExecutor(stream_timeout_seconds=COMPOSE_CALL_SECONDS)


def daemon_secrets(loaded: LoadedConfig) -> dict[str, str]:
    """Return the variables the daemon's jobs read their secrets from: the homelab's .env (the
    ops stack's container mounts the homelab folder, so it is the same file the host sees),
    overridden by the process environment, as for the notification URLs."""
    return {**read_secrets(loaded.env_file), **os.environ}
