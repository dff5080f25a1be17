"""`status`: the pure namespace verdict on captured containers, and collection over a fake
engine fed with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from mediastack.adapters.engine import ContainerInfo
from mediastack.adapters.fakes import FakeEngine
from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.stack.rendered import RenderedFileError
from mediastack.stack.status import (
    UNREAD_NAMESPACE_NOTE,
    NamespaceCheck,
    Verdict,
    collect,
    namespace_verdict,
    needing_attention,
)

Captured = Callable[..., ContainerInfo]
Namespaces = Callable[[str], dict[int, str]]
MakeHomelab = Callable[..., LoadedConfig]
OLD_GLUETUN = "618b71bfc203"


def verdict(
    captured: Captured,
    dependent: str,
    owner: str | None,
    namespaces: dict[int, str] | None = None,
) -> NamespaceCheck:
    dependent_container = captured(dependent)
    owner_container = captured(owner) if owner is not None else None
    known = namespaces or {}
    return namespace_verdict(
        dependent_container,
        owner_container,
        known.get(dependent_container.pid),
        known.get(owner_container.pid) if owner_container else None,
    )


def test_healthy_pair_sharing_a_namespace_is_ok(captured: Captured, namespaces: Namespaces) -> None:
    check = verdict(captured, "dependent-before", "gluetun-before", namespaces("before"))
    assert check == NamespaceCheck(Verdict.OK)


def test_without_readable_namespaces_ok_says_what_was_checked(captured: Captured) -> None:
    assert verdict(captured, "dependent-before", "gluetun-before") == NamespaceCheck(
        Verdict.OK, UNREAD_NAMESPACE_NOTE
    )


def test_in_place_restart_namespace_differs(captured: Captured, namespaces: Namespaces) -> None:
    check = verdict(
        captured, "dependent-after-restart", "gluetun-restarted", namespaces("after-restart")
    )
    assert check == NamespaceCheck(Verdict.STALE, "namespace differs")


def test_in_place_restart_without_namespaces_started_before(captured: Captured) -> None:
    check = verdict(captured, "dependent-after-restart", "gluetun-restarted")
    assert check == NamespaceCheck(Verdict.STALE, "started before gluetun")


def test_one_unreadable_namespace_falls_back_to_start_order(
    captured: Captured, namespaces: Namespaces
) -> None:
    known = namespaces("after-restart")
    gluetun = captured("gluetun-restarted")
    dependent = captured("dependent-after-restart")
    check = namespace_verdict(dependent, gluetun, known[dependent.pid], None)
    assert check == NamespaceCheck(Verdict.STALE, "started before gluetun")


@pytest.mark.parametrize("moment", ["after-recreate", None])
def test_recreated_gluetun_names_the_old_id(
    captured: Captured, namespaces: Namespaces, moment: str | None
) -> None:
    known = namespaces(moment) if moment else None
    check = verdict(captured, "dependent-after-recreate", "gluetun-recreated", known)
    assert check == NamespaceCheck(Verdict.STALE, f"network mode names old gluetun {OLD_GLUETUN}")


def test_gluetun_without_a_container(captured: Captured) -> None:
    check = verdict(captured, "dependent-before", None)
    assert check == NamespaceCheck(Verdict.STALE, f"network mode names old gluetun {OLD_GLUETUN}")


def test_stopped_gluetun_strands_its_running_dependent(captured: Captured) -> None:
    check = verdict(captured, "dependent-gluetun-stopped", "gluetun-stopped")
    assert check == NamespaceCheck(Verdict.STALE, "gluetun is not running (exited)")


def test_a_stopped_dependent_cannot_be_judged(captured: Captured) -> None:
    check = verdict(captured, "dependent-exited", "gluetun-recreated")
    assert check == NamespaceCheck(Verdict.UNKNOWN, "not running (exited)")


def test_a_dependent_on_another_network_is_stale(captured: Captured) -> None:
    dependent = dataclasses.replace(captured("dependent-before"), network_mode="bridge")
    check = namespace_verdict(dependent, captured("gluetun-before"), None, None, "vpn-box")
    assert check == NamespaceCheck(Verdict.STALE, "network mode is bridge, not vpn-box's")


@pytest.mark.parametrize("reference", ["msfixture-gluetun-1", OLD_GLUETUN])
def test_network_mode_by_name_or_short_id_also_counts(captured: Captured, reference: str) -> None:
    dependent = dataclasses.replace(
        captured("dependent-before"), network_mode=f"container:{reference}"
    )
    assert namespace_verdict(dependent, captured("gluetun-before"), None, None).verdict == (
        Verdict.OK
    )


# --- collect: rendered files + a fake engine -------------------------------------------------

VPN_ONLY = "name: home\nservices:\n" + "".join(
    f"  {name}: {{enabled: false}}\n"
    for name in (
        "prowlarr",
        "flaresolverr",
        "sonarr",
        "radarr",
        "bazarr",
        "unpackerr",
        "cross-seed",
        "recyclarr",
    )
)
NOW = datetime(2026, 11, 26, 22, 23, 0, tzinfo=UTC)


def engine_after_restart(captured: Captured, namespaces: Namespaces) -> FakeEngine:
    return FakeEngine(
        containers=[
            captured("gluetun-restarted", project="home-vpn"),
            captured("dependent-after-restart", project="home-vpn"),
        ],
        namespaces=namespaces("after-restart"),
    )


def test_collect_reports_every_rendered_service(
    make_homelab: MakeHomelab, captured: Captured, namespaces: Namespaces
) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn", "media"))
    statuses = collect(loaded, engine_after_restart(captured, namespaces), now=NOW)
    by_name = {status.service: status for status in statuses}
    assert [status.service for status in statuses] == [
        "gluetun",
        "qbittorrent",
        "plex",
        "seerr",
        "maintainerr",
        "suggestarr",
    ]
    gluetun, qbittorrent, plex = by_name["gluetun"], by_name["qbittorrent"], by_name["plex"]
    assert (gluetun.stack, gluetun.zone, gluetun.state, gluetun.health) == (
        Stack.VPN,
        "gluetun",
        "running",
        "healthy",
    )
    assert gluetun.namespace is None
    assert gluetun.started_at is not None
    assert gluetun.uptime_seconds == int((NOW - gluetun.started_at).total_seconds())
    assert qbittorrent.namespace == NamespaceCheck(Verdict.STALE, "namespace differs")
    assert (plex.state, plex.zone, plex.health, plex.container_id) == (
        "missing",
        "host",
        None,
        None,
    )
    assert plex.image == "lscr.io/linuxserver/plex:latest"


def test_collect_json_shape(
    make_homelab: MakeHomelab, captured: Captured, namespaces: Namespaces
) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    qbittorrent = collect(loaded, engine_after_restart(captured, namespaces), now=NOW)[1]
    assert qbittorrent.to_json() == {
        "stack": "vpn",
        "service": "qbittorrent",
        "zone": "vpn",
        "state": "running",
        "health": "unhealthy",
        "image": "mediastack-fixture/busybox:1",
        "container_id": "c8a903f194661af0316c07b29380b2b3ca4ba8766fca51d7febfb113154841a5",
        "started_at": "2026-11-26T22:22:33.474467+00:00",
        "uptime_seconds": 26,
        "namespace": "stale",
        "namespace_reason": "namespace differs",
    }


def test_collect_ignores_other_projects_and_one_off_containers(
    make_homelab: MakeHomelab, captured: Captured
) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    oneoff = captured("gluetun-recreated", project="home-vpn")
    oneoff = dataclasses.replace(
        oneoff, labels={**oneoff.labels, "com.docker.compose.oneoff": "True"}
    )
    engine = FakeEngine(containers=[captured("gluetun-before"), oneoff])  # project msfixture
    gluetun = collect(loaded, engine, now=NOW)[0]
    assert gluetun.state == "missing"


def test_of_two_containers_the_running_one_is_reported(
    make_homelab: MakeHomelab, captured: Captured
) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    running = captured("gluetun-recreated", project="home-vpn")
    stopped = captured("gluetun-stopped", project="home-vpn")
    for order in ([running, stopped], [stopped, running]):
        gluetun = collect(loaded, FakeEngine(containers=order), now=NOW)[0]
        assert gluetun.container_id == running.id


def test_a_stopped_container_reports_no_health_and_no_uptime(
    make_homelab: MakeHomelab, captured: Captured
) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    engine = FakeEngine(containers=[captured("gluetun-stopped", project="home-vpn")])
    gluetun = collect(loaded, engine, now=NOW)[0]
    assert (gluetun.state, gluetun.health, gluetun.uptime_seconds) == ("exited", None, None)


def test_needing_attention(
    make_homelab: MakeHomelab, captured: Captured, namespaces: Namespaces
) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    healthy = FakeEngine(
        containers=[
            captured("gluetun-before", project="home-vpn"),
            captured("dependent-before", project="home-vpn"),
        ],
        namespaces=namespaces("before"),
    )
    assert needing_attention(collect(loaded, healthy, now=NOW)) == []
    stale = collect(loaded, engine_after_restart(captured, namespaces), now=NOW)
    assert [status.service for status in needing_attention(stale)] == ["qbittorrent"]


def test_zone_falls_back_to_the_catalogue(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    path = loaded.compose_file(Stack.VPN)
    path.write_text("services:\n  gluetun: {image: x}\n  mystery: {image: y}\n")
    gluetun, mystery = collect(loaded, FakeEngine(), now=NOW)
    assert (gluetun.zone, mystery.zone) == ("gluetun", None)


def test_nothing_rendered(make_homelab: MakeHomelab) -> None:
    with pytest.raises(RenderedFileError):
        collect(make_homelab(stacks=()), FakeEngine(), now=NOW)


def test_uptime_is_never_negative(make_homelab: MakeHomelab, captured: Captured) -> None:
    loaded = make_homelab(VPN_ONLY, stacks=("vpn",))
    engine = FakeEngine(containers=[captured("gluetun-before", project="home-vpn")])
    early = datetime(2026, 11, 26, 22, 22, 30, tzinfo=UTC) - timedelta(seconds=5)
    assert collect(loaded, engine, now=early)[0].uptime_seconds == 0


def test_a_dependent_its_user_stopped_is_shown_stopped_and_needs_no_attention() -> None:
    from mediastack.catalogue import Stack
    from mediastack.stack.status import ServiceStatus, needing_attention, with_user_stops

    def entry(service: str, state: str) -> ServiceStatus:
        return ServiceStatus(Stack.VPN, service, "vpn", state, None, "x", "id", None, None, None)

    shown = with_user_stops(
        [entry("unpackerr", "exited"), entry("sonarr", "exited"), entry("radarr", "running")],
        {"unpackerr", "radarr"},
    )
    assert [item.state for item in shown] == ["stopped", "exited", "running"]
    assert [item.service for item in needing_attention(shown)] == ["sonarr"]
