"""The supervisor on a real engine: ``mediastack supervise`` as a subprocess over a small
homelab (the gluetun stand-in and four dependents), notifications through Apprise's real
ntfy plugin to a local receiver that speaks ntfy's publish protocol (no ntfy server can be
installed here).

One homelab is brought up for the module; each test runs its own supervisor with a fresh
state file and ntfy topic, and leaves every dependent healed in gluetun's namespace.

Engine restarts are simulated: dockerd on these machines is shared, so the test cuts the
supervisor's connection to it instead (a relay socket it reaches the engine through) and
changes things while it cannot see them; see ``test_a_dropped_event_stream_...``.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from homelab import Homelab
from standins import docker, remove_test_resources
from test_portsync_qbittorrent import running_qbittorrent_nox
from test_supervisor_harness import (
    DEPENDENTS,
    KEPT,
    EngineRelay,
    EventRecorder,
    SupervisorProcess,
    assert_healed_into_gluetun,
    config_variant,
    containers,
    creates_per_service,
    gluetun_unhealthy_file,
    has_exited,
    history,
    inspect,
    make_small_homelab,
    recovery,
    vpn_compose,
    wait_for_cascades,
    wait_until,
)

from mediastack.stack.lease import LeaseHolder, lease_folder
from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.runtime.job_child import GLUETUN_URL_VARIABLE, QBITTORRENT_URL_VARIABLE
from support.ntfy_receiver import NtfyReceiver

PREFIX = f"mssup{secrets.token_hex(3)}"
"""A prefix of its own, and unique: this module may run twice at once on a shared engine. It
removes what it made when it ends."""
CASCADE_TITLES = ["gluetun restarted: healing its dependents", "dependents healed"]


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, standin_images: dict[str, str]
) -> Iterator[Homelab]:
    remove_test_resources(PREFIX)
    homelab = make_small_homelab(tmp_path_factory.mktemp("supervised"), PREFIX, standin_images)
    started = homelab.run("up", timeout=300)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield homelab
    finally:
        homelab.run("down", "--remove-network", timeout=180)
        remove_test_resources(PREFIX)


@pytest.fixture(scope="module")
def receiver() -> Iterator[NtfyReceiver]:
    with NtfyReceiver() as running:
        yield running


@pytest.fixture
def topic() -> str:
    return f"ms-{secrets.token_hex(4)}"


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "supervisor.db"


def supervisor_for(
    lab: Homelab, state_file: Path, receiver: NtfyReceiver, topic: str, config: Path | None = None
) -> SupervisorProcess:
    environment = {"MEDIASTACK_NOTIFY_URLS": receiver.url(topic)}
    return SupervisorProcess(config or lab.config_path, state_file, environment).start()


@pytest.fixture
def supervisor(
    lab: Homelab, state_file: Path, receiver: NtfyReceiver, topic: str
) -> Iterator[SupervisorProcess]:
    running = supervisor_for(lab, state_file, receiver, topic)
    yield running
    assert running.stop() == 0, running.log()
    assert "stopped; state saved" in running.log()


def titles(receiver: NtfyReceiver, topic: str, count: int) -> list[str]:
    wait_until(
        lambda: len([m for m in receiver.messages if m.topic == topic]) >= count,
        30,
        f"{count} notification(s) on {topic}",
    )
    return [m.title.split(": ", 1)[1] for m in receiver.messages if m.topic == topic]


def report(name: str, measured: dict[str, float], supervisor: SupervisorProcess) -> None:
    issued = supervisor.wait_for("(start|recreate) issued")
    print(f"\n{name}: {measured}; supervisor: {issued.split(' INFO ')[-1]}")


def test_a_gluetun_restart_is_healed_into_the_new_namespace(
    lab: Homelab, receiver: NtfyReceiver, topic: str
) -> None:
    state_file = lab.root / ".mediastack" / "supervisor.db"  # the default: `status` reads it
    supervisor = supervisor_for(lab, state_file, receiver, topic)
    try:
        before = containers(lab.prefix)
        recorder = EventRecorder.for_lab(lab.prefix)
        docker("restart", "-t", "1", before["gluetun"])
        (cascade,) = wait_for_cascades(state_file, 1, supervisor=supervisor)
        assert cascade.outcome is Outcome.HEALED
        assert cascade.healed == DEPENDENTS
        after = containers(lab.prefix)
        assert after["gluetun"] == before["gluetun"]  # restarted in place
        assert all(after[service] != before[service] for service in DEPENDENTS)
        assert_healed_into_gluetun(lab)
        events = recorder.stop()
        assert creates_per_service(events) == dict.fromkeys(DEPENDENTS, 1)
        assert titles(receiver, topic, 2) == CASCADE_TITLES
        reported = json.loads(lab.run("status", "--format", "json").stdout)["supervisor"]
        assert (reported["running"], reported["mode"]) == (True, "watching")
        assert reported["recent_cascades"][0]["outcome"] == "healed"
        report("restart in place", recovery(events), supervisor)
    finally:
        assert supervisor.stop() == 0, supervisor.log()


def test_a_recreated_gluetun_is_followed_and_notifications_survive_an_outage(
    lab: Homelab,
    supervisor: SupervisorProcess,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    old_gluetun = containers(lab.prefix)["gluetun"]
    recorder = EventRecorder.for_lab(lab.prefix)
    receiver.go_down()  # healing must not wait for notifications
    try:
        vpn_compose(lab, "up", "-d", "--force-recreate", "--no-deps", "gluetun")
        (cascade,) = wait_for_cascades(state_file, 1)
    finally:
        receiver.rate_limit_next(1)  # and then one 429 before it accepts again
        receiver.come_back()
    assert cascade.outcome is Outcome.HEALED
    assert containers(lab.prefix)["gluetun"] != old_gluetun
    assert_healed_into_gluetun(lab)
    assert titles(receiver, topic, 2) == CASCADE_TITLES  # delivered late, in order
    report("recreate", recovery(recorder.stop()), supervisor)


def test_gluetun_never_healthy_times_out_and_starts_no_dependent(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    impatient = config_variant(lab, "impatient", gluetun_healthy_timeout_seconds=5)
    supervisor = supervisor_for(lab, state_file, receiver, topic, impatient)
    try:
        gluetun_unhealthy_file(lab, present=True)
        before = containers(lab.prefix)
        docker("restart", "-t", "1", before["gluetun"])
        (timeout,) = wait_for_cascades(state_file, 1)
        assert timeout.outcome is Outcome.GLUETUN_TIMEOUT
        assert timeout.healed == ()
        after = containers(lab.prefix, every=True)
        assert after["gluetun"] == before["gluetun"]  # never restarted by the supervisor
        # prepared while gluetun started (the old ones had no network left), never started
        assert all(after[service] != before[service] for service in DEPENDENTS)
        assert {service: container_status(after[service]) for service in DEPENDENTS} == (
            dict.fromkeys(DEPENDENTS, "created")
        )
        assert titles(receiver, topic, 2) == [CASCADE_TITLES[0], "gluetun is not healthy"]

        gluetun_unhealthy_file(lab, present=False)  # the VPN is back: it keeps watching
        healed = wait_for_cascades(state_file, 2)[0]
        assert healed.outcome is Outcome.HEALED
        assert_healed_into_gluetun(lab)
    finally:
        gluetun_unhealthy_file(lab, present=False)
        assert supervisor.stop() == 0, supervisor.log()


def test_a_dependent_that_fails_to_start_is_retried_then_reported(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    quick = config_variant(lab, "quick", dependent_attempts=3, dependent_retry_seconds=1)
    compose_file = lab.root / "stacks" / "vpn" / "compose.yaml"
    rendered = compose_file.read_text()
    broken = rendered.replace(
        "  sonarr:\n", '  sonarr:\n    entrypoint: ["/nonexistent"]\n', 1
    )  # its start fails: "exec: /nonexistent: no such file or directory"
    supervisor = supervisor_for(lab, state_file, receiver, topic, quick)
    try:
        compose_file.write_text(broken)
        recorder = EventRecorder.for_lab(lab.prefix)
        docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])
        (cascade,) = wait_for_cascades(state_file, 1)
        assert cascade.outcome is Outcome.PARTIAL
        assert cascade.failed == ("sonarr",)
        assert cascade.healed == ("prowlarr", "qbittorrent", "radarr")
        assert creates_per_service(recorder.stop())["sonarr"] == 3
        assert titles(receiver, topic, 3) == [
            CASCADE_TITLES[0],
            "a dependent could not be healed",
            "dependents partly healed",
        ]
    finally:
        compose_file.write_text(rendered)
        assert supervisor.stop() == 0, supervisor.log()
    vpn_compose(lab, "up", "-d", "--no-deps", "sonarr")
    assert_healed_into_gluetun(lab)


def test_a_supervisor_killed_mid_cascade_finishes_it_without_recreating_twice(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    first = supervisor_for(lab, state_file, receiver, topic)
    recorder = EventRecorder.for_lab(lab.prefix)
    docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])
    compose_calls = wait_until(first.children, 30, "the supervisor's compose call")
    first.kill()  # SIGKILL while compose recreates: no chance to save anything more
    for pid in compose_calls:  # the orphaned compose call finishes on its own
        wait_until(lambda pid=pid: has_exited(pid), 60, f"compose (pid {pid}) to exit")
    assert history(state_file) == ()  # the cascade was in flight

    second = supervisor_for(lab, state_file, receiver, topic)
    try:
        (cascade,) = wait_for_cascades(state_file, 1)
    finally:
        assert second.stop() == 0, second.log()
    assert cascade.outcome is Outcome.HEALED
    assert cascade.healed == DEPENDENTS
    # the compose call preparing them ran on without it: it only started them
    assert "decision: recreate" not in second.log()
    assert creates_per_service(recorder.stop()) == dict.fromkeys(DEPENDENTS, 1)
    assert_healed_into_gluetun(lab)


def supervisor_through_relay(
    lab: Homelab, state_file: Path, receiver: NtfyReceiver, topic: str, tmp_path: Path
) -> tuple[EngineRelay, SupervisorProcess]:
    """Start a supervisor that reaches the engine through a relay the test can cut."""
    relay = EngineRelay(tmp_path / "engine.sock")
    relay.restore()
    environment = {"MEDIASTACK_NOTIFY_URLS": receiver.url(topic), "DOCKER_HOST": relay.docker_host}
    return relay, SupervisorProcess(lab.config_path, state_file, environment).start()


def test_a_dropped_event_stream_is_reconnected_and_what_changed_is_healed(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
    tmp_path: Path,
) -> None:
    relay, supervisor = supervisor_through_relay(lab, state_file, receiver, topic, tmp_path)
    try:
        relay.cut()  # what the supervisor sees while dockerd restarts
        supervisor.wait_for("event stream lost")
        docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])  # unseen
        wait_until(lambda: inspect_health(lab) == "healthy", 30, "gluetun healthy again")
        relay.restore()
        supervisor.wait_for(r"event stream connected after \d+ failed attempt")
        (cascade,) = wait_for_cascades(state_file, 1)
        assert cascade.outcome is Outcome.HEALED
        assert_healed_into_gluetun(lab)
    finally:
        assert supervisor.stop() == 0, supervisor.log()
        relay.cut()


def container_status(container_id: str) -> str:
    return docker("inspect", "--format", "{{.State.Status}}", container_id).stdout.strip()


def inspect_health(lab: Homelab) -> str:
    gluetun = containers(lab.prefix)["gluetun"]
    return docker("inspect", "--format", "{{.State.Health.Status}}", gluetun).stdout.strip()


def test_sigterm_during_a_cascade_finishes_the_compose_call_and_saves(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    first = supervisor_for(lab, state_file, receiver, topic)
    docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])
    wait_until(first.children, 30, "the supervisor's compose call")
    assert first.process is not None
    first.process.send_signal(signal.SIGTERM)
    assert first.stop() == 0, first.log()
    log = first.log()
    assert log.index("stop requested (SIGTERM)") < log.index("stopped; state saved")
    assert "prepared sonarr" in log  # the compose call ran to its end and was recorded

    second = supervisor_for(lab, state_file, receiver, topic)  # verifies what was recreated
    try:
        (cascade,) = wait_for_cascades(state_file, 1)
    finally:
        assert second.stop() == 0, second.log()
    assert cascade.outcome is Outcome.HEALED
    assert_healed_into_gluetun(lab)


def test_a_restart_loop_is_paused_without_touching_the_dependents_until_resumed(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    """Two real gluetun restarts with at most one cascade an hour: the second is the loop."""
    strict = config_variant(lab, "strict", max_cascades_per_hour=1)
    supervisor = supervisor_for(lab, state_file, receiver, topic, strict)
    try:
        docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])
        assert wait_for_cascades(state_file, 1)[0].outcome is Outcome.HEALED
        before = containers(lab.prefix)
        docker("restart", "-t", "1", before["gluetun"])
        paused = wait_for_cascades(state_file, 2)[0]
        assert paused.outcome is Outcome.RATE_LIMITED
        assert titles(receiver, topic, 3)[2] == "restart loop: cascades paused"
        supervisor.wait_for("pause cascades until")
        assert containers(lab.prefix) == before  # left as they are: no churn in a loop

        resume = python_mediastack(strict, "supervise", "--resume", "--state-file", str(state_file))
        assert resume.returncode == 0, resume.stdout + resume.stderr
        healed = wait_for_cascades(state_file, 3)[0]
        assert healed.outcome is Outcome.HEALED and healed.healed == DEPENDENTS
        assert "cascades resumed" in titles(receiver, topic, 4)
        assert_healed_into_gluetun(lab)
    finally:
        assert supervisor.stop() == 0, supervisor.log()


def test_after_a_cascade_port_sync_gives_qbittorrent_the_new_forwarded_port(
    lab: Homelab,
    state_file: Path,
    receiver: NtfyReceiver,
    topic: str,
) -> None:
    """The supervisor's own port sync (a child process per run) against a real
    qbittorrent-nox on 127.0.0.1, reaching the gluetun stand-in on the lab's network (the
    supervisor's container reaches it by service name; a host process by its address)."""
    gluetun_url = f"http://{network_address(containers(lab.prefix)['gluetun'])}:8000"
    with running_qbittorrent_nox(listen_port=0) as peer:
        environment = {
            "MEDIASTACK_NOTIFY_URLS": receiver.url(topic),
            GLUETUN_URL_VARIABLE: gluetun_url,
            QBITTORRENT_URL_VARIABLE: peer.url,
            "QBITTORRENT_PASSWORD": peer.password,
        }
        supervisor = SupervisorProcess(lab.config_path, state_file, environment).start()
        try:
            first = forwarded_port(gluetun_url)
            wait_until(lambda: peer.preferences()["listen_port"] == first, 60, "the first sync")
            docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])
            assert wait_for_cascades(state_file, 1)[0].outcome is Outcome.HEALED
            second = forwarded_port(gluetun_url)
            assert second != first  # the stand-in forwards a new port at each start
            wait_until(lambda: peer.preferences()["listen_port"] == second, 60, "the sync after it")
            assert "port sync (cascade_finished)" in supervisor.log()
        finally:
            assert supervisor.stop() == 0, supervisor.log()


def network_address(container: str) -> str:
    """Return the container's address on its (only) network."""
    (network,) = inspect(container)["NetworkSettings"]["Networks"].values()
    address: str = network["IPAddress"]
    return address


def forwarded_port(gluetun_url: str) -> int:
    """Return the port gluetun forwards now, once it answers one (it may be starting)."""

    def answered() -> int | None:
        try:
            port = httpx.get(f"{gluetun_url}/v1/portforward", timeout=2).json()["port"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        return int(port) or None

    found: int = wait_until(answered, 30, "gluetun's forwarded port")
    return found


def python_mediastack(config: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediastack", "-c", str(config), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_boot_race_is_healed_the_same_way(
    lab: Homelab,
    supervisor: SupervisorProcess,
    state_file: Path,
) -> None:
    ids = containers(lab.prefix)
    docker("stop", "-t", "1", ids["gluetun"])
    raced = docker("restart", "-t", "1", ids["sonarr"], check=False)  # as at an engine's boot
    assert "cannot join network of a non running container" in raced.stderr
    docker("start", ids["gluetun"])
    (cascade,) = wait_for_cascades(state_file, 1)
    assert cascade.outcome is Outcome.HEALED
    assert cascade.healed == DEPENDENTS
    assert "sonarr (not running (exited))" in supervisor.log()
    assert_healed_into_gluetun(lab)


def test_an_up_of_the_vpn_stack_is_not_fought_and_counts_no_cascade(
    lab: Homelab, supervisor: SupervisorProcess, state_file: Path
) -> None:
    recorder = EventRecorder.for_lab(lab.prefix)
    before = containers(lab.prefix)
    result = lab.run("up", "vpn", "--force-recreate", "--no-wire", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    supervisor.wait_for("mediastack up ended: re-reading the engine")
    after = containers(lab.prefix)
    assert all(after[service] != before[service] for service in KEPT)  # compose made them
    events = recorder.stop()
    assert creates_per_service(events) == dict.fromkeys(KEPT, 1)  # the supervisor made none
    assert history(state_file) == ()  # no cascade, none counted
    assert "left to it" in supervisor.log()
    assert_healed_into_gluetun(lab)


def test_a_dependent_stopped_by_its_user_stays_stopped_through_a_gluetun_restart(
    lab: Homelab, supervisor: SupervisorProcess, state_file: Path
) -> None:
    vpn_compose(lab, "stop", "prowlarr")
    supervisor.wait_for("prowlarr stopped by its user: left stopped")
    docker("restart", "-t", "1", containers(lab.prefix)["gluetun"])
    (cascade,) = wait_for_cascades(state_file, 1)
    assert cascade.healed == ("qbittorrent", "radarr", "sonarr")
    prowlarr = containers(lab.prefix, every=True)["prowlarr"]
    assert container_status(prowlarr) == "exited"
    config = config_variant(lab, "user-stop", state_file=str(state_file))
    shown = json.loads(python_mediastack(config, "status", "--format", "json").stdout)
    assert {entry["service"]: entry["state"] for entry in shown["services"]}["prowlarr"] == (
        "stopped"
    )
    assert shown["supervisor"]["stopped_by_user"] == ["prowlarr"]
    vpn_compose(lab, "start", "prowlarr")
    supervisor.wait_for("prowlarr started again")
    assert_healed_into_gluetun(lab)


def test_gluetun_recreated_under_a_lease_while_the_stream_reconnects_costs_no_cascade(
    lab: Homelab, state_file: Path, receiver: NtfyReceiver, topic: str, tmp_path: Path
) -> None:
    """What a host-run `mediastack update gluetun` does (its lease, then compose recreating
    gluetun and its dependents), with the supervisor's stream cut meanwhile: the re-read of
    the reconnect is left to the lease's holder, and its end finds nothing to heal."""
    relay, supervisor = supervisor_through_relay(lab, state_file, receiver, topic, tmp_path)
    recorder = EventRecorder.for_lab(lab.prefix)
    before = containers(lab.prefix)
    try:
        with LeaseHolder(lease_folder(lab.root)).hold(KEPT, "mediastack update"):
            relay.cut()
            supervisor.wait_for("event stream lost")
            vpn_compose(lab, "up", "--detach", "--force-recreate", "--wait", *KEPT)
            relay.restore()
            supervisor.wait_for(
                r"engine read \(the event stream \(re\)connected\) while mediastack update holds"
            )
        supervisor.wait_for("mediastack update ended: re-reading the engine")
        after = containers(lab.prefix)
        assert all(after[service] != before[service] for service in KEPT)
        assert creates_per_service(recorder.stop()) == dict.fromkeys(KEPT, 1)
        assert history(state_file) == ()  # no cascade, none counted
        assert_healed_into_gluetun(lab)
    finally:
        assert supervisor.stop() == 0, supervisor.log()
        relay.cut()
