"""What the status pages know of updates: the last run's pending and applied updates, and
every result counted across runs (and daemon restarts), written by the update worker."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mediastack.config.schema import Supervisor
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.notices import LogOnlyNotifier
from mediastack.supervisor.runtime.update_records import (
    UPDATE_RESULTS,
    UpdatesRecorder,
    read_updates_record,
    updates_record_path,
)
from mediastack.supervisor.runtime.update_runner import (
    UpdateRunner,
    UpdateSummary,
    parse_update_result,
)
from mediastack.supervisor.web.metrics import render_metrics
from mediastack.supervisor.web.page import needs_you, render_page
from mediastack.supervisor.web.status_sources import StatusPaths, StatusReader
from mediastack.supervisor.web.topology import Topology
from mediastack.updates import Outcome, Source, UpdateQueue, UpdateRequest


class Summaries:
    def __init__(self, *summaries: UpdateSummary) -> None:
        self._summaries = list(summaries)

    def handle(self, request: UpdateRequest) -> UpdateSummary:
        return self._summaries.pop(0)


def test_the_results_counted_are_the_pipelines_outcomes_but_a_dry_run() -> None:
    assert set(UPDATE_RESULTS) == {outcome.value for outcome in Outcome} - {"dry_run"}


def test_an_update_childs_result_carries_its_pending_and_applied_updates() -> None:
    summary = parse_update_result({
        "checked": 9, "registry_requests": 4, "applied": 1,
        "pending": ["plex"], "results": [["sonarr", "rolled_back"]],
    })  # fmt: skip
    assert summary.pending == ("plex",) and summary.results == (("sonarr", "rolled_back"),)
    older = parse_update_result({"checked": 1, "registry_requests": 1, "applied": 0})
    assert older.pending == () and older.results == ()  # a child of the previous version


def test_each_run_is_recorded_and_results_add_up_across_daemon_restarts(tmp_path: Path) -> None:
    clock = FakeClock()
    path = updates_record_path(tmp_path / "state.db")
    first = UpdateSummary(9, 4, 1, ("plex",), (("sonarr", "updated"),))
    UpdatesRecorder(path, clock).record("schedule", first)
    clock.advance(86400)
    second = UpdateSummary(9, 4, 2, (), (("radarr", "updated"), ("bazarr", "rolled_back")))
    UpdatesRecorder(path, clock).record("webhook", second)  # a restarted daemon's recorder

    record = read_updates_record(path).record
    assert record is not None
    assert record.source == "webhook" and record.pending == ()
    assert record.totals["updated"] == 2 and record.totals["rolled_back"] == 1


def test_the_update_worker_records_what_it_ran(tmp_path: Path) -> None:
    clock = FakeClock()
    path = updates_record_path(tmp_path / "state.db")
    queue = UpdateQueue()
    summary = UpdateSummary(3, 2, 0, ("plex",))
    runner = UpdateRunner(queue, lambda: Summaries(summary), LogOnlyNotifier(), "home",
                          recorder=UpdatesRecorder(path, clock))  # fmt: skip
    queue.put(UpdateRequest(Source.WEBHOOK, frozenset({"plex"})))
    assert runner.handle_waiting() == 1
    record = read_updates_record(path).record
    assert record is not None and record.pending == ("plex",) and record.checked == 3


def test_a_pending_update_needs_you_on_the_page_and_in_the_metrics(tmp_path: Path) -> None:
    clock = FakeClock()
    state = tmp_path / "state.db"
    summary = UpdateSummary(9, 4, 1, ("plex",), (("sonarr", "updated"),))
    UpdatesRecorder(updates_record_path(state), clock).record("schedule", summary)
    view = StatusReader(
        "home", StatusPaths(state, tmp_path / "backups", tmp_path / "rollbacks.json"),
        Supervisor(), clock, lambda path: {},
    )()  # fmt: skip

    assert any("An update of plex waits for you" in line for line in needs_you(view))
    page = render_page(view, Topology())
    assert "sonarr: updated" in page and "Waiting for you" in page
    found = {
        family.name: family
        for family in text_string_to_metric_families(render_metrics(view).decode())
    }
    assert found["mediastack_updates_pending"].samples[0].value == 1
    updated = [s for s in found["mediastack_updates"].samples if s.labels == {"result": "updated"}]
    assert updated[0].name == "mediastack_updates_total" and updated[0].value == 1
    assert view.to_json()["updates"]["last_run"]["pending"] == ["plex"]


