"""The cascade's notices say what happens: prepared containers are started, not recreated;
a cascade opened once gluetun was healthy does not claim gluetun took 0 s."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mediastack.supervisor.actions import Gluetun, Outcome
from mediastack.supervisor.cascade_notices import detected_notice, summary_notice
from mediastack.supervisor.progress import DependentStatus, InFlightCascade, Phase

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
GLUETUN = Gluetun("a" * 64, NOW - timedelta(seconds=20))


def test_a_healthy_gluetun_found_with_prepared_dependents_says_they_are_started() -> None:
    notice = detected_notice(GLUETUN, GLUETUN, {"radarr": "prepared", "sonarr": "prepared"}, None)
    assert notice.message == (
        f"Gluetun {GLUETUN.short_id} is healthy; 2 dependents wait for it (radarr, sonarr); "
        "starting their prepared containers now."
    )
    mixed = detected_notice(GLUETUN, GLUETUN, {"radarr": "prepared", "sonarr": "missing"}, None)
    assert mixed.message.endswith("starting the 1 prepared, recreating the others now.")


def test_stranded_dependents_are_still_told_as_stranded() -> None:
    notice = detected_notice(GLUETUN, GLUETUN, {"sonarr": "namespace differs"}, None)
    assert "found 1 dependents stranded outside gluetun" in notice.message.lower()
    assert notice.message.endswith("recreating them now.")


def _healed(opened_healthy: bool) -> InFlightCascade:
    cascade = InFlightCascade.open(GLUETUN, NOW, NOW + timedelta(seconds=60), {"sonarr": "x"})
    healthy_at = NOW if opened_healthy else NOW + timedelta(seconds=5)
    done = replace(
        cascade.dependents[0], status=DependentStatus.DONE, due_at=NOW + timedelta(seconds=8)
    )
    return replace(cascade, phase=Phase.HEALING, healthy_at=healthy_at, dependents=(done,))


def test_the_summary_of_a_cascade_opened_once_gluetun_was_healthy_claims_no_wait() -> None:
    after_timeout = summary_notice(_healed(True), Outcome.HEALED, NOW + timedelta(seconds=9))
    assert after_timeout.message == (
        f"1 dependents healed into gluetun {GLUETUN.short_id} in 8.0 s "
        "(from the moment gluetun was healthy): sonarr."
    )
    usual = summary_notice(_healed(False), Outcome.HEALED, NOW + timedelta(seconds=9))
    assert "in 8.0 s (gluetun healthy after 5.0 s)" in usual.message
