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
"""

from mediastack.updates.coordination import (
    FileHold,
    FileRollbacks,
    InMemoryRollbacks,
    Maintenance,
    NoMaintenance,
    RollbackMemory,
    active_hold,
)
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
from mediastack.updates.pipeline import (
    Updater,
    UpdateRun,
    build_updater,
    build_webhook_server,
)
from mediastack.updates.queue import UpdateQueue, UpdateRequest
from mediastack.updates.schedule import UpdateSchedule
from mediastack.updates.webhook import WebhookConfigError, WebhookServer

__all__ = [
    "ApplyResult",
    "CallbackListener",
    "CheckResult",
    "CheckStatus",
    "CollectingListener",
    "Decision",
    "FileHold",
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
    "active_hold",
    "build_updater",
    "build_webhook_server",
    "notification_for",
]
