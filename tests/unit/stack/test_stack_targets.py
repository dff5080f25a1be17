"""TARGET resolution over rendered compose files."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.stack.rendered import RenderedFileError, read_project, rendered_projects
from mediastack.stack.targets import TargetError, resolve_targets

MakeHomelab = Callable[..., LoadedConfig]
PARTIAL = "name: home\nservices: {socket-proxy: {enabled: false}, supervisor: {enabled: false}}\n"


def summary(plan: list) -> list[tuple[str, tuple[str, ...]]]:  # type: ignore[type-arg]
    return [(target.stack.value, target.services) for target in plan]


def test_no_target_is_every_rendered_stack_in_start_order(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    assert summary(resolve_targets(loaded, [])) == [("vpn", ()), ("media", ()), ("ops", ())]


def test_down_order_is_reversed(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    assert [t.stack for t in resolve_targets(loaded, [], reverse=True)] == [
        Stack.OPS,
        Stack.MEDIA,
        Stack.VPN,
    ]


def test_only_stacks_with_a_compose_file_take_part(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab(stacks=("vpn", "ops"))
    assert summary(resolve_targets(loaded, [])) == [("vpn", ()), ("ops", ())]


def test_stack_targets_come_in_start_order_whatever_the_order_given(
    make_homelab: MakeHomelab,
) -> None:
    loaded = make_homelab()
    assert summary(resolve_targets(loaded, ["ops", "vpn"])) == [("vpn", ()), ("ops", ())]


def test_service_targets_are_grouped_by_stack(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    plan = resolve_targets(loaded, ["seerr", "radarr", "sonarr", "radarr"])
    assert summary(plan) == [("vpn", ("radarr", "sonarr")), ("media", ("seerr",))]
    assert plan[0].describe() == "vpn (home-vpn): radarr, sonarr"


def test_a_stack_target_wins_over_its_services(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    assert summary(resolve_targets(loaded, ["sonarr", "vpn"])) == [("vpn", ())]


def test_unknown_target_suggests_the_closest_name(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    with pytest.raises(TargetError) as caught:
        resolve_targets(loaded, ["sonar"])
    assert caught.value.message == "unknown target 'sonar'; did you mean 'sonarr'?"
    assert caught.value.fix.startswith("use a stack (vpn, media, ops) or a service (gluetun,")


def test_unknown_target_without_a_close_match(make_homelab: MakeHomelab) -> None:
    with pytest.raises(TargetError, match=r"^unknown target 'zzzz'$"):
        resolve_targets(make_homelab(), ["zzzz"])


def test_a_switched_off_service_says_how_to_switch_it_on(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()  # tautulli is off by default
    with pytest.raises(TargetError) as caught:
        resolve_targets(loaded, ["tautulli"])
    assert "not in the rendered ops stack" in caught.value.message
    assert "services.tautulli.enabled: true" in caught.value.fix


def test_a_stack_that_is_not_rendered(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab(PARTIAL)  # no enabled ops service: no ops compose file
    with pytest.raises(TargetError) as caught:
        resolve_targets(loaded, ["ops"])
    assert "stack ops is not rendered" in caught.value.message
    assert "mediastack render" in caught.value.fix


def test_nothing_rendered_says_run_render(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab(stacks=())
    with pytest.raises(RenderedFileError) as caught:
        resolve_targets(loaded, [])
    assert "no rendered stack" in caught.value.message
    assert "mediastack render" in caught.value.fix


def test_rendered_project_reads_services_zones_and_namespaces(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    vpn = read_project(loaded, Stack.VPN)
    assert vpn is not None
    assert vpn.project_name == "home-vpn"
    assert vpn.service_names[0] == "gluetun"
    gluetun, qbittorrent = vpn.service("gluetun"), vpn.service("qbittorrent")
    assert gluetun is not None and qbittorrent is not None
    assert (gluetun.zone, gluetun.namespace_owner) == ("gluetun", None)
    assert (qbittorrent.zone, qbittorrent.namespace_owner) == ("vpn", "gluetun")
    assert "qbittorrent" in vpn.namespace_dependents("gluetun")
    assert "gluetun" not in vpn.namespace_dependents("gluetun")


def test_a_service_found_only_in_a_hand_edited_file_is_a_target(
    make_homelab: MakeHomelab,
) -> None:
    loaded = make_homelab()
    loaded.compose_file(Stack.OPS).write_text(
        "services:\n  extra:\n    image: x\n    labels: [mediastack.zone=bridge]\n"
    )
    ops = read_project(loaded, Stack.OPS)
    assert ops is not None and ops.services[0].zone == "bridge"
    assert summary(resolve_targets(loaded, ["extra"])) == [("ops", ("extra",))]


def test_a_broken_compose_file_says_render_again(make_homelab: MakeHomelab) -> None:
    loaded = make_homelab()
    loaded.compose_file(Stack.MEDIA).write_text("services: [unclosed\n")
    with pytest.raises(RenderedFileError, match="cannot read"):
        rendered_projects(loaded)
    loaded.compose_file(Stack.MEDIA).write_text("just text\n")
    with pytest.raises(RenderedFileError, match="no `services:` mapping"):
        rendered_projects(loaded)
