"""Applying one update against a scripted Docker: pull, recreate, verify, roll back, report."""

from __future__ import annotations

from pathlib import Path

import pytest
from updates_support import (
    PROJECT,
    FakeDocker,
    FakeImage,
    RecordingHold,
    digest,
    image_id,
    outdated,
    service_image,
    vpn_project,
)

from mediastack.adapters.compose import ComposeProject
from mediastack.updates.apply import Applier, ApplySettings, ProjectHandle
from mediastack.updates.coordination import InMemoryRollbacks
from mediastack.updates.model import (
    Decision,
    Outcome,
    PlannedStep,
    ServiceImage,
    Stage,
    UpdateEvent,
)
from mediastack.updates.notices import CollectingListener
from mediastack.updates.reference import parse_image_reference
from mediastack.updates.stopping import UpdateStop

GLUETUN = "qmcgaw/gluetun:v3"
QBITTORRENT = "lscr.io/linuxserver/qbittorrent:latest"
SONARR = "lscr.io/linuxserver/sonarr:latest"
BACKUP = f"mediastack-rollback/{PROJECT}-sonarr:previous"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Lab:
    """A running vpn project, an Applier over it, and what it reported."""

    def __init__(self, healthy_timeout_seconds: int = 30) -> None:
        self.docker = FakeDocker(vpn_project())
        self.docker.add_image(FakeImage(image_id("0"), [f"qmcgaw/gluetun@{digest('0')}"]), GLUETUN)
        self.docker.add_image(FakeImage(image_id("1")), QBITTORRENT)
        self.docker.add_image(
            FakeImage(image_id("a"), [f"lscr.io/linuxserver/sonarr@{digest('1')}"]), SONARR
        )
        for service in ("gluetun", "qbittorrent", "sonarr"):
            self.docker.run_service(service)
        self.listener = CollectingListener()
        self.hold = RecordingHold()
        self.memory = InMemoryRollbacks()
        self.time = FakeTime()
        self.stop = UpdateStop(45.0, 30.0, monotonic=self.time.monotonic)
        compose = ComposeProject(
            PROJECT, Path("/srv/stacks/vpn/compose.yaml"), Path("/srv/stacks/vpn")
        )
        self.applier = Applier(
            projects=[ProjectHandle(self.docker.project, compose)],
            executor=self.docker,
            engine=self.docker,
            images=self.docker.local_images,
            listener=self.listener,
            maintenance=self.hold,
            memory=self.memory,
            settings=ApplySettings(healthy_timeout_seconds=healthy_timeout_seconds),
            sleep=self.time.sleep,
            monotonic=self.time.monotonic,
            stop=self.stop,
        )

    def publish(self, reference: str, new_id: str, *, healthy: bool = True) -> None:
        repository = parse_image_reference(reference).familiar_name
        self.docker.registry[reference] = FakeImage(
            new_id, [f"{repository}@{digest('2')}"], healthy=healthy
        )

    def step(self, service: str = "sonarr") -> PlannedStep:
        image: ServiceImage
        if service == "gluetun":
            image = service_image(
                "gluetun", GLUETUN, local=[digest("0")], dependents=("qbittorrent", "sonarr")
            )
            image = _with_id(image, image_id("0"))
        else:
            image = service_image("sonarr", SONARR, owner="gluetun")
        return PlannedStep(outdated(image), Decision.APPLY, "outdated")

    def ran(self, *tokens: str) -> list[tuple[str, ...]]:
        return [c for c in self.docker.commands if all(token in c for token in tokens)]


def _with_id(image: ServiceImage, new_id: str) -> ServiceImage:
    from dataclasses import replace

    return replace(image, image_id=new_id)


@pytest.fixture
def lab() -> Lab:
    return Lab()


def test_an_update_pulls_recreates_verifies_and_reports(lab: Lab) -> None:
    lab.publish(SONARR, image_id("b"))
    result = lab.applier.apply(lab.step())
    assert (result.outcome, result.to_image, result.recreated) == (
        Outcome.UPDATED,
        image_id("b"),
        ("sonarr",),
    )
    assert lab.docker.running_image("sonarr") == image_id("b")
    assert lab.listener.stages("sonarr") == [Stage.STARTED, Stage.PULLED, Stage.UPDATED]
    assert lab.hold.held == [("sonarr",)]
    assert lab.docker.image_calls[0] == ("tag", image_id("a"), BACKUP)  # kept before the pull
    assert BACKUP not in lab.docker.tags  # and dropped after the success
    (up,) = lab.ran("up")
    wanted = (
        "up",
        "--detach",
        "--no-deps",
        "--force-recreate",
        "--pull",
        "never",
        "--wait",
        "--wait-timeout",
        "30",
        "sonarr",
    )
    assert up[-len(wanted) :] == wanted


def test_an_unhealthy_update_is_rolled_back_and_remembered(lab: Lab) -> None:
    lab.publish(SONARR, image_id("b"), healthy=False)
    result = lab.applier.apply(lab.step())
    assert result.outcome == Outcome.ROLLED_BACK
    assert lab.docker.running_image("sonarr") == image_id("a")
    assert lab.docker.tags[SONARR] == image_id("a")  # the tag points at the previous image again
    assert lab.docker.containers["sonarr"].health == "healthy"
    assert lab.memory.rolled_back() == {"sonarr": digest("2")}
    assert lab.listener.stages("sonarr") == [Stage.STARTED, Stage.PULLED, Stage.ROLLED_BACK]
    rolled_back = lab.listener.events[-1]
    assert "sonarr is unhealthy" in rolled_back.details
    assert result.reason is not None and "docker compose up" in result.reason
    assert BACKUP not in lab.docker.tags
    assert len(lab.ran("up")) == 2


def test_a_failed_rollback_keeps_the_previous_image_tagged_and_says_so(lab: Lab) -> None:
    lab.publish(SONARR, image_id("b"), healthy=False)
    lab.docker.images[image_id("a")].healthy = False  # the old one breaks too
    result = lab.applier.apply(lab.step())
    assert result.outcome == Outcome.ROLLBACK_FAILED
    assert lab.docker.tags[BACKUP] == image_id("a")
    assert lab.listener.stages("sonarr")[-1] == Stage.ROLLBACK_FAILED
    assert BACKUP in lab.listener.events[-1].message


def test_a_failed_pull_changes_nothing(lab: Lab) -> None:
    lab.docker.fail_pull = True
    result = lab.applier.apply(lab.step())
    assert result.outcome == Outcome.FAILED
    assert lab.ran("up") == []
    assert lab.docker.running_image("sonarr") == image_id("a")
    assert BACKUP not in lab.docker.tags
    assert lab.listener.stages("sonarr") == [Stage.STARTED, Stage.FAILED]


def test_a_pull_that_brings_nothing_new_recreates_nothing(lab: Lab) -> None:
    result = lab.applier.apply(lab.step())  # nothing published
    assert result.outcome == Outcome.UNCHANGED
    assert lab.ran("up") == []
    assert lab.listener.stages("sonarr") == [Stage.STARTED, Stage.UNCHANGED]


def test_updating_gluetun_recreates_its_dependents_into_the_new_namespace(lab: Lab) -> None:
    before = {name: c.id for name, c in lab.docker.containers.items()}
    lab.publish(GLUETUN, image_id("c"))
    result = lab.applier.apply(lab.step("gluetun"))
    assert result.outcome == Outcome.UPDATED
    assert result.recreated == ("gluetun", "qbittorrent", "sonarr")
    assert lab.hold.held == [("gluetun", "qbittorrent", "sonarr")]
    (up,) = lab.ran("up")
    assert up[-3:] == ("gluetun", "qbittorrent", "sonarr")
    gluetun = lab.docker.containers["gluetun"]
    for dependent in ("qbittorrent", "sonarr"):
        container = lab.docker.containers[dependent]
        assert container.id != before[dependent]
        assert container.network_mode == f"container:{gluetun.id}"
        assert lab.docker.namespaces[container.pid] == lab.docker.namespaces[gluetun.pid]
    assert "followed into its new namespace" in lab.listener.events[-1].message


def test_a_dependent_left_outside_the_new_namespace_fails_the_update(lab: Lab) -> None:
    lab.publish(GLUETUN, image_id("c"))
    lab.docker.stranded.add("sonarr")
    result = lab.applier.apply(lab.step("gluetun"))
    assert result.outcome == Outcome.ROLLBACK_FAILED  # stranded again after the rollback
    assert result.reason is not None and "sonarr is not in gluetun's namespace" in result.reason
    assert lab.time.now >= 30  # a failing verification is retried until the time is up


def test_verification_that_never_passes_rolls_back_after_the_timeout(lab: Lab) -> None:
    lab.publish(SONARR, image_id("b"))
    original = lab.docker._up

    def up_without_recreating_sonarr(services: object) -> tuple[int, str]:
        return 0, ""  # compose says fine, but nothing was recreated

    lab.docker._up = up_without_recreating_sonarr  # type: ignore[method-assign]
    result = lab.applier.apply(lab.step())
    lab.docker._up = original  # type: ignore[method-assign]
    assert result.outcome == Outcome.ROLLED_BACK
    assert result.reason is not None and "not sha256:bbbbbbbbbbbb" in result.reason
    assert lab.time.now >= 30


def test_dry_run_prints_the_commands_and_runs_none(lab: Lab) -> None:
    lines: list[str] = []
    result = lab.applier.print_commands(lab.step(), lines.append)
    assert result.outcome == Outcome.DRY_RUN
    assert lab.docker.commands == [] and lab.docker.image_calls == []
    assert lines[0].startswith("# update vpn/sonarr")
    assert lines[1] == f"engine: tag {image_id('a')} {BACKUP}"  # the store's own dry run
    assert lines[-1] == f"engine: remove {BACKUP}"
    assert any("compose" in line and " pull --quiet sonarr" in line for line in lines)
    assert any("--force-recreate --pull never --wait" in line for line in lines)


def test_a_listener_that_raises_does_not_stop_an_update(lab: Lab) -> None:
    class Broken:
        def notify(self, event: UpdateEvent) -> None:
            raise RuntimeError("notification queue gone")

    lab.applier._listener = Broken()  # type: ignore[assignment]
    lab.publish(SONARR, image_id("b"))
    assert lab.applier.apply(lab.step()).outcome == Outcome.UPDATED


# -- a stop (the supervisor stopping) in the middle of an update ------------------------------


def test_a_stop_during_the_recreate_lets_the_service_complete_and_skips_the_rest(
    lab: Lab,
) -> None:
    lab.publish(SONARR, image_id("b"))
    lab.publish(GLUETUN, image_id("c"))
    original = lab.docker._up

    def up_while_stopping(services: list[str]) -> tuple[int, str]:
        lab.stop.request()  # SIGTERM arrives while compose recreates sonarr
        return original(services)

    lab.docker._up = up_while_stopping  # type: ignore[method-assign]
    first = lab.applier.apply(lab.step())
    second = lab.applier.apply(lab.step("gluetun"))
    assert first.outcome == Outcome.UPDATED
    assert lab.docker.running_image("sonarr") == image_id("b")
    assert second.outcome == Outcome.FAILED and "supervisor stopped" in (second.reason or "")
    assert lab.hold.held == [("sonarr",)]  # gluetun was not touched
    assert lab.docker.running_image("gluetun") == image_id("0")


def test_a_stop_during_the_pull_leaves_the_service_untouched(lab: Lab) -> None:
    lab.publish(SONARR, image_id("b"))
    original = lab.docker._pull

    def pull_while_stopping(service: str) -> tuple[int, str]:
        lab.stop.request()
        return original(service)

    lab.docker._pull = pull_while_stopping  # type: ignore[method-assign]
    result = lab.applier.apply(lab.step())
    assert result.outcome == Outcome.FAILED
    assert lab.ran("up") == []
    assert lab.docker.running_image("sonarr") == image_id("a")
    assert BACKUP not in lab.docker.tags
    assert "was not updated: the supervisor stopped" in lab.listener.events[-1].message


def test_a_stop_cuts_a_long_verification_short_and_rolls_the_service_back() -> None:
    """healthy_timeout_seconds is 300, more than a stop may take: after the stop the new
    image gets its finishing time (45 s), then the previous one is put back."""
    lab = Lab(healthy_timeout_seconds=300)
    lab.publish(SONARR, image_id("b"))
    original = lab.docker._up
    calls: list[int] = []

    def up(services: list[str]) -> tuple[int, str]:
        calls.append(1)
        if len(calls) == 1:
            lab.stop.request()
            return 0, ""  # compose says fine, yet sonarr never runs the new image
        return original(services)

    lab.docker._up = up  # type: ignore[method-assign]
    result = lab.applier.apply(lab.step())
    assert result.outcome == Outcome.ROLLED_BACK
    assert lab.docker.running_image("sonarr") == image_id("a")
    assert lab.docker.tags[SONARR] == image_id("a")
    assert 45 <= lab.time.now < 45 + 30  # the fake clock: within the stop's budget, not 300 s
