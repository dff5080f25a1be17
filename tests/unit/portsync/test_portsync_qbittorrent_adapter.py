"""The qBittorrent adapter against a fake that answers with qbittorrent-nox 4.5.2's captured
responses and follows its measured rules (see portsync_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from portsync_support import FakeQbittorrent, captured, captured_preferences, free_url, serving

from mediastack.adapters.qbittorrent import (
    ListenPreferences,
    QbittorrentAnswerError,
    QbittorrentBannedError,
    QbittorrentClient,
    QbittorrentLoginFailedError,
    QbittorrentLoginRequiredError,
    QbittorrentRejectedError,
    QbittorrentSessionLostError,
    QbittorrentUnreachableError,
    parse_listen_preferences,
)

LOGIN = "/api/v2/auth/login"
PREFERENCES = "/api/v2/app/preferences"
SET_PREFERENCES = "/api/v2/app/setPreferences"


@pytest.fixture
def fake() -> FakeQbittorrent:
    return FakeQbittorrent(password="s3cret")


@pytest.fixture
def url(fake: FakeQbittorrent) -> Iterator[str]:
    with serving(fake.answer) as base_url:
        yield base_url


def test_captured_preferences_parse() -> None:
    assert parse_listen_preferences(captured_preferences()) == ListenPreferences(6881, False, True)


@pytest.mark.parametrize(
    "broken",
    [
        {"random_port": False, "upnp": True},
        {"listen_port": "1", "random_port": False, "upnp": True},
        {"listen_port": True, "random_port": False, "upnp": True},
        {"listen_port": 1, "upnp": True},
    ],
)
def test_preferences_without_the_fields_are_refused(broken: dict[str, object]) -> None:
    with pytest.raises(QbittorrentAnswerError):
        parse_listen_preferences(broken)


def test_a_read_logs_in_after_the_403_and_sends_no_origin(fake: FakeQbittorrent, url: str) -> None:
    with QbittorrentClient(url, "admin", "s3cret") as client:
        assert client.read_preferences() == ListenPreferences(6881, False, True)
    assert fake.paths()[:3] == [PREFERENCES, LOGIN, PREFERENCES]
    for request in fake.requests:
        assert "Origin" not in request.headers and "Referer" not in request.headers
    assert fake.requests[1].form == {"username": "admin", "password": "s3cret"}


def test_a_write_sets_all_three_in_one_request(fake: FakeQbittorrent, url: str) -> None:
    wanted = ListenPreferences(43210, random_port=False, upnp=False)
    with QbittorrentClient(url, "admin", "s3cret") as client:
        client.read_preferences()  # as a sync does: the session exists before the write
        client.write_preferences(wanted)
        assert client.read_preferences() == wanted
    writes = [r for r in fake.requests if r.path == SET_PREFERENCES]
    assert [w.form for w in writes] == [
        {"json": '{"listen_port":43210,"random_port":false,"upnp":false}'}
    ]


def test_the_session_is_kept_and_renewed_when_it_expired(fake: FakeQbittorrent, url: str) -> None:
    with QbittorrentClient(url, "admin", "s3cret") as client:
        client.read_preferences()
        client.read_preferences()
        fake.expire_sessions()  # qBittorrent restarted
        client.read_preferences()
    assert fake.paths().count(LOGIN) == 2


def test_close_logs_out(fake: FakeQbittorrent, url: str) -> None:
    client = QbittorrentClient(url, "admin", "s3cret")
    client.read_preferences()
    client.close()
    assert fake.paths()[-1] == "/api/v2/auth/logout"
    assert not fake.sessions


def test_without_a_password_the_bypass_is_used_and_no_login_tried(
    fake: FakeQbittorrent, url: str
) -> None:
    fake.bypass = True
    with QbittorrentClient(url, "admin", "") as client:
        assert client.read_preferences().listen_port == 6881
    assert LOGIN not in fake.paths()
    assert "/api/v2/auth/logout" not in fake.paths()


def test_without_a_password_and_bypass_no_failed_login_is_spent(
    fake: FakeQbittorrent, url: str
) -> None:
    with (
        QbittorrentClient(url, "admin", "") as client,
        pytest.raises(QbittorrentLoginRequiredError) as caught,
    ):
        client.read_preferences()
    assert LOGIN not in fake.paths()  # a failed log-in would count towards the ban
    assert caught.value.fix is not None and "QBITTORRENT_PASSWORD" in caught.value.fix


def test_a_wrong_password_is_one_failed_login(fake: FakeQbittorrent, url: str) -> None:
    with (
        QbittorrentClient(url, "admin", "wrong") as client,
        pytest.raises(QbittorrentLoginFailedError) as caught,
    ):
        client.read_preferences()
    assert fake.paths().count(LOGIN) == 1
    assert "user name or password" in caught.value.message


def test_a_banned_address_is_told_apart(fake: FakeQbittorrent, url: str) -> None:
    fake.banned = True
    with (
        QbittorrentClient(url, "admin", "s3cret") as client,
        pytest.raises(QbittorrentBannedError) as caught,
    ):
        client.read_preferences()
    assert "banned" in caught.value.message
    assert captured("login-banned").status == 403


def test_a_401_names_the_cross_site_and_host_checks(fake: FakeQbittorrent, url: str) -> None:
    fake.reject_all = True
    with (
        QbittorrentClient(url, "admin", "s3cret") as client,
        pytest.raises(QbittorrentRejectedError) as caught,
    ):
        client.read_preferences()
    assert "401" in caught.value.message and "Host" in caught.value.message
    assert LOGIN not in fake.paths()


def test_nothing_listening_is_unreachable() -> None:
    url = free_url()
    with (
        QbittorrentClient(url, "admin", "s3cret") as client,
        pytest.raises(QbittorrentUnreachableError) as caught,
    ):
        client.read_preferences()
    assert url in caught.value.message


def test_a_403_right_after_a_login_is_a_lost_session(fake: FakeQbittorrent, url: str) -> None:
    fake.lose_sessions = True
    with (
        QbittorrentClient(url, "admin", "s3cret") as client,
        pytest.raises(QbittorrentSessionLostError) as caught,
    ):
        client.read_preferences()
    assert fake.paths().count(LOGIN) == 1  # no login loop
    assert "session was lost" in caught.value.message
