"""The pure planner: policy, who asks, rolled-back digests, the supervisor, and order."""

from __future__ import annotations

from updates_support import digest, outdated, service_image

from mediastack.updates.model import CheckResult, CheckStatus, Decision, Policy, Source
from mediastack.updates.planner import plan_updates


def decisions(plan_steps: object) -> dict[str, Decision]:
    return {step.service: step.decision for step in plan_steps}  # type: ignore[attr-defined]


def test_policies_for_the_schedule_and_the_webhook() -> None:
    results = [
        outdated(service_image("sonarr")),
        outdated(service_image("radarr", policy=Policy.NOTIFY)),
        outdated(service_image("plex", policy=Policy.PIN)),
    ]
    for source in (Source.SCHEDULE, Source.WEBHOOK):
        plan = plan_updates(results, source=source)
        assert decisions(plan.steps) == {
            "sonarr": Decision.APPLY,
            "radarr": Decision.NOTIFY_ONLY,
            "plex": Decision.SKIP,
        }


def test_naming_a_notify_service_on_the_command_line_applies_it_but_pin_holds() -> None:
    results = [
        outdated(service_image("radarr", policy=Policy.NOTIFY)),
        outdated(service_image("plex", policy=Policy.PIN)),
    ]
    plan = plan_updates(results, source=Source.CLI, named={"radarr", "plex"})
    assert decisions(plan.steps) == {"radarr": Decision.APPLY, "plex": Decision.SKIP}
    assert plan_updates(results, source=Source.CLI).to_apply == ()


def test_a_rolled_back_digest_is_only_reported_unless_asked_from_the_command_line() -> None:
    results = [outdated(service_image("sonarr"), digest("3"))]
    remembered = {"sonarr": digest("3")}
    scheduled = plan_updates(results, source=Source.SCHEDULE, rolled_back=remembered)
    assert decisions(scheduled.steps) == {"sonarr": Decision.NOTIFY_ONLY}
    assert "rolled back before" in scheduled.steps[0].reason
    newer = plan_updates(results, source=Source.SCHEDULE, rolled_back={"sonarr": digest("2")})
    assert decisions(newer.steps) == {"sonarr": Decision.APPLY}
    by_hand = plan_updates(results, source=Source.CLI, rolled_back=remembered)
    assert decisions(by_hand.steps) == {"sonarr": Decision.APPLY}


def test_the_supervisor_never_replaces_itself_automatically() -> None:
    results = [outdated(service_image("supervisor", "mediastack/supervisor:0.2.0"))]
    assert plan_updates(results, source=Source.WEBHOOK).to_notify != ()
    assert plan_updates(results, source=Source.CLI).to_apply != ()


def test_only_outdated_services_are_applied_and_others_say_why() -> None:
    image = service_image("sonarr")
    results = [
        CheckResult(image, CheckStatus.UP_TO_DATE, digest("1")),
        CheckResult(image, CheckStatus.ERROR, detail="registry ghcr.io answered 500"),
        CheckResult(image, CheckStatus.LOCAL_ONLY),
    ]
    plan = plan_updates(results, source=Source.SCHEDULE)
    assert plan.to_apply == ()
    assert [step.reason for step in plan.steps] == [
        "up to date",
        "could not be checked: registry ghcr.io answered 500",
        "built or loaded locally: nothing to compare with",
    ]


def test_namespace_owners_are_applied_first() -> None:
    results = [
        outdated(service_image("sonarr", owner="gluetun")),
        outdated(service_image("radarr", policy=Policy.NOTIFY)),
        outdated(service_image("gluetun", "qmcgaw/gluetun:v3", dependents=("sonarr",))),
    ]
    plan = plan_updates(results, source=Source.SCHEDULE)
    assert [step.service for step in plan.steps] == ["gluetun", "sonarr", "radarr"]
    assert [step.service for step in plan.to_apply] == ["gluetun", "sonarr"]
