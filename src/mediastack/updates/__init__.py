"""Image updates: checked without pulling, applied with health checks and rollback, requested by
the command line, the daily schedule or What's Up Docker's webhook.

- ``reference``: image references normalised as the engine does; RepoDigests per repository.
- ``check``: running services -> their images -> one registry HEAD each -> CheckResults.
- ``planner``: pure decisions (policy auto/notify/pin, rolled-back digests, gluetun first).
- ``apply``: pull, recreate through compose, verify (namespace included), roll back.
- ``pipeline``: ``Updater`` (check, plan, apply, handle) and ``build_updater`` from the config.
- ``queue``: the one bounded, merging queue of ``UpdateRequest``s the daemon's worker drains.
- ``schedule``: the cron schedule in the config's time zone.
- ``wud`` / ``webhook`` / ``ratelimit``: the WUD-compatible webhook server.
- ``coordination``: the hold on services being recreated, and the memory of rollbacks.
- ``notices``: the listener Protocol and the push notification of each step.

The names below are loaded on first use (PEP 562): the supervisor daemon imports
``coordination`` and ``queue`` alone, and must not load the pipeline (registry client, httpx,
croniter) with them; issue 3 gives it 45 MB.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mediastack.updates.coordination import (
        FileRollbacks,
        InMemoryRollbacks,
        Maintenance,
        NoMaintenance,
        RollbackMemory,
    )
    from mediastack.updates.listening import build_listener
    from mediastack.updates.model import (
        ApplyResult,
        CheckResult,
        CheckStatus,
        Decision,
        Outcome,
        PlannedStep,
        Policy,
        ServiceKey,
        Source,
        Stage,
        UpdateEvent,
        UpdatePlan,
    )
    from mediastack.updates.notices import (
        CallbackListener,
        CollectingListener,
        UpdateListener,
        notification_for,
    )
    from mediastack.updates.pipeline import Updater, UpdateRun, build_updater
    from mediastack.updates.queue import UpdateQueue, UpdateRequest
    from mediastack.updates.schedule import UpdateSchedule
    from mediastack.updates.webhook import WebhookConfigError, WebhookServer

_MODULE_OF = {
    "FileRollbacks": "mediastack.updates.coordination",
    "InMemoryRollbacks": "mediastack.updates.coordination",
    "Maintenance": "mediastack.updates.coordination",
    "NoMaintenance": "mediastack.updates.coordination",
    "RollbackMemory": "mediastack.updates.coordination",
    "ApplyResult": "mediastack.updates.model",
    "CheckResult": "mediastack.updates.model",
    "CheckStatus": "mediastack.updates.model",
    "Decision": "mediastack.updates.model",
    "Outcome": "mediastack.updates.model",
    "PlannedStep": "mediastack.updates.model",
    "Policy": "mediastack.updates.model",
    "ServiceKey": "mediastack.updates.model",
    "Source": "mediastack.updates.model",
    "Stage": "mediastack.updates.model",
    "UpdateEvent": "mediastack.updates.model",
    "UpdatePlan": "mediastack.updates.model",
    "CallbackListener": "mediastack.updates.notices",
    "CollectingListener": "mediastack.updates.notices",
    "UpdateListener": "mediastack.updates.notices",
    "notification_for": "mediastack.updates.notices",
    "Updater": "mediastack.updates.pipeline",
    "UpdateRun": "mediastack.updates.pipeline",
    "build_updater": "mediastack.updates.pipeline",
    "build_listener": "mediastack.updates.listening",
    "UpdateQueue": "mediastack.updates.queue",
    "UpdateRequest": "mediastack.updates.queue",
    "UpdateSchedule": "mediastack.updates.schedule",
    "WebhookConfigError": "mediastack.updates.webhook",
    "WebhookServer": "mediastack.updates.webhook",
}


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` when it is first asked for."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ApplyResult",
    "CallbackListener",
    "CheckResult",
    "CheckStatus",
    "CollectingListener",
    "Decision",
    "FileRollbacks",
    "InMemoryRollbacks",
    "Maintenance",
    "NoMaintenance",
    "Outcome",
    "PlannedStep",
    "Policy",
    "RollbackMemory",
    "ServiceKey",
    "Source",
    "Stage",
    "UpdateEvent",
    "UpdateListener",
    "UpdatePlan",
    "UpdateQueue",
    "UpdateRequest",
    "UpdateRun",
    "UpdateSchedule",
    "Updater",
    "WebhookConfigError",
    "WebhookServer",
    "build_listener",
    "build_updater",
    "notification_for",
]
