"""qBittorrent's credentials are tried once: a refusal is remembered, so the supervisor's
runs every few minutes do not walk 127.0.0.1 into qBittorrent's ban (five failures). Against
the fake qBittorrent of the port sync tests, which answers with qbittorrent-nox 4.5.2's
captured answers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "portsync"))

from portsync_support import FakeQbittorrent, serving

from mediastack.links.link import Context, LinkStatus
from mediastack.links.stack_links import QbittorrentLoginLink


def _logins(fake: FakeQbittorrent) -> int:
    return fake.paths("POST").count("/api/v2/auth/login")


def test_a_refused_password_is_tried_once_across_runs_and_again_when_it_changes(
    tmp_path: Path,
) -> None:
    fake = FakeQbittorrent(password="right")
    memory = tmp_path / "refused"
    with serving(fake.answer) as url:
        wrong = QbittorrentLoginLink(url, "admin", "wrong", memory)
        first = wrong.inspect(Context(apis={}))
        second = wrong.inspect(Context(apis={}))
        assert first.status is LinkStatus.BROKEN and "not retried" in first.detail
        assert second.status is LinkStatus.BROKEN and "not tried again" in second.detail
        assert _logins(fake) == 1
        fixed = QbittorrentLoginLink(url, "admin", "right", memory).inspect(Context(apis={}))
        assert fixed.status is LinkStatus.OK
        assert _logins(fake) == 2 and not memory.exists()


def test_a_ban_is_reported_with_its_fix_not_as_a_wrong_password(tmp_path: Path) -> None:
    fake = FakeQbittorrent(banned=True)
    with serving(fake.answer) as url:
        found = QbittorrentLoginLink(url, "admin", "s3cret", tmp_path / "m").inspect(
            Context(apis={})
        )
    assert found.status is LinkStatus.BROKEN and "banned" in found.detail
