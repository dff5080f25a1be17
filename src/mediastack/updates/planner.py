"""Which outdated services to update now (pure).

Rules, in order, for each checked service:
1. Not outdated (up to date, local-only, pinned by digest, check failed): skip, saying why.
2. Policy ``pin``: skip, whoever asks.
3. The supervisor itself, asked by the schedule or the webhook: report only (it would stop
   itself halfway through its own update; ``mediastack update supervisor`` from the host does it).
4. Policy ``notify``: report only, unless named on the command line.
5. A digest that was rolled back before: report only for the schedule and the webhook (the same
   broken image would be tried and rolled back every day); the command line retries it.
6. Otherwise apply. Namespace owners (gluetun) go first: their dependents are recreated with
   them, so a dependent's own update afterwards starts from a settled namespace.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from mediastack.updates.model import (
    CheckResult,
    CheckStatus,
    Decision,
    PlannedStep,
    Policy,
    Source,
    UpdatePlan,
)

SUPERVISOR_SERVICE = "supervisor"
_NOT_OUTDATED_REASONS = {
    CheckStatus.UP_TO_DATE: "up to date",
    CheckStatus.LOCAL_ONLY: "built or loaded locally: nothing to compare with",
    CheckStatus.PINNED_BY_DIGEST: "pinned by digest in the compose file",
    CheckStatus.ERROR: "could not be checked",
}


def plan_updates(
    results: Sequence[CheckResult],
    *,
    source: Source,
    named: Collection[str] = (),
    rolled_back: Mapping[str, str] | None = None,
) -> UpdatePlan:
    """Given check results, who asks, the services named on the command line (empty: none
    named) and service -> digest rolled back before, return the decision for every result,
    appliable ones ordered namespace owners first. Pure: no I/O, no clock."""
    remembered = rolled_back or {}
    steps = [_decide(result, source, named, remembered) for result in results]
    return UpdatePlan(tuple(sorted(steps, key=_apply_order)))


def _decide(
    result: CheckResult, source: Source, named: Collection[str], rolled_back: Mapping[str, str]
) -> PlannedStep:
    service = result.service
    if result.status != CheckStatus.OUTDATED:
        reason = _NOT_OUTDATED_REASONS[result.status]
        detail = f"{reason}: {result.detail}" if result.detail else reason
        return PlannedStep(result, Decision.SKIP, detail)
    policy = result.image.policy
    if policy == Policy.PIN:
        return PlannedStep(result, Decision.SKIP, "pinned (update: pin)")
    automatic = source != Source.CLI
    if automatic and service == SUPERVISOR_SERVICE:
        return PlannedStep(
            result,
            Decision.NOTIFY_ONLY,
            "the supervisor does not replace itself: run `mediastack update supervisor`",
        )
    if policy == Policy.NOTIFY and not (source == Source.CLI and service in named):
        return PlannedStep(
            result, Decision.NOTIFY_ONLY, f"update: notify; run `mediastack update {service}`"
        )
    if automatic and rolled_back.get(service) == result.remote_digest:
        return PlannedStep(
            result,
            Decision.NOTIFY_ONLY,
            f"this image was rolled back before; run `mediastack update {service}` to retry",
        )
    return PlannedStep(result, Decision.APPLY, "outdated")


def _apply_order(step: PlannedStep) -> tuple[int, int]:
    owner_first = 0 if step.check.image.namespace_dependents else 1
    applied_first = 0 if step.decision == Decision.APPLY else 1
    return (applied_first, owner_first)
