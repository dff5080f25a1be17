"""The pure decision: write only when qBittorrent differs from the forwarded port."""

from __future__ import annotations

import pytest

from mediastack.adapters.qbittorrent import ListenPreferences
from mediastack.portsync import Change, NoChange, decide

RIGHT = ListenPreferences(listen_port=43210, random_port=False, upnp=False)


def test_matching_preferences_need_no_change() -> None:
    assert decide(43210, RIGHT) == NoChange(RIGHT)


@pytest.mark.parametrize(
    "current",
    [
        ListenPreferences(listen_port=6881, random_port=False, upnp=False),
        ListenPreferences(listen_port=0, random_port=True, upnp=False),
        ListenPreferences(listen_port=43210, random_port=False, upnp=True),
        ListenPreferences(listen_port=43210, random_port=True, upnp=False),
    ],
    ids=["other port", "random port", "upnp on", "random flag alone"],
)
def test_any_difference_sets_all_three(current: ListenPreferences) -> None:
    assert decide(43210, current) == Change(before=current, after=RIGHT)


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_an_impossible_port_is_refused(port: int) -> None:
    # qBittorrent itself stores 70000 without complaint (measured), so the check is ours.
    with pytest.raises(ValueError, match="not a port"):
        decide(port, RIGHT)


def test_the_port_range_ends_are_valid() -> None:
    for port in (1, 65535):
        result = decide(port, RIGHT)
        assert isinstance(result, Change)
        assert result.after.listen_port == port
