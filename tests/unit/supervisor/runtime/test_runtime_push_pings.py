"""Push pings (issue 12): the URLs read from the .env variable, what each monitor gets for a
verdict, when, bounded, and what is logged, against real HTTP stand-ins on 127.0.0.1 that
answer as healthchecks.io and Uptime Kuma do (``support.push_monitors``). Intervals pass on a
fake clock: no test sleeps for one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import mediastack
from mediastack.config.schema import StatusPage
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.runtime.push_monitors import (
    MESSAGE_LIMIT,
    PushKind,
    PushUrlError,
    parse_push_urls,
    short_message,
)
from mediastack.supervisor.runtime.push_pings import (
    PushPinger,
    PushThread,
    build_push_thread,
    push_targets,
)
from mediastack.supervisor.runtime.push_transport import UrllibTransport
from support.push_monitors import (
    KUMA_NOT_FOUND,
    GenericReceiver,
    HealthchecksStandIn,
    KumaStandIn,
)

VARIABLE = "MEDIASTACK_PUSH_URLS"
UUID = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
UNKNOWN_UUID = "0b4d2a43-5e42-4d3f-9d73-2c0c5f4ad0e1"
PING_KEY = "fqoljnh4x2hk0k3vbkyaxq"
TOKEN = "Zx8aQ2vL0pR7tY5uW3eB9nM4kJ6hG1fD"
UNKNOWN_TOKEN = "Q0w9E8r7T6y5U4i3O2p1A0s9D8f7G6h5"
SECRETS = (UUID, UNKNOWN_UUID, PING_KEY, TOKEN, UNKNOWN_TOKEN)
INTERVAL = 60.0


@pytest.fixture
def healthchecks() -> Iterator[HealthchecksStandIn]:
    """A self-hosted healthchecks (under /ping): UUIDs and ping-key/slug URLs both route."""
    with HealthchecksStandIn(
        uuids=(UUID,), slugs=((PING_KEY, "supervisor"),), prefix="/ping"
    ) as stand_in:
        yield stand_in


@pytest.fixture
def kuma() -> Iterator[KumaStandIn]:
    with KumaStandIn(tokens=(TOKEN,)) as stand_in:
        yield stand_in


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="mediastack")
    return caplog


def pinger_for(
    clock: FakeClock, *urls: str, transport: UrllibTransport | None = None
) -> PushPinger:
    targets = parse_push_urls(" ".join(urls), VARIABLE)
    return PushPinger(targets, INTERVAL, transport or UrllibTransport(), clock)


def warnings(logs: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in logs.records if record.levelno >= logging.WARNING]


def assert_no_secret_in(text: str) -> None:
    assert [secret for secret in SECRETS if secret in text] == []


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the variable ------------------------------------------------------------------------


def test_the_variable_lists_urls_by_spaces_or_commas_each_of_its_kind_once() -> None:
    text = (
        f"https://hc-ping.com/{UUID}, https://kuma.lan:3001/api/push/{TOKEN}?status=up&msg=OK"
        f"&ping=\n https://hc.example/hc/ping/{PING_KEY}/supervisor,"
        f"https://hc-ping.com/{UUID} http://[fd00::5]:8080/{UUID} https://cron.example/beat"
    )
    targets = parse_push_urls(text, VARIABLE)
    assert [(target.kind, target.host) for target in targets] == [
        (PushKind.HEALTHCHECKS, "hc-ping.com"),
        (PushKind.UPTIME_KUMA, "kuma.lan:3001"),
        (PushKind.HEALTHCHECKS, "hc.example"),
        (PushKind.HEALTHCHECKS, "[fd00::5]:8080"),
        (PushKind.GENERIC, "cron.example"),
    ]
    assert_no_secret_in(repr(targets))


def test_an_unset_or_empty_variable_pings_nothing() -> None:
    status = StatusPage()
    assert push_targets(status, {}) == ()
    assert push_targets(status, {VARIABLE: " , "}) == ()
    assert build_push_thread(status, {VARIABLE: ""}, FakeClock(), lambda: (True, "")) is None


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        (f"ftp://hc-ping.com/{UUID}", "is ftp://, not http(s)://"),
        (UUID, "is no URL"),
        (f"hc-ping.com/{UUID}", "is no URL"),
        (f"https:///ping/{UUID}", "has no host"),
        (f"https://hc-ping.com/{UUID}/fail", "is not a healthchecks.io check's ping URL"),
        (f"https://hc-ping.com/{PING_KEY}", "is not a healthchecks.io check's ping URL"),
        (f"https://kuma.lan:port/api/push/{TOKEN}", "cannot be read"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_variable_and_position_not_the_secret(
    entry: str, said: str
) -> None:
    with pytest.raises(PushUrlError) as refused:
        parse_push_urls(f"https://hc-ping.com/{UNKNOWN_UUID} {entry}", VARIABLE)
    message = str(refused.value)
    assert message.startswith(f"{VARIABLE}: the 2nd URL ")
    assert said in message
    assert_no_secret_in(message)


def test_a_message_is_one_short_line_with_no_secret_and_no_url_beyond_its_host() -> None:
    reason = f"gluetun\tunhealthy\n{TOKEN} see https://user:pw@kuma.lan/api/push/{TOKEN}?a=b " + (
        "x" * 400
    )
    message = short_message(reason, (TOKEN,), "unhealthy")
    assert message.startswith("gluetun unhealthy *** see https://kuma.lan xxx")
    assert len(message) == MESSAGE_LIMIT and message.endswith("…")
    assert_no_secret_in(message)
    assert "pw" not in message
    assert short_message(" \n ", (), "healthy") == "healthy"


# -- what each monitor gets ------------------------------------------------------------


def test_healthy_pings_each_monitor_its_success_path_with_the_reason(
    clock: FakeClock, healthchecks: HealthchecksStandIn, kuma: KumaStandIn
) -> None:
    with GenericReceiver() as generic:
        pinger = pinger_for(
            clock,
            healthchecks.url(UUID),
            healthchecks.url(f"{PING_KEY}/supervisor"),
            kuma.url(TOKEN, "status=up&msg=OK&ping="),
            f"{generic.base_url()}/beat/{TOKEN}",
        )
        assert pinger.check(True, "the loop turned 3 s ago; the event stream is connected") == 4
        assert [hit.path for hit in generic.hits] == [f"/beat/{TOKEN}"]
    reason = "the loop turned 3 s ago; the event stream is connected"
    assert [(p.check, p.action, p.method, p.body) for p in healthchecks.pings] == [
        (UUID, "success", "POST", reason),
        (f"{PING_KEY}/supervisor", "success", "POST", reason),
    ]
    assert [(b.token, b.up, b.message) for b in kuma.beats] == [(TOKEN, True, reason)]
    assert pinger.counters() == {
        "healthchecks": {"ok": 2, "refused": 0, "timed_out": 0, "unreachable": 0},
        "uptime_kuma": {"ok": 1, "refused": 0, "timed_out": 0, "unreachable": 0},
        "generic": {"ok": 1, "refused": 0, "timed_out": 0, "unreachable": 0},
    }


def test_unhealthy_goes_to_fail_and_status_down_with_the_reason_and_not_to_a_generic_url(
    clock: FakeClock, healthchecks: HealthchecksStandIn, kuma: KumaStandIn
) -> None:
    with GenericReceiver() as generic:
        pinger = pinger_for(
            clock, healthchecks.url(UUID), kuma.url(TOKEN), f"{generic.base_url()}/beat"
        )
        assert pinger.check(False, "the loop is not turning: its last turn was 2 min ago") == 2
        assert generic.hits == []
    reason = "the loop is not turning: its last turn was 2 min ago"
    assert [(p.action, p.body) for p in healthchecks.pings] == [("fail", reason)]
    assert [(b.up, b.message) for b in kuma.beats] == [(False, reason)]


def test_kuma_keeps_the_urls_other_parameters(clock: FakeClock, kuma: KumaStandIn) -> None:
    pinger = pinger_for(clock, kuma.url(TOKEN, "status=down&msg=stale&ping=12"))
    pinger.check(True, "fine")
    assert [(b.up, b.message, b.ping) for b in kuma.beats] == [(True, "fine", 12.0)]


def test_a_post_only_check_takes_the_pings_as_pings_not_as_ignored(clock: FakeClock) -> None:
    """At the root, as on hc-ping.com (a bare UUID path is recognised on any host)."""
    with HealthchecksStandIn(uuids=(UUID,), post_only=(UUID,)) as hosted:
        pinger = pinger_for(clock, hosted.url(UUID))
        pinger.check(True, "fine")
        pinger.check(False, "gluetun is down")
    assert [(p.action, p.method) for p in hosted.pings] == [("success", "POST"), ("fail", "POST")]


def test_a_user_and_password_in_a_url_are_sent_as_basic_auth(clock: FakeClock) -> None:
    with GenericReceiver() as generic:
        pinger_for(clock, f"http://mediastack:s3cret-pass@127.0.0.1:{generic.port}/beat").check(
            True, "fine"
        )
    assert [hit.authorization for hit in generic.hits] == ["Basic bWVkaWFzdGFjazpzM2NyZXQtcGFzcw=="]


# -- when --------------------------------------------------------------------------------


def test_pings_go_every_interval_and_a_change_of_verdict_at_once(
    clock: FakeClock, healthchecks: HealthchecksStandIn, kuma: KumaStandIn
) -> None:
    pinger = pinger_for(clock, healthchecks.url(UUID), kuma.url(TOKEN))
    sent = [pinger.check(True, "fine")]
    for step, healthy in ((30, True), (30, True), (10, False), (5, False), (55, False), (1, True)):
        clock.advance(step)
        sent.append(pinger.check(healthy, "fine" if healthy else "gluetun is down"))
    # 0 s: first; 30 s: not due; 60 s: due; 70 s: turned unhealthy; 75 s: not due;
    # 130 s: due (60 s after the last); 131 s: healthy again, at once
    assert sent == [2, 0, 2, 2, 0, 2, 2]
    assert [p.action for p in healthchecks.pings] == [
        "success",
        "success",
        "fail",
        "fail",
        "success",
    ]
    assert [b.up for b in kuma.beats] == [True, True, False, False, True]
    assert pinger.seconds_until_due() == INTERVAL


def test_a_generic_url_falls_silent_while_unhealthy_and_pings_at_once_on_recovery(
    clock: FakeClock,
) -> None:
    with GenericReceiver() as generic:
        pinger = pinger_for(clock, f"{generic.base_url()}/beat")
        sent = [pinger.check(True, "fine")]
        for step, healthy in ((10, False), (60, False), (5, True)):
            clock.advance(step)
            sent.append(pinger.check(healthy, "fine" if healthy else "down"))
            if not healthy:
                assert pinger.seconds_until_due() is None  # the thread sleeps its check time
    assert sent == [1, 0, 0, 1]
    assert len(generic.hits) == 2


def test_a_flapping_verdict_pings_one_url_at_most_five_times_a_minute(
    clock: FakeClock, healthchecks: HealthchecksStandIn
) -> None:
    pinger = pinger_for(clock, healthchecks.url(UUID))
    for second in range(0, 60, 5):
        pinger.check(second % 10 == 0, "flapping")
        clock.advance(5)
    assert len(healthchecks.pings) == 5  # healthchecks.io drops pings past 5 a minute
    pinger.check(False, "down for good")  # at 60 s the first ping has left the window
    assert [p.action for p in healthchecks.pings] == [
        "success",
        "fail",
        "success",
        "fail",
        "success",
        "fail",
    ]


# -- bounded, counted, logged once -------------------------------------------------------


def test_an_unknown_check_and_token_are_refusals_counted_and_warned_once(
    clock: FakeClock,
    healthchecks: HealthchecksStandIn,
    kuma: KumaStandIn,
    logs: pytest.LogCaptureFixture,
) -> None:
    pinger = pinger_for(clock, healthchecks.url(UNKNOWN_UUID), kuma.url(UNKNOWN_TOKEN))
    for _ in range(4):
        pinger.check(True, "fine")
        clock.advance(INTERVAL)
    assert pinger.counters()["healthchecks"]["refused"] == 4
    assert pinger.counters()["uptime_kuma"]["refused"] == 4
    assert warnings(logs) == [
        f"push ping to healthchecks.io at 127.0.0.1:{healthchecks.port} failed: HTTP 404 "
        "(not found); pinged again every 60 s, logged again when it answers",
        f"push ping to Uptime Kuma at 127.0.0.1:{kuma.port} failed: HTTP 404 "
        f"({KUMA_NOT_FOUND}); pinged again every 60 s, logged again when it answers",
    ]
    assert healthchecks.pings == [] and kuma.beats == []
    assert_no_secret_in(logs.text)


def test_a_slow_server_costs_at_most_the_timeout_and_counts_as_timed_out(
    clock: FakeClock, kuma: KumaStandIn, logs: pytest.LogCaptureFixture
) -> None:
    kuma.delay_seconds = 5.0
    transport = UrllibTransport(connect_seconds=0.3, total_seconds=0.6)
    pinger = pinger_for(clock, kuma.url(TOKEN), transport=transport)
    started = time.monotonic()
    pinger.check(True, "fine")
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 1.5
    assert pinger.counters()["uptime_kuma"]["timed_out"] == 1
    [status] = pinger.statuses()
    assert (status.failing, status.last_detail) == (True, "no answer within 0.6 s")
    assert kuma.beats == []
    assert_no_secret_in(logs.text)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose connects hang: its listener's accept queue (Linux: backlog 0 holds one)
    is full and nothing accepts, so the kernel drops further SYNs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        time.sleep(0.1)
        yield port
        for filler in fillers:
            filler.close()


def test_a_connect_that_hangs_costs_the_connect_bound_not_the_total(
    clock: FakeClock, unanswered_port: int
) -> None:
    transport = UrllibTransport(connect_seconds=0.3, total_seconds=5.0)
    pinger = pinger_for(
        clock, f"http://127.0.0.1:{unanswered_port}/ping/{UUID}", transport=transport
    )
    started = time.monotonic()
    pinger.check(True, "fine")
    assert time.monotonic() - started < 2.0
    assert pinger.statuses()[0].last_detail == "no connection within 0.3 s"
    assert pinger.counters()["healthchecks"]["timed_out"] == 1


def test_an_unreachable_url_warns_once_over_many_cycles_and_says_when_it_answers_again(
    clock: FakeClock, logs: pytest.LogCaptureFixture
) -> None:
    kuma = KumaStandIn(tokens=(TOKEN,))
    kuma.port = closed_port()
    pinger = pinger_for(clock, kuma.url(TOKEN))
    for _ in range(5):
        pinger.check(True, "fine")
        clock.advance(INTERVAL)
    assert warnings(logs) == [
        f"push ping to Uptime Kuma at 127.0.0.1:{kuma.port} failed: connection refused; "
        "pinged again every 60 s, logged again when it answers"
    ]
    assert pinger.statuses()[0].failures_in_a_row == 5
    with kuma:  # listening now, on that port
        pinger.check(True, "fine")
    recovered = [r.getMessage() for r in logs.records if "answers again" in r.getMessage()]
    assert recovered == [
        f"push ping to Uptime Kuma at 127.0.0.1:{kuma.port} answers again, after 5 failed ping(s)"
    ]
    assert pinger.counters()["uptime_kuma"] == {
        "ok": 1,
        "refused": 0,
        "timed_out": 0,
        "unreachable": 5,
    }
    assert len(warnings(logs)) == 1
    assert_no_secret_in(logs.text)


def test_no_secret_reaches_the_logs_the_statuses_or_a_message_sent(
    clock: FakeClock,
    healthchecks: HealthchecksStandIn,
    kuma: KumaStandIn,
    logs: pytest.LogCaptureFixture,
) -> None:
    pinger = pinger_for(
        clock,
        healthchecks.url(UUID),
        healthchecks.url(f"{PING_KEY}/supervisor"),
        kuma.url(TOKEN),
        kuma.url(UNKNOWN_TOKEN),
        f"http://127.0.0.1:{closed_port()}/ping/{UNKNOWN_UUID}",
    )
    leaky = f"cannot reach {kuma.url(TOKEN)} (token {TOKEN}, check {UUID}, key {PING_KEY})"
    for healthy in (True, False, True):
        pinger.check(healthy, leaky)
        clock.advance(INTERVAL)
    sent = [p.body for p in healthchecks.pings] + [b.message for b in kuma.beats]
    assert len(sent) == 9 and all("cannot reach http://127.0.0.1:" in text for text in sent)
    assert_no_secret_in(" ".join(sent))
    assert_no_secret_in(logs.text)
    assert_no_secret_in(repr(pinger.statuses()) + json.dumps(pinger.counters()))


# -- the thread --------------------------------------------------------------------------


def wait_until(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.01)
    return False


def test_the_thread_pings_at_once_and_stops_within_a_second(
    clock: FakeClock, healthchecks: HealthchecksStandIn
) -> None:
    asked = threading.Event()

    def verdict() -> tuple[bool, str]:
        asked.set()
        return True, "fine"

    thread = PushThread(pinger_for(clock, healthchecks.url(UUID)), verdict, check_seconds=30.0)
    thread.start()
    assert wait_until(lambda: len(healthchecks.pings) == 1)
    started = time.monotonic()
    assert thread.stop(timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert asked.is_set() and len(healthchecks.pings) == 1


def test_a_verdict_that_cannot_be_read_pushes_unhealthy_and_is_logged_once(
    clock: FakeClock, kuma: KumaStandIn, logs: pytest.LogCaptureFixture
) -> None:
    def verdict() -> tuple[bool, str]:
        raise OSError(f"cannot read /state/{TOKEN}")

    thread = PushThread(pinger_for(clock, kuma.url(TOKEN)), verdict)
    for _ in range(3):
        thread.run_once()
        clock.advance(INTERVAL)
    assert [(b.up, b.message) for b in kuma.beats] == [
        (False, "the supervisor's health cannot be read (OSError)")
    ] * 3
    assert len([r for r in logs.records if "cannot be read" in r.getMessage()]) == 1


def test_the_thread_built_from_the_config_pings_the_configured_urls(
    clock: FakeClock, kuma: KumaStandIn, logs: pytest.LogCaptureFixture
) -> None:
    environment = {VARIABLE: f"{kuma.url(TOKEN)}, {kuma.url(TOKEN)}"}
    thread = build_push_thread(StatusPage(), environment, clock, lambda: (True, "fine"))
    assert thread is not None
    assert thread.run_once() == 1
    assert [(b.token, b.up, b.message) for b in kuma.beats] == [(TOKEN, True, "fine")]
    assert f"push pings every 60 s to Uptime Kuma at 127.0.0.1:{kuma.port}" in logs.text
    assert_no_secret_in(logs.text)


def test_importing_the_pings_loads_no_http_client() -> None:
    """The daemon imports this module; urllib.request and ssl (6.5 MB) come only with a URL."""
    code = (
        "import sys, json; import mediastack.supervisor.runtime.push_pings; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(mediastack.__file__))},
        check=True,
    )
    modules = set(json.loads(completed.stdout))
    assert modules & {"urllib.request", "http.client", "ssl"} == set()
