"""The pure decision: given the VPN's forwarded port and qBittorrent's listen preferences,
what (if anything) must be written.

qBittorrent must listen on exactly the forwarded port: a random port or a port UPnP maps on
the LAN router is one the VPN does not forward, so peers cannot connect and seeding silently
stops. All three preferences are written together, in one ``setPreferences``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediastack.adapters.qbittorrent import ListenPreferences

MINIMUM_PORT = 1
MAXIMUM_PORT = 65535


@dataclass(frozen=True)
class Change:
    """qBittorrent must be set from ``before`` to ``after``."""

    before: ListenPreferences
    after: ListenPreferences


@dataclass(frozen=True)
class NoChange:
    """qBittorrent already listens on the forwarded port, with random port and UPnP off."""

    current: ListenPreferences


def wanted_preferences(forwarded_port: int) -> ListenPreferences:
    """Given the forwarded port, return the preferences qBittorrent must have; raise
    ValueError when it is not a port from 1 to 65535 (qBittorrent itself accepts anything)."""
    if not MINIMUM_PORT <= forwarded_port <= MAXIMUM_PORT:
        raise ValueError(f"{forwarded_port} is not a port qBittorrent can listen on")
    return ListenPreferences(listen_port=forwarded_port, random_port=False, upnp=False)


def decide(forwarded_port: int, current: ListenPreferences) -> Change | NoChange:
    """Given the forwarded port and qBittorrent's current listen preferences, return NoChange
    when they already match it, else the Change to write. Raise ValueError for a port
    outside 1..65535."""
    wanted = wanted_preferences(forwarded_port)
    if current == wanted:
        return NoChange(current)
    return Change(before=current, after=wanted)
