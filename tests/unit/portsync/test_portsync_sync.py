"""sync_once with in-memory clients and injected time: no sockets, no sleeps."""

from __future__ import annotations

import pytest
from portsync_support import FakeGluetun, FakeStore, FakeTime

from mediastack.adapters.gluetun import (
    GluetunAnswerError,
    GluetunUnauthorizedError,
    GluetunUnavailableError,
    PublicAddress,
    parse_public_address,
)
from mediastack.adapters.qbittorrent import (
    ListenPreferences,
    QbittorrentAnswerError,
    QbittorrentBannedError,
    QbittorrentError,
    QbittorrentLoginFailedError,
    QbittorrentLoginRequiredError,
    QbittorrentRejectedError,
    QbittorrentSessionLostError,
    QbittorrentUnreachableError,
)
from mediastack.portsync import Problem, SyncOutcome, SyncStatus, sync_once
from mediastack.portsync.sync import ForwardedPortSource, poll_delay

WANTED = ListenPreferences(43210, random_port=False, upnp=False)


def run(
    gluetun: ForwardedPortSource,
    store: FakeStore,
    time: FakeTime | None = None,
    *,
    limit: float = 60,
    dry_run: bool = False,
    progress: list[str] | None = None,
) -> SyncOutcome:
    time = time or FakeTime()
    return sync_once(
        gluetun,
        store,
        port_wait_seconds=limit,
        dry_run=dry_run,
        wait=time.wait,
        monotonic=time.monotonic,
        progress=progress.append if progress is not None else None,
    )


def test_a_different_port_is_written_once_and_confirmed() -> None:
    store = FakeStore()
    outcome = run(FakeGluetun([(43210,)]), store)
    assert outcome.status == SyncStatus.CHANGED
    assert store.writes == [WANTED]
    assert (outcome.before, outcome.after) == (ListenPreferences(6881, False, True), WANTED)
    assert outcome.succeeded and outcome.wrote


def test_no_change_means_no_write() -> None:
    store = FakeStore(current=WANTED)
    outcome = run(FakeGluetun([(43210,)]), store)
    assert outcome.status == SyncStatus.UNCHANGED
    assert store.writes == []
    assert outcome.before == outcome.after == WANTED


def test_a_dry_run_writes_nothing() -> None:
    store = FakeStore()
    outcome = run(FakeGluetun([(43210,)]), store, dry_run=True)
    assert outcome.status == SyncStatus.WOULD_CHANGE
    assert outcome.after == WANTED and store.writes == []
    assert not outcome.wrote


def test_the_first_of_several_ports_is_used() -> None:
    outcome = run(FakeGluetun([(43210, 43211)]), FakeStore())
    assert outcome.forwarded_port == 43210


def test_port_zero_is_waited_out_with_backoff() -> None:
    time, progress = FakeTime(), []
    outcome = run(FakeGluetun([(), (), (43210,)]), FakeStore(), time, progress=progress)
    assert outcome.status == SyncStatus.CHANGED
    assert time.waits == [1.0, 2.0]
    assert outcome.waited_seconds == 3.0
    assert progress == [
        "gluetun has no forwarded port yet; asking again in 1 s",
        "gluetun has no forwarded port yet; asking again in 2 s",
    ]


def test_the_wait_for_a_port_is_bounded() -> None:
    time = FakeTime()
    outcome = run(FakeGluetun([()]), FakeStore(), time, limit=40)
    assert outcome.problem == Problem.NO_FORWARDED_PORT
    assert time.waits == [1.0, 2.0, 4.0, 8.0, 15.0, 10.0]  # the last one up to the limit
    assert sum(time.waits) == 40
    assert outcome.reason == "gluetun reported no forwarded port within 40 s"
    assert outcome.fix is not None and "port forwarding" in outcome.fix


def test_a_gluetun_still_starting_is_waited_for() -> None:
    starting = GluetunUnavailableError("cannot reach gluetun's control server at x")
    outcome = run(FakeGluetun([starting, starting, (43210,)]), FakeStore())
    assert outcome.status == SyncStatus.CHANGED


def test_a_gluetun_that_never_answers_is_reported_with_its_reason() -> None:
    down = GluetunUnavailableError("cannot reach gluetun's control server at x", "start it")
    outcome = run(FakeGluetun([down]), FakeStore(), limit=10)
    assert outcome.problem == Problem.GLUETUN_UNREACHABLE
    assert outcome.reason == "cannot reach gluetun's control server at x (for 10 s)"
    assert outcome.fix == "start it"


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (GluetunUnauthorizedError("401", "fix the key"), Problem.GLUETUN_UNAUTHORIZED),
        (GluetunAnswerError("nonsense"), Problem.GLUETUN_BAD_ANSWER),
    ],
)
def test_gluetun_refusals_fail_at_once(error: Exception, problem: Problem) -> None:
    time = FakeTime()
    outcome = run(FakeGluetun([error]), FakeStore(), time)  # type: ignore[list-item]
    assert outcome.problem == problem
    assert time.waits == []


def test_a_stop_request_ends_the_wait() -> None:
    time = FakeTime(stop_after=2)
    outcome = run(FakeGluetun([()]), FakeStore(), time)
    assert outcome.problem == Problem.STOPPED
    assert len(time.waits) == 2


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (QbittorrentUnreachableError("down"), Problem.QBITTORRENT_UNREACHABLE),
        (QbittorrentSessionLostError("lost"), Problem.QBITTORRENT_UNREACHABLE),
        (QbittorrentLoginFailedError("wrong"), Problem.QBITTORRENT_LOGIN_FAILED),
        (QbittorrentLoginRequiredError("login"), Problem.QBITTORRENT_LOGIN_REQUIRED),
        (QbittorrentBannedError("banned"), Problem.QBITTORRENT_BANNED),
        (QbittorrentRejectedError("401"), Problem.QBITTORRENT_REJECTED),
        (QbittorrentAnswerError("odd"), Problem.QBITTORRENT_BAD_ANSWER),
    ],
)
def test_qbittorrent_failures_become_problems(error: QbittorrentError, problem: Problem) -> None:
    outcome = run(FakeGluetun([(43210,)]), FakeStore(read_error=error))
    assert outcome.status == SyncStatus.FAILED
    assert (outcome.problem, outcome.reason, outcome.forwarded_port) == (
        problem,
        error.message,
        43210,
    )


def test_a_failed_write_is_a_failure() -> None:
    store = FakeStore(write_error=QbittorrentUnreachableError("gone"))
    assert run(FakeGluetun([(43210,)]), store).problem == Problem.QBITTORRENT_UNREACHABLE


def test_a_write_qbittorrent_did_not_apply_is_a_failure() -> None:
    store = FakeStore(ignore_writes=True)
    outcome = run(FakeGluetun([(43210,)]), store)
    assert outcome.problem == Problem.QBITTORRENT_NOT_APPLIED
    assert outcome.before == ListenPreferences(6881, False, True)
    assert store.writes == [WANTED]


def test_the_json_report_has_every_key() -> None:
    gluetun = FakeGluetun([(43210,)], address=PublicAddress("203.0.113.7", "Netherlands"))
    outcome = run(gluetun, FakeStore())
    assert outcome.as_json() == {
        "status": "changed",
        "forwarded_port": 43210,
        "before": {"listen_port": 6881, "random_port": False, "upnp": True},
        "after": {"listen_port": 43210, "random_port": False, "upnp": False},
        "written": True,
        "problem": None,
        "reason": None,
        "fix": None,
        "waited_seconds": 0.0,
        "public_ip": "203.0.113.7",
        "vpn_country": "Netherlands",
    }


def test_a_public_ip_gluetun_cannot_give_leaves_the_sync_as_it_was() -> None:
    refused = GluetunAnswerError("gluetun's control server answered 400 on /v1/publicip/ip")
    outcome = run(FakeGluetun([(43210,)], address=refused), FakeStore())
    assert outcome.status.value == "changed" and outcome.public_ip is None
    assert run(FakeGluetun([(43210,)]), FakeStore()).public_ip is None  # none found yet


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"public_ip": "203.0.113.7", "country": "Netherlands", "city": "Amsterdam"},
         PublicAddress("203.0.113.7", "Netherlands")),
        ({"public_ip": ""}, None),  # gluetun v3.40 before its first lookup: the zero Addr
        ({}, None),
        ({"public_ip": "2001:db8::7"}, PublicAddress("2001:db8::7")),
    ],
)  # fmt: skip
def test_gluetuns_public_ip_answer_is_read_as_its_model_encodes_it(
    payload: object, expected: PublicAddress | None
) -> None:
    assert parse_public_address(payload) == expected


@pytest.mark.parametrize("payload", [["203.0.113.7"], {"public_ip": "not-an-ip"}, {"public_ip": 7}])
def test_another_shape_is_an_answer_error(payload: object) -> None:
    with pytest.raises(GluetunAnswerError):
        parse_public_address(payload)


def test_poll_delays_double_up_to_15_seconds() -> None:
    assert [poll_delay(attempt) for attempt in range(1, 8)] == [1, 2, 4, 8, 15, 15, 15]
    assert poll_delay(10_000) == 15  # no overflow on a long wait


def test_which_problems_need_a_person() -> None:
    assert {problem for problem in Problem if problem.needs_person} == {
        Problem.GLUETUN_UNAUTHORIZED,
        Problem.QBITTORRENT_LOGIN_FAILED,
        Problem.QBITTORRENT_LOGIN_REQUIRED,
        Problem.QBITTORRENT_BANNED,
        Problem.QBITTORRENT_REJECTED,
    }
