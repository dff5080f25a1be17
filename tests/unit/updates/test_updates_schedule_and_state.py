"""The cron schedule, the config's validation of it, notifications, holds and rollback memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mediastack.catalogue import Stack
from mediastack.config import ConfigError
from mediastack.config.load import parse_config
from mediastack.updates.coordination import FileRollbacks
from mediastack.updates.model import ServiceKey, Stage, UpdateEvent
from mediastack.updates.notices import notification_for
from mediastack.updates.schedule import UpdateSchedule, is_valid_cron

KEY = ServiceKey(Stack.VPN, "home-vpn", "sonarr")


def test_the_default_schedule_is_six_in_the_morning_local_time_across_dst() -> None:
    schedule = UpdateSchedule("0 6 * * *", "Europe/Berlin")
    winter = schedule.next_after(datetime(2026, 3, 28, 12, tzinfo=UTC))
    summer = schedule.next_after(datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert winter == datetime(2026, 3, 29, 4, tzinfo=UTC)  # 06:00 CEST, the first summer day
    assert summer == datetime(2026, 3, 30, 4, tzinfo=UTC)
    assert schedule.seconds_until_next(datetime(2026, 3, 30, 3, 59, tzinfo=UTC)) == 60


def test_next_is_strictly_after_and_naive_times_are_refused() -> None:
    schedule = UpdateSchedule("*/15 * * * *")
    moment = datetime(2026, 1, 1, 12, 15, tzinfo=UTC)
    assert schedule.next_after(moment) == datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        schedule.next_after(datetime(2026, 1, 1))


@pytest.mark.parametrize("expression", ["0 6 * *", "61 6 * * *", "0 6 * * * *", "daily"])
def test_invalid_cron_expressions(expression: str) -> None:
    assert not is_valid_cron(expression)
    with pytest.raises(ValueError):
        UpdateSchedule(expression)


def test_the_config_refuses_a_bad_schedule_and_a_bad_webhook_address() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("updates:\n  schedule: '61 6 * * *'\n  webhook: {bind_address: nowhere}\n")
    paths = {problem.path for problem in raised.value.problems}
    assert paths == {"updates.schedule", "updates.webhook.bind_address"}


def test_notifications_rise_with_the_trouble() -> None:
    def priority(stage: Stage) -> int:
        return notification_for(UpdateEvent(stage, KEY, "message", None, ("why",))).priority

    assert priority(Stage.PULLED) < priority(Stage.UPDATED) < priority(Stage.ROLLED_BACK)
    assert priority(Stage.ROLLBACK_FAILED) == 5
    note = notification_for(
        UpdateEvent(
            Stage.ROLLED_BACK, KEY, "sonarr was rolled back.", None, ("sonarr is unhealthy",)
        )
    )
    assert note.title == "Update rolled back: sonarr"
    assert note.body == "sonarr was rolled back.\nsonarr is unhealthy"
    assert note.tags == ("rewind",)


def test_rollback_memory_survives_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / ".mediastack" / "update-rollbacks.json"
    memory = FileRollbacks(path)
    assert memory.rolled_back() == {}
    memory.remember("sonarr", "sha256:" + "3" * 64)
    memory.remember("radarr", "sha256:" + "4" * 64)
    memory.forget("radarr")
    assert FileRollbacks(path).rolled_back() == {"sonarr": "sha256:" + "3" * 64}
    path.write_text("[]")
    assert memory.rolled_back() == {}
