"""The status page as a browser would read it: zones, services where they live, escaping."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

import httpx
from page_parser import read_page
from web_support import TOKEN, Lab

from mediastack.config import LoadedConfig
from mediastack.config.load import parse_config
from mediastack.supervisor.actions import Outcome
from mediastack.supervisor.runtime.wire_notices import LinkRecord
from mediastack.supervisor.web import page
from mediastack.supervisor.web.page import NOT_KNOWN, render_page, render_sections
from mediastack.supervisor.web.routes import StatusRoutes
from mediastack.supervisor.web.topology import Topology, topology_of_config
from mediastack.updates.webhook_http import RequestHead


def zones(tmp_path: Path, text: str = "name: homelab\n") -> Topology:
    return topology_of_config(LoadedConfig(config=parse_config(text), path=tmp_path / "m.yaml"))


def test_the_three_zones_hold_the_services_the_config_enables(lab: Lab, tmp_path: Path) -> None:
    page = read_page(render_page(lab.view(), zones(tmp_path)))

    assert page.zone_of["gluetun"] == "vpn"
    assert page.zone_of["qbittorrent"] == "vpn"
    assert page.zone_of["sonarr"] == "vpn"
    assert page.zone_of["plex"] == "host"
    assert page.zone_of["seerr"] == "bridge"
    assert page.zone_of["supervisor"] == "bridge"
    assert "jellyfin" not in page.zone_of  # plex is the default media server


def test_a_switched_service_moves_with_the_config(lab: Lab, tmp_path: Path) -> None:
    text = "name: homelab\nmedia_server: jellyfin\nservices:\n  bazarr:\n    enabled: false\n"
    page = read_page(render_page(lab.view(), zones(tmp_path, text)))

    assert page.zone_of["jellyfin"] == "bridge"
    assert "plex" not in page.zone_of and "bazarr" not in page.zone_of


def test_the_page_is_self_contained(lab: Lab, tmp_path: Path) -> None:
    page = read_page(render_page(lab.view(), zones(tmp_path)))

    assert page.external == []  # no CDN, no stylesheet, no script file
    assert set(page.sections) >= {"needs", "supervisor", "zones", "cascades", "backups"}
    assert "meta" in page.tags  # the <noscript> refresh for a browser without JavaScript


def test_a_finished_cascade_is_shown_with_its_outcome_and_duration(
    lab: Lab, tmp_path: Path
) -> None:
    lab.beat()
    lab.finish_cascade(Outcome.PARTIAL, 12.5)

    page = read_page(render_page(lab.view(), zones(tmp_path)))

    assert "partial" in page.sections["cascades"]
    assert "12.5 s" in page.sections["cascades"]
    assert "sonarr" in page.sections["cascades"]
    assert "The last cascade ended partial" in page.sections["needs"]


def test_what_the_view_cannot_tell_is_not_known_yet(lab: Lab, tmp_path: Path) -> None:
    page = read_page(render_page(lab.view(), zones(tmp_path)))

    assert f"VPN: {NOT_KNOWN}. Forwarded port: {NOT_KNOWN}." in page.sections["zones"]
    assert NOT_KNOWN in page.sections["wiring"]
    assert "The supervisor has not run yet." in page.sections["needs"]


def test_the_last_port_sync_and_wire_run_are_shown(lab: Lab, tmp_path: Path) -> None:
    lab.sync("changed", port=40123)
    lab.wire(
        LinkRecord("plex", "library", "Plex library sections", "waiting", "claim Plex first"),
        summary="1 waiting",
    )
    page = read_page(render_page(lab.view(), zones(tmp_path)))

    assert "VPN: connected. Forwarded port: 40123." in page.sections["zones"]
    assert "Plex library sections" in page.sections["wiring"]
    assert "waiting claim Plex first" in page.sections["wiring"]


def test_every_value_is_escaped(lab: Lab, tmp_path: Path) -> None:
    lab.beat()
    lab.stop_by_user("<script>alert(1)</script>")
    lab.roll_back("sonarr", "sha256:<b>evil</b>")

    html = render_page(lab.view(), zones(tmp_path))
    page = read_page(html)

    assert "<script>alert(1)" not in html and "<b>evil" not in html
    assert "<script>alert(1)</script>" in page.sections["supervisor"]  # shown as text
    assert "sha256:<b>evil</b>" in page.sections["updates"]
    assert page.tags.count("script") == 1  # only the page's own


def test_a_pause_and_a_user_stop_are_shown(lab: Lab, tmp_path: Path) -> None:
    lab.beat()
    lab.finish_cascade(Outcome.RATE_LIMITED, 1, pause_until=lab.clock.now() + timedelta(hours=1))
    lab.stop_by_user("radarr")

    view = lab.view()
    page = read_page(render_page(view, zones(tmp_path)))

    assert view.paused
    assert "Cascades are paused" in page.sections["needs"]
    assert "radarr" in page.sections["supervisor"]
    assert "stopped by you" in page.sections["zones"]


def test_the_sections_are_the_page_s_sections(lab: Lab, tmp_path: Path) -> None:
    topology = zones(tmp_path)
    html = render_page(lab.view(), topology)

    for name, fragment in render_sections(lab.view(), topology).items():
        assert f'<section id="{name}">{fragment}</section>' in html


def test_the_page_wants_the_token_like_the_api(lab: Lab, tmp_path: Path) -> None:
    routes = StatusRoutes(lab.reader(), TOKEN, require_token=True, topology=zones(tmp_path))
    bare = RequestHead("GET", "/", {})
    bearer = RequestHead("GET", "/", {"authorization": f"Bearer {TOKEN}"})

    refused, page = routes.answer(bare), routes.answer(bearer)

    assert refused.status == httpx.codes.UNAUTHORIZED
    assert page.status == httpx.codes.OK
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert isinstance(page.body, bytes) and b"gluetun" in page.body


def test_the_pages_script_hash_in_its_content_security_policy_is_the_scripts() -> None:
    digest = base64.b64encode(hashlib.sha256(page.SCRIPT.encode()).digest()).decode()
    assert digest == page.SCRIPT_HASH
    assert f"'sha256-{digest}'" in page.CONTENT_SECURITY_POLICY
