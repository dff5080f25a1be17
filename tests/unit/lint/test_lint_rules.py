"""Each rule fires on the misconfiguration it exists for, planted in a real rendered stack (or
a small hand-written file), with its id, a message naming what is wrong, and a fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lint_support import FIXTURES, RenderedTree, rule_hits, rule_ids

from mediastack.lint import (
    RULES,
    Finding,
    LintReport,
    Severity,
    lint_project,
    lint_stacks_folder,
    parse_project,
    rule_by_id,
)
from mediastack.lint.rules.security import is_literal, looks_secret


def only(report: LintReport, rule_id: str) -> Finding:
    """Return the one finding of ``rule_id``; fail when there is not exactly one."""
    found = [finding for finding in report.findings if finding.rule_id == rule_id]
    assert len(found) == 1, f"expected one {rule_id}, got {found}"
    return found[0]


def project_findings(text: str) -> list[Finding]:
    return lint_project(parse_project(text, Path("/stacks/extra/compose.yaml")))


# --- the rule table -------------------------------------------------------------------------


def test_rule_table_ids_are_unique_and_documented() -> None:
    ids = [rule.rule_id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule in RULES:
        assert re.fullmatch(r"[A-Z]{3}\d{3}", rule.rule_id)
        assert rule.title and rule.description
        assert rule.severity in (Severity.ERROR, Severity.WARNING)
        # the check's docstring names the rule it implements: table and code stay paired
        assert (rule.check.__doc__ or "").startswith(f"{rule.rule_id}:"), rule.rule_id


def test_rule_by_id() -> None:
    assert rule_by_id("VPN001").severity == Severity.ERROR
    with pytest.raises(KeyError):
        rule_by_id("XXX999")


# --- 1. VPN leak ----------------------------------------------------------------------------


def move_out_of_vpn(service: dict[str, Any]) -> None:
    del service["network_mode"]
    del service["depends_on"]
    service["ports"] = ["8080:8080"]


def test_acceptance_qbittorrent_moved_out_of_the_vpn_namespace(rendered: RenderedTree) -> None:
    rendered.edit("vpn", "qbittorrent", move_out_of_vpn)
    report = rendered.lint()
    leak = only(report, "VPN001")
    assert (leak.service, leak.severity, leak.stack) == ("qbittorrent", Severity.ERROR, "vpn")
    assert "bypasses the VPN" in leak.message
    assert "network_mode: service:gluetun" in leak.fix
    assert only(report, "VPN002").service == "qbittorrent"
    assert report.failed


@pytest.mark.parametrize("mode", ["host", "bridge", "container:plex"])
def test_download_service_on_another_network_leaks(rendered: RenderedTree, mode: str) -> None:
    rendered.edit("vpn", "prowlarr", lambda service: service.update(network_mode=mode))
    assert rule_hits(rendered.lint(), "VPN001") == ["prowlarr"]


def test_container_syntax_naming_gluetun_is_inside_the_namespace(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn",
        "sonarr",
        lambda service: service.update(network_mode="container:mediastack-vpn-gluetun-1"),
    )
    rendered.edit("vpn", "radarr", lambda service: service.update(network_mode="container:gluetun"))
    assert rendered.lint().errors == 0


def test_hand_added_download_client_is_recognised_by_its_image() -> None:
    findings = project_findings(
        "services:\n"
        "  dl:\n    image: linuxserver/deluge:2.1\n    volumes: ['/srv/data:/data']\n"
        "  tv:\n    image: ghcr.io/hotio/sonarr\n    network_mode: host\n"
        "  vpnclient:\n    image: haugene/transmission-openvpn\n"
    )
    assert [f.service for f in findings if f.rule_id == "VPN001"] == ["dl", "tv"]


@pytest.mark.parametrize(("image", "leaks"), [("qmcgaw/gluetun:v3", False), ("busybox", True)])
def test_gluetun_is_known_by_its_image_whatever_its_name(image: str, leaks: bool) -> None:
    findings = project_findings(
        "services:\n"
        f"  tunnel: {{image: '{image}', cap_add: [NET_ADMIN], devices: [/dev/net/tun]}}\n"
        "  qbittorrent: {image: linuxserver/qbittorrent, network_mode: 'service:tunnel'}\n"
    )
    assert any(f.rule_id == "VPN001" for f in findings) is leaks


def test_handwritten_short_syntax_stack_with_transmission_on_the_bridge() -> None:
    report = lint_stacks_folder(FIXTURES / "handwritten")
    found = {(finding.rule_id, finding.service) for finding in report.findings}
    assert found == {
        ("VPN001", "transmission"),
        ("VPN002", "transmission"),
        ("HLK001", "transmission"),
        ("HLK003", "transmission"),
        ("SEC004", "transmission"),
        ("HLT002", "transmission"),
    }
    assert all(finding.fix for finding in report.findings)
    assert "/srv/downloads:/downloads" in only(report, "HLK003").message
    assert "network_mode: service:vpn" in only(report, "VPN001").fix  # gluetun is named vpn here


def test_leak_fix_in_a_stack_without_gluetun_points_at_the_container_syntax() -> None:
    findings = project_findings("services:\n  sab: {image: lscr.io/linuxserver/sabnzbd}\n")
    leak = next(finding for finding in findings if finding.rule_id == "VPN001")
    assert "network_mode: container:" in leak.fix


def test_long_syntax_stack_is_clean() -> None:
    assert lint_stacks_folder(FIXTURES / "long-syntax").findings == ()


def test_gluetun_needs_its_tun_device_and_net_admin(rendered: RenderedTree) -> None:
    def strip(service: dict[str, Any]) -> None:
        del service["devices"]
        del service["cap_add"]

    rendered.edit("vpn", "gluetun", strip)
    report = rendered.lint()
    assert "devices: [/dev/net/tun:/dev/net/tun]" in only(report, "VPN003").fix
    assert "cap_add: [NET_ADMIN]" in only(report, "VPN004").fix


# --- 2. hardlinks ---------------------------------------------------------------------------


def test_acceptance_sonarr_given_a_separate_downloads_mount(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn", "sonarr", lambda service: service["volumes"].append("/srv/torrents:/downloads")
    )
    report = rendered.lint()
    finding = only(report, "HLK003")
    assert (finding.service, finding.severity) == ("sonarr", Severity.ERROR)
    assert "/srv/torrents:/downloads" in finding.message
    assert f"{rendered.config_path.parent / 'data'}:/data" in finding.message
    assert "EXDEV" in finding.message
    assert "/data" in finding.fix
    assert report.errors == 1


def test_sonarr_with_another_data_source(rendered: RenderedTree) -> None:
    def elsewhere(service: dict[str, Any]) -> None:
        service["volumes"] = [v for v in service["volumes"] if not v.endswith(":/data")]
        service["volumes"].append({"type": "bind", "source": "/mnt/other", "target": "/data"})

    rendered.edit("vpn", "sonarr", elsewhere)
    finding = only(rendered.lint(), "HLK002")
    data = f"{rendered.config_path.parent / 'data'}"
    assert finding.service == "sonarr"
    assert "/mnt/other:/data" in finding.message and data in finding.message
    assert "qbittorrent" in finding.message
    assert f"{data}:/data" in finding.fix


def test_radarr_without_data_mount(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn",
        "radarr",
        lambda service: service.update(
            volumes=[v for v in service["volumes"] if not v.endswith(":/data")]
        ),
    )
    finding = only(rendered.lint(), "HLK001")
    assert finding.service == "radarr"
    assert f"{rendered.config_path.parent / 'data'}:/data" in finding.fix


def test_mount_nested_inside_data_breaks_hardlinks(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn",
        "qbittorrent",
        lambda service: service["volumes"].append("/mnt/fast:/data/torrents/incomplete"),
    )
    assert rule_hits(rendered.lint(), "HLK003") == ["qbittorrent"]


def test_harmless_extra_mounts_are_allowed(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn",
        "sonarr",
        lambda service: service["volumes"].extend(
            ["/etc/localtime:/etc/localtime:ro", "./scripts:/custom-cont-init.d:ro"]
        ),
    )
    assert rendered.lint().errors == 0


# --- 3. healthchecks ------------------------------------------------------------------------


def test_namespace_service_without_healthcheck_is_an_error(rendered: RenderedTree) -> None:
    rendered.edit("vpn", "sonarr", lambda service: service.pop("healthcheck"))
    finding = only(rendered.lint(), "HLT001")
    assert (finding.service, finding.severity) == ("sonarr", Severity.ERROR)
    assert "ls /sys/class/net | grep -qvx lo" in finding.fix


def test_namespace_service_with_disabled_healthcheck_is_an_error(rendered: RenderedTree) -> None:
    rendered.edit("vpn", "bazarr", lambda service: service.update(healthcheck={"disable": True}))
    assert "disables" in only(rendered.lint(), "HLT001").message


def test_bridge_service_without_healthcheck_is_a_warning(rendered_local: RenderedTree) -> None:
    rendered_local.edit("media", "seerr", lambda service: service.pop("healthcheck"))
    report = rendered_local.lint()
    finding = only(report, "HLT002")
    assert (finding.service, finding.severity) == ("seerr", Severity.WARNING)
    assert not report.failed


def test_namespace_healthcheck_without_guard_is_a_warning(rendered_local: RenderedTree) -> None:
    rendered_local.edit(
        "vpn",
        "radarr",
        lambda service: service.update(
            healthcheck={"test": ["CMD", "curl", "-f", "http://localhost:7878/ping"]}
        ),
    )
    finding = only(rendered_local.lint(), "HLT003")
    assert (finding.service, finding.severity) == ("radarr", Severity.WARNING)


# --- 4-7. security --------------------------------------------------------------------------


def test_privileged_is_an_error(rendered: RenderedTree) -> None:
    rendered.edit("media", "plex", lambda service: service.update(privileged=True))
    finding = only(rendered.lint(), "SEC001")
    assert (finding.service, finding.stack) == ("plex", "media")
    assert "privileged" in finding.fix


def test_docker_socket_short_and_long_syntax(rendered: RenderedTree) -> None:
    rendered.edit(
        "media",
        "maintainerr",
        lambda service: service["volumes"].append("/var/run/docker.sock:/var/run/docker.sock:ro"),
    )
    rendered.edit(
        "media",
        "seerr",
        lambda service: service["volumes"].append(
            {"type": "bind", "source": "/run/docker.sock", "target": "/docker.sock"}
        ),
    )
    report = rendered.lint()
    assert rule_hits(report, "SEC002") == ["seerr", "maintainerr"]
    assert all("socket proxy" in f.fix for f in report.findings if f.rule_id == "SEC002")


def test_socket_proxy_may_hold_the_socket(rendered: RenderedTree) -> None:
    report = rendered.lint()
    proxy = next(p for p in report.projects if p.stack == "ops").service("socket-proxy")
    assert proxy is not None and proxy.mount_at("/var/run/docker.sock") is not None
    assert "SEC002" not in rule_ids(report)


def test_net_admin_on_sonarr(rendered: RenderedTree) -> None:
    rendered.edit("vpn", "sonarr", lambda service: service.update(cap_add=["NET_ADMIN"]))
    finding = only(rendered.lint(), "SEC003")
    assert finding.service == "sonarr"
    assert "kill-switch" in finding.message
    assert "only gluetun" in finding.fix


def test_literal_wireguard_private_key(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn",
        "gluetun",
        lambda service: service["environment"].update(WIREGUARD_PRIVATE_KEY="kLtV2Qd9literalkey="),
    )
    finding = only(rendered.lint(), "SEC004")
    assert finding.service == "gluetun"
    assert "WIREGUARD_PRIVATE_KEY" in finding.message
    assert "kLtV2Qd9literalkey=" not in finding.message + finding.fix  # never echo the secret
    assert "${WIREGUARD_PRIVATE_KEY}" in finding.fix and ".env" in finding.fix


def test_literal_api_key_inside_the_gluetun_role_json(rendered: RenderedTree) -> None:
    rendered.edit(
        "vpn",
        "gluetun",
        lambda service: service["environment"].update(
            HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE='{"auth":"apikey","apikey":"abc123"}'
        ),
    )
    assert "(apikey)" in only(rendered.lint(), "SEC004").message


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("WIREGUARD_PRIVATE_KEY", True),
        ("PROWLARR__AUTH__APIKEY", True),
        ("APIKEY", True),
        ("ntfy_token", True),
        ("OPENVPN_PASSWORD", True),
        ("PASS", True),
        ("PLEX_CLAIM", True),
        ("CLIENT_SECRET", True),
        ("WIREGUARD_PUBLIC_KEY", False),
        ("HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE", False),
        ("PASSWORD_FILE", False),
        ("WEBUI_PORT", False),
        ("FIREWALL_BYPASS", False),
        ("TZ", False),
    ],
)
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("hunter2", True),
        ("${KEY}", False),
        ("${KEY:?set it}", False),
        ("$KEY", False),
        ("prefix-${KEY}", False),
        ("cost$$5", True),
        ("", False),
        (None, False),
    ],
)
def test_literal_values(value: str | None, literal: bool) -> None:
    assert is_literal(value) is literal


# --- 8. bind address ------------------------------------------------------------------------


def test_all_interfaces_warning_names_the_config_fix(rendered: RenderedTree) -> None:
    report = rendered.lint()
    finding = next(f for f in report.findings if f.service == "gluetun")
    assert finding.rule_id == "NET001" and finding.severity == Severity.WARNING
    assert "0.0.0.0:8080:8080" in finding.message
    assert finding.fix.startswith("set network.bind_address in mediastack.yaml to your LAN address")


def test_port_without_host_address_is_every_interface(rendered_local: RenderedTree) -> None:
    rendered_local.edit("media", "seerr", lambda service: service.update(ports=["5055:5055"]))
    assert rule_hits(rendered_local.lint(), "NET001") == ["seerr"]


def test_namespace_service_may_not_publish_ports(rendered_local: RenderedTree) -> None:
    rendered_local.edit(
        "vpn", "recyclarr", lambda service: service.update(ports=["127.0.0.1:9999:9999"])
    )
    assert rule_hits(rendered_local.lint(), "NET002") == ["recyclarr"]


def test_host_port_published_twice(rendered_local: RenderedTree) -> None:
    rendered_local.edit(
        "media", "maintainerr", lambda service: service.update(ports=["0.0.0.0:5055:6246"])
    )
    finding = only(rendered_local.lint(), "NET003")
    assert finding.service == "maintainerr"
    assert "seerr" in finding.message


def test_same_port_on_two_specific_addresses_does_not_clash() -> None:
    findings = project_findings(
        "services:\n"
        "  a: {image: x, ports: ['10.0.0.1:80:80'], healthcheck: {test: 'true'}}\n"
        "  b: {image: y, ports: ['10.0.0.2:80:80'], healthcheck: {test: 'true'}}\n"
        "  c: {image: z, ports: ['10.0.0.2:80:80/udp'], healthcheck: {test: 'true'}}\n"
    )
    assert findings == []


# --- 9. dependencies ------------------------------------------------------------------------


def test_depends_on_a_missing_service(rendered: RenderedTree) -> None:
    rendered.edit("media", "seerr", lambda service: service.update(depends_on=["sonarr"]))
    finding = only(rendered.lint(), "DEP001")
    assert (finding.service, finding.stack) == ("seerr", "media")
    assert "sonarr" in finding.message and "sonarr" in finding.fix


def test_optional_dependency_may_be_absent() -> None:
    findings = project_findings(
        "services:\n  a:\n    image: x\n    healthcheck: {test: 'true'}\n"
        "    depends_on: {b: {condition: service_started, required: false}}\n"
    )
    assert findings == []


def test_namespace_of_a_missing_service(rendered: RenderedTree) -> None:
    document = rendered.document("vpn")
    document["services"]["qbittorrent"]["network_mode"] = "service:vpn"
    rendered.write("vpn", document)
    report = rendered.lint()
    assert rule_hits(report, "DEP002") == ["qbittorrent"]
    assert "service:vpn" in only(report, "DEP002").message


# --- extras ---------------------------------------------------------------------------------


def test_override_file_is_flagged(rendered_local: RenderedTree) -> None:
    (rendered_local.stacks / "vpn" / "compose.override.yaml").write_text("services: {}\n")
    finding = only(rendered_local.lint(), "FIL001")
    assert (finding.service, finding.stack, finding.severity) == (None, "vpn", Severity.WARNING)


def test_findings_are_ordered_errors_first_within_a_project(rendered: RenderedTree) -> None:
    rendered.edit("media", "seerr", lambda service: service.update(privileged=True))
    media = [f for f in rendered.lint().findings if f.stack == "media"]
    assert [f.severity for f in media] == sorted(
        (f.severity for f in media), key=lambda severity: severity != Severity.ERROR
    )
    assert media[0].rule_id == "SEC001"
