"""The status read model, built from a real state file, heartbeat and backups folder."""

from __future__ import annotations

from datetime import timedelta

from web_support import Lab

from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.runtime.heartbeat import STALE_AFTER
from mediastack.supervisor.state import SupervisorStore


def test_a_supervisor_that_never_ran_is_shown_as_such_and_unhealthy(lab: Lab) -> None:
    view = lab.view()

    assert view.mode == "never ran"
    assert view.recent_cascades == ()
    assert not view.health.healthy
    assert view.to_json()["health"]["reason"].startswith("no heartbeat")
    assert not lab.paths.state_file.exists()  # reading never creates the state file


def test_the_last_cascades_are_shown_most_recent_first_with_outcome_and_duration(
    lab: Lab,
) -> None:
    lab.finish_cascade(Outcome.FAILED, 40)
    lab.clock.advance(600)
    lab.finish_cascade(Outcome.HEALED, 9.5)

    document = lab.view().to_json()

    recent = document["cascades"]["recent"]
    assert [entry["outcome"] for entry in recent] == ["healed", "failed"]
    assert recent[0]["duration_seconds"] == 9.5
    assert recent[0]["finished_at"] == "2026-01-01T12:10:00+00:00"
    assert document["cascades"]["totals"]["healed"] == 1
    assert document["cascades"]["totals"]["failed"] == 1
    assert document["cascades"]["totals"]["partial"] == 0
    assert document["supervisor"]["mode"] == "watching"


def test_a_pause_shows_until_when_and_ends_with_the_clock(lab: Lab) -> None:
    until = lab.clock.now() + timedelta(hours=1)
    lab.finish_cascade(Outcome.RATE_LIMITED, 1, pause_until=until)

    paused = lab.view()
    lab.clock.advance(timedelta(hours=1, seconds=1))
    resumed = lab.view()

    assert paused.paused and paused.paused_until == until
    assert paused.to_json()["supervisor"]["paused_until"] == "2026-01-01T13:00:00+00:00"
    assert not resumed.paused and resumed.paused_until is None


def test_dependents_stopped_by_their_user_are_listed(lab: Lab) -> None:
    lab.stop_by_user("radarr", "bazarr")

    assert lab.view().to_json()["supervisor"]["stopped_by_user"] == ["bazarr", "radarr"]


def test_health_follows_the_heartbeat_and_the_stream(lab: Lab) -> None:
    lab.beat(connected=True)
    fresh = lab.view().health
    lab.clock.advance(STALE_AFTER)
    stale = lab.view().health
    lost_at = lab.beat(connected=False)
    lab.clock.advance(timedelta(minutes=3))
    lab.beat(connected=False, since=lost_at)  # turning, but the stream lost 3 minutes ago
    lost = lab.view().health

    assert fresh.healthy and fresh.stream_connected
    assert not stale.healthy and "not turning" in stale.reason
    assert not lost.healthy and "event stream" in lost.reason


def test_backups_show_the_newest_and_the_newest_verified_archive(lab: Lab) -> None:
    now = lab.clock.now()
    lab.archive(now - timedelta(days=2), 300, verified=True)
    lab.archive(now - timedelta(days=1), 200, verified=True)
    lab.archive(now - timedelta(hours=1), 100, verified=False)

    backups = lab.view().to_json()["backups"]

    assert backups["archives"] == 3
    assert backups["latest"]["state"] == "unverified"
    assert backups["latest_verified"]["created_at"] == "2025-12-31T12:00:00+00:00"
    assert backups["latest_verified"]["size_bytes"] == 200


def test_rolled_back_updates_are_shown(lab: Lab) -> None:
    lab.roll_back("sonarr", "sha256:abc")

    assert lab.view().to_json()["updates"]["rolled_back"] == {"sonarr": "sha256:abc"}


def test_an_unreadable_state_file_is_a_problem_not_a_crash(lab: Lab) -> None:
    lab.paths.state_file.parent.mkdir(parents=True)
    lab.paths.state_file.write_bytes(b"not a database, not at all" * 100)

    view = lab.view()

    assert view.mode == "state unreadable"
    assert view.state_problem


def test_reading_beside_the_daemon_takes_no_write_lock(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    with SupervisorStore(lab.paths.state_file) as writer:
        writer._connection.execute("BEGIN IMMEDIATE")  # the daemon in a write transaction
        view = lab.view()
        writer._connection.execute("ROLLBACK")

    assert view.last_cascade is not None
    assert view.last_cascade.outcome is Outcome.HEALED


def test_the_view_reads_the_state_file_in_one_transaction(lab: Lab) -> None:
    lab.finish_cascade(Outcome.HEALED, 5)
    with SupervisorStore(lab.paths.state_file, read_only=True) as store, store.reading():
        before = store.history()
        lab.finish_cascade(Outcome.HEALED, 6)  # the daemon commits meanwhile
        assert store.history() == before  # still the snapshot the reading began with
    with SupervisorStore(lab.paths.state_file, read_only=True) as store:
        assert len(store.history()) == 2
