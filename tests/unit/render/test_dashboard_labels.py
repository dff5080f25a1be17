"""Dashboard labels: Homepage's widget on the summary the supervisor serves, Glance's parent
and children, no token in a label, and the switches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig, load_config
from mediastack.render import render_stacks, render_to_disk
from mediastack.supervisor.clock import FakeClock
from mediastack.supervisor.web.serving import status_paths
from mediastack.supervisor.web.status_sources import StatusReader
from mediastack.supervisor.web.status_view import StatusView
from mediastack.supervisor.web.summary import summary_of
from mediastack.updates.coordination import FileRollbacks

STATUS_TOKEN = "status-token-7f3a9c1e5b2d4f6a8c0e2b4d6f8a1c3e"
WEBHOOK_TOKEN = "webhook-token-2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a"
SECRETS = (
    "GLUETUN_API_KEY=gluetun-api-key-5d7f9b1c3e5a7c9e1b3d5f7a\n"
    "WIREGUARD_PRIVATE_KEY=wireguard-private-key-9e1b3d5f7a9c1e3b5d\n"
    "WIREGUARD_ADDRESSES=10.2.0.2/32\n"
    "SONARR_API_KEY=sonarr-api-key-3c5e7a9c1e3b5d7f9b1d3f5a\n"
    "RADARR_API_KEY=radarr-api-key-7a9c1e3b5d7f9b1d3f5a7c9e\n"
    "PROWLARR_API_KEY=prowlarr-api-key-1e3b5d7f9b1d3f5a7c9e1b3d\n"
    "SEERR_API_KEY=seerr-api-key-5d7f9b1d3f5a7c9e1b3d5f7a9c\n"
    f"MEDIASTACK_STATUS_TOKEN={STATUS_TOKEN}\n"
    f"MEDIASTACK_WEBHOOK_TOKEN={WEBHOOK_TOKEN}\n"
)
EXTRAS = (
    "services: {ntfy: {enabled: true}, whatsupdocker: {enabled: true}, "
    "tautulli: {enabled: true}}\n"
)
# Homepage's customapi formats (docs/widgets/services/customapi.md); the block view shows four.
HOMEPAGE_FORMATS = {
    "text", "number", "float", "percent", "duration", "bytes", "bitrate", "size", "date",
    "relativeDate",
}
EXISTING_LABELS = {"autoheal", "mediastack.managed", "mediastack.stack", "mediastack.zone"}


def make_config(tmp_path: Path, text: str = "") -> LoadedConfig:
    (tmp_path / "mediastack.yaml").write_text(text)
    (tmp_path / ".env").write_text(SECRETS)
    return load_config(tmp_path / "mediastack.yaml")


def all_labels(loaded: LoadedConfig) -> dict[str, dict[str, str]]:
    """Return service -> labels over every rendered stack."""
    return {
        name: service["labels"]
        for rendered in render_stacks(loaded)
        for name, service in rendered.document["services"].items()
    }


def all_services(loaded: LoadedConfig) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for rendered in render_stacks(loaded)
        for name, service in rendered.document["services"].items()
    }


def fresh_view(loaded: LoadedConfig) -> StatusView:
    """The view the supervisor's listener serves for this config, before it ever ran."""
    state_file = loaded.folder(loaded.config.supervisor.state_file)
    reader = StatusReader(
        loaded.config.name,
        status_paths(loaded, state_file),
        loaded.config.supervisor,
        FakeClock(),
        lambda path: FileRollbacks(path).rolled_back(),
    )
    return reader()


def mappings(labels: dict[str, str]) -> list[dict[str, str]]:
    """Rebuild the widget's mappings list from its array-style labels, as Homepage does."""
    rebuilt: list[dict[str, str]] = []
    index = 0
    while f"homepage.widget.mappings[{index}].field" in labels:
        prefix = f"homepage.widget.mappings[{index}]."
        rebuilt.append(
            {key.removeprefix(prefix): value for key, value in labels.items()
             if key.startswith(prefix)}
        )
        index += 1
    return rebuilt


def test_the_supervisors_widget_reads_the_fields_its_summary_serves(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    supervisor = all_labels(loaded)["supervisor"]

    served = summary_of(fresh_view(loaded))
    widget = mappings(supervisor)

    assert supervisor["homepage.widget.type"] == "customapi"
    assert supervisor["homepage.widget.url"] == "http://supervisor:8099/api/v1/summary"
    assert [mapping["field"] for mapping in widget] == list(served)
    assert len(widget) <= 4
    assert all(mapping["format"] in HOMEPAGE_FORMATS for mapping in widget)
    assert all(mapping["label"] for mapping in widget)
    assert supervisor["homepage.group"] == "mediastack"
    assert supervisor["homepage.name"] == "supervisor"
    assert supervisor["homepage.description"]


def test_the_token_reaches_homepage_by_its_variable_never_in_a_label(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path, EXTRAS + "network: {bind_address: 192.168.1.10}\n"
        "updates: {webhook: {enabled: true}}\n"
    )
    labels = all_labels(loaded)
    secret_values = [
        line.split("=", 1)[1]
        for line in SECRETS.splitlines()
        if "_KEY=" in line or "TOKEN=" in line
    ]

    assert labels["supervisor"]["homepage.widget.headers.Authorization"] == (
        "Bearer {{HOMEPAGE_VAR_MEDIASTACK_STATUS_TOKEN}}"
    )
    for service, service_labels in labels.items():
        for key, value in service_labels.items():
            assert isinstance(value, str), (service, key)
            assert not any(secret in value for secret in secret_values), (service, key)


def test_a_renamed_token_variable_is_the_one_homepage_is_told(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "status: {token_variable: HOMELAB_READ_TOKEN}\n")
    supervisor = all_labels(loaded)["supervisor"]
    assert supervisor["homepage.widget.headers.Authorization"] == (
        "Bearer {{HOMEPAGE_VAR_HOMELAB_READ_TOKEN}}"
    )


def test_gluetun_is_the_glance_parent_of_its_namespace_and_of_nothing_else(
    tmp_path: Path,
) -> None:
    services = all_services(make_config(tmp_path, EXTRAS))
    parent_id = services["gluetun"]["labels"]["glance.id"]

    dependents = [name for name, service in services.items()
                  if service.get("network_mode") == "service:gluetun"]
    assert {"qbittorrent", "sonarr", "radarr", "prowlarr"} <= set(dependents)
    for name, service in services.items():
        labels = service["labels"]
        assert labels["glance.name"] == name
        assert labels["glance.description"]
        if name in dependents:
            assert labels["glance.parent"] == parent_id, name
        else:
            assert "glance.parent" not in labels, name
    assert services["plex"]["network_mode"] == "host"  # a host service is among the others
    assert "glance.id" not in services["sonarr"]["labels"]


def test_two_instances_on_one_engine_keep_their_own_gluetun_parent(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = all_labels(make_config(tmp_path / "one", "name: home\n"))
    two = all_labels(make_config(tmp_path / "two", "name: lab\n"))
    assert one["gluetun"]["glance.id"] != two["gluetun"]["glance.id"]
    assert one["sonarr"]["glance.parent"] == one["gluetun"]["glance.id"]


def test_dashboard_labels_off_renders_none_and_the_rest_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    with_labels = all_labels(make_config(tmp_path / "on", EXTRAS))
    switched_off = EXTRAS + "status: {dashboard_labels: false}\n"
    without = all_labels(make_config(tmp_path / "off", switched_off))

    for name, labels in without.items():
        assert set(labels) == EXISTING_LABELS, name
        assert {key: with_labels[name][key] for key in EXISTING_LABELS} == labels, name
        assert set(with_labels[name]) - EXISTING_LABELS, name  # on: every service has some
        assert all(key.startswith(("homepage.", "glance."))
                   for key in set(with_labels[name]) - EXISTING_LABELS), name


def test_dashboard_url_is_the_base_of_the_widget_and_the_page_link(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path, "status: {dashboard_url: 'https://status.example.org/mediastack/'}\n"
    )
    supervisor = all_labels(loaded)["supervisor"]
    assert supervisor["homepage.widget.url"] == (
        "https://status.example.org/mediastack/api/v1/summary"
    )
    assert supervisor["homepage.href"] == "https://status.example.org/mediastack/"
    assert supervisor["glance.url"] == "https://status.example.org/mediastack/"


def test_links_open_the_published_address_and_host_ports(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path, "network: {bind_address: 192.168.1.10}\n"
        "services: {sonarr: {ports: {webui: 18989}}, seerr: {ports: {webui: 15055}}}\n"
        "updates: {webhook: {port: 9100}}\n"
    )
    labels = all_labels(loaded)
    assert labels["sonarr"]["homepage.href"] == "http://192.168.1.10:18989"
    assert labels["sonarr"]["glance.url"] == "http://192.168.1.10:18989"
    assert labels["seerr"]["homepage.href"] == "http://192.168.1.10:15055"
    assert labels["plex"]["homepage.href"] == "http://192.168.1.10:32400/web"
    # The browser link goes to the host; the widget (fetched by Homepage's server) to the
    # service name on the shared network.
    assert labels["supervisor"]["homepage.href"] == "http://192.168.1.10:9100/"
    assert labels["supervisor"]["homepage.widget.url"] == "http://supervisor:9100/api/v1/summary"
    for without_web_ui in ("gluetun", "unpackerr", "flaresolverr", "socket-proxy"):
        assert not any(key.startswith("homepage.") for key in labels[without_web_ui])


def test_no_link_to_an_address_no_other_machine_reaches(tmp_path: Path) -> None:
    for address in ("0.0.0.0", "127.0.0.1", "::"):
        folder = tmp_path / address.replace(":", "_").replace(".", "_")
        folder.mkdir()
        labels = all_labels(make_config(folder, f"network: {{bind_address: '{address}'}}\n"))
        assert labels["sonarr"]["homepage.name"] == "sonarr"  # listed, with its status
        for service in ("sonarr", "plex", "supervisor"):
            assert "homepage.href" not in labels[service], (address, service)
            assert "glance.url" not in labels[service], (address, service)


def test_with_the_status_surface_off_the_supervisor_has_no_widget_or_page_link(
    tmp_path: Path,
) -> None:
    loaded = make_config(
        tmp_path, "network: {bind_address: 192.168.1.10}\nstatus: {enabled: false}\n"
    )
    supervisor = all_labels(loaded)["supervisor"]
    assert supervisor["homepage.name"] == "supervisor"
    assert not any(key.startswith("homepage.widget") for key in supervisor)
    assert "homepage.href" not in supervisor
    assert "glance.url" not in supervisor


def test_the_written_compose_file_keeps_the_labels_as_rendered(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    rendered = {stack.stack: stack.document for stack in render_stacks(loaded)}
    render_to_disk(loaded)
    written = yaml.safe_load(loaded.compose_file(Stack.OPS).read_text())
    supervisor = rendered[Stack.OPS]["services"]["supervisor"]["labels"]
    assert written["services"]["supervisor"]["labels"] == supervisor
