"""The update pipeline's data: services and their images, check results, plans, outcomes and
the events it reports. Plain frozen data; nothing here has side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mediastack.catalogue import Stack
from mediastack.updates.reference import ImageReference


class Policy(StrEnum):
    """``services.<name>.update`` in mediastack.yaml."""

    AUTO = "auto"  # applied by the schedule and the webhook
    NOTIFY = "notify"  # reported only; `mediastack update SERVICE` applies it
    PIN = "pin"  # never touched


class Source(StrEnum):
    """Who asked for an update: the command line, the daily schedule or the WUD webhook."""

    CLI = "cli"
    SCHEDULE = "schedule"
    WEBHOOK = "webhook"


class CheckStatus(StrEnum):
    """What a check found for one running service."""

    UP_TO_DATE = "up_to_date"
    OUTDATED = "outdated"
    LOCAL_ONLY = "local_only"  # built or loaded locally: no registry digest to compare with
    PINNED_BY_DIGEST = "pinned_by_digest"  # image: name@sha256:... cannot move
    ERROR = "error"  # the registry could not answer (unreachable, private, rate-limited...)


@dataclass(frozen=True, order=True)
class ServiceKey:
    """A service of a rendered compose project, e.g. ``vpn/gluetun`` of ``home-vpn``."""

    stack: Stack
    project: str
    service: str

    def __str__(self) -> str:
        return f"{self.stack.value}/{self.service}"


@dataclass(frozen=True)
class ServiceImage:
    """A running service and the image it runs. ``local_digests`` are the ``RepoDigests`` the
    running image carries for the reference's repository (empty: never pulled from it).
    ``namespace_dependents`` are the services living in this one's network namespace."""

    key: ServiceKey
    container_id: str
    reference_text: str
    reference: ImageReference | None
    image_id: str
    local_digests: frozenset[str]
    policy: Policy
    namespace_owner: str | None = None
    namespace_dependents: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """The check of one service: its status, the digest its registry serves now, and why
    (for anything but up to date / outdated)."""

    image: ServiceImage
    status: CheckStatus
    remote_digest: str | None = None
    detail: str | None = None

    @property
    def service(self) -> str:
        return self.image.key.service

    def to_json(self) -> dict[str, Any]:
        """Return the JSON shape of ``update --check --format json`` (one entry)."""
        return {
            "stack": self.image.key.stack.value,
            "service": self.service,
            "image": self.image.reference_text,
            "policy": self.image.policy.value,
            "status": self.status.value,
            "local_digests": sorted(self.image.local_digests),
            "remote_digest": self.remote_digest,
            "detail": self.detail,
        }


class Decision(StrEnum):
    """What the planner decided for one service."""

    APPLY = "apply"
    NOTIFY_ONLY = "notify_only"
    SKIP = "skip"


@dataclass(frozen=True)
class PlannedStep:
    """One service's decision and why."""

    check: CheckResult
    decision: Decision
    reason: str

    @property
    def service(self) -> str:
        return self.check.service


@dataclass(frozen=True)
class UpdatePlan:
    """Every checked service's decision; ``to_apply`` in the order they are applied
    (namespace owners first: their dependents are recreated with them)."""

    steps: tuple[PlannedStep, ...]

    @property
    def to_apply(self) -> tuple[PlannedStep, ...]:
        return tuple(step for step in self.steps if step.decision == Decision.APPLY)

    @property
    def to_notify(self) -> tuple[PlannedStep, ...]:
        return tuple(step for step in self.steps if step.decision == Decision.NOTIFY_ONLY)


class Outcome(StrEnum):
    """How applying one update ended."""

    UPDATED = "updated"
    ROLLED_BACK = "rolled_back"  # the new image failed; the previous one runs again
    ROLLBACK_FAILED = "rollback_failed"  # and the previous one did not come back either
    FAILED = "failed"  # nothing was changed (e.g. the pull failed)
    UNCHANGED = "unchanged"  # the pull brought no new image (e.g. pull_policy: never)
    DRY_RUN = "dry_run"


@dataclass(frozen=True)
class ApplyResult:
    """The end of one service's update. ``recreated`` lists every service recreated (a
    namespace owner's dependents included); ``reason`` says why it was not updated."""

    key: ServiceKey
    outcome: Outcome
    from_image: str
    to_image: str | None
    to_digest: str | None
    recreated: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.key.stack.value,
            "service": self.key.service,
            "outcome": self.outcome.value,
            "from_image": self.from_image,
            "to_image": self.to_image,
            "to_digest": self.to_digest,
            "recreated": list(self.recreated),
            "reason": self.reason,
        }


class Stage(StrEnum):
    """The steps an update reports, in order. A listener turns them into notifications."""

    AVAILABLE = "available"  # outdated, but policy (or a past rollback) says: report only
    STARTED = "started"
    PULLED = "pulled"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


@dataclass(frozen=True)
class UpdateEvent:
    """One step of one service's update, for people: ``message`` is a full sentence."""

    stage: Stage
    key: ServiceKey
    message: str
    digest: str | None = None
    details: tuple[str, ...] = field(default=())
