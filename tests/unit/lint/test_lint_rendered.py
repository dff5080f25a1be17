"""What the real renderer writes lints clean of errors, for the default config and for one
with every optional service switched on."""

from __future__ import annotations

from pathlib import Path

from lint_support import LOCAL_ONLY, RenderedTree, render_tree, rule_ids

from mediastack.lint import Severity

EVERY_SERVICE = (
    "name: homelab\n"
    "media_server: jellyfin\n"
    "services:\n"
    "  supervisor: {enabled: true}\n"
    "  ntfy: {enabled: true}\n"
    "  whatsupdocker: {enabled: true}\n"
    "  tautulli: {enabled: true}\n"
    "  sonarr: {tag: '4.0.14', ports: {webui: 18989}}\n"
)


def test_default_render_has_no_errors_only_the_bind_address_warning(
    rendered: RenderedTree,
) -> None:
    report = rendered.lint()
    assert [project.stack for project in report.projects] == ["vpn", "media", "ops"]
    assert report.errors == 0
    assert rule_ids(report) == {"NET001"}
    assert all(finding.severity == Severity.WARNING for finding in report.findings)
    assert {finding.service for finding in report.findings} == {
        "gluetun",
        "seerr",
        "maintainerr",
        "suggestarr",
        "supervisor",  # its listener: the status pages, on by default
    }


def test_render_bound_to_loopback_has_no_findings_at_all(rendered_local: RenderedTree) -> None:
    report = rendered_local.lint()
    assert report.findings == ()
    assert not report.failed


def test_render_with_every_optional_service_has_no_findings(tmp_path: Path) -> None:
    tree = render_tree(tmp_path / "every", EVERY_SERVICE + LOCAL_ONLY)
    report = tree.lint()
    services = {service.name for project in report.projects for service in project.services}
    assert {"jellyfin", "supervisor", "ntfy", "whatsupdocker", "tautulli"} <= services
    assert report.findings == ()


def test_ipv6_bind_address_is_not_every_interface(tmp_path: Path) -> None:
    tree = render_tree(tmp_path / "v6", "network: {bind_address: 'fd00::10'}\n")
    assert tree.lint().findings == ()


def test_ipv6_any_address_is_every_interface(tmp_path: Path) -> None:
    tree = render_tree(tmp_path / "v6any", "network: {bind_address: '::'}\n")
    assert rule_ids(tree.lint()) == {"NET001"}
