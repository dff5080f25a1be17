"""The loader: compose short and long syntax normalise to the same typed model; files are
found the way compose finds them; unreadable files fail with their path."""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_support import FIXTURES

from mediastack.lint import ComposeFileError, find_compose_files, load_project, parse_project
from mediastack.lint.model import MountKind, Service

COMPOSE = Path("/srv/stacks/extra/compose.yaml")


def service_from(body: str, name: str = "app") -> Service:
    """Parse a one-service compose document whose service settings are ``body``."""
    indented = "\n".join(f"    {line}" for line in body.strip().splitlines())
    project = parse_project(f"services:\n  {name}:\n{indented}\n", COMPOSE)
    service = project.service(name)
    assert service is not None
    return service


@pytest.mark.parametrize(
    ("entry", "host_ip", "host_port", "container_port", "protocol"),
    [
        ('"8080"', "", None, "8080", "tcp"),
        ("8080", "", None, "8080", "tcp"),
        ('"8081:8080"', "", "8081", "8080", "tcp"),
        ("22:22", "", "22", "22", "tcp"),  # YAML 1.1 would read 1342 (base 60); compose: 22:22
        ('"127.0.0.1:8080:80"', "127.0.0.1", "8080", "80", "tcp"),
        ('"127.0.0.1::80"', "127.0.0.1", None, "80", "tcp"),
        ('"[::1]:8080:80"', "::1", "8080", "80", "tcp"),
        ('"::1:8080:80"', "::1", "8080", "80", "tcp"),
        ('"51413:51413/udp"', "", "51413", "51413", "udp"),
        ('"6881-6889:6881-6889"', "", "6881-6889", "6881-6889", "tcp"),
        ("{target: 80, published: '8080', host_ip: 0.0.0.0}", "0.0.0.0", "8080", "80", "tcp"),
        ("{target: 53, published: 53, protocol: udp}", "", "53", "53", "udp"),
        ("{target: 80}", "", None, "80", "tcp"),
    ],
)
def test_ports_short_and_long_syntax(
    entry: str, host_ip: str, host_port: str | None, container_port: str, protocol: str
) -> None:
    [binding] = service_from(f"ports:\n  - {entry}").ports
    assert (binding.host_ip, binding.host_port, binding.container_port, binding.protocol) == (
        host_ip,
        host_port,
        container_port,
        protocol,
    )


@pytest.mark.parametrize(
    ("entry", "host_ip", "host_port", "container_port"),
    [
        ('"${WEBUI_PORT:-8080}:8080"', "", "${WEBUI_PORT:-8080}", "8080"),
        ('"${BIND:-127.0.0.1}:8080:8080/tcp"', "${BIND:-127.0.0.1}", "8080", "8080"),
    ],
)
def test_ports_with_variables_holding_colons(
    entry: str, host_ip: str, host_port: str, container_port: str
) -> None:
    [binding] = service_from(f"ports:\n  - {entry}").ports
    assert (binding.host_ip, binding.host_port, binding.container_port) == (
        host_ip,
        host_port,
        container_port,
    )


def test_volume_source_with_a_default_holding_colons_and_slashes() -> None:
    [mount] = service_from("volumes: ['${DATA:-/srv/data}/:/data:ro']").volumes
    assert (mount.kind, mount.source, mount.target, mount.read_only) == (
        MountKind.BIND,
        "${DATA:-/srv/data}",
        "/data",
        True,
    )


def test_port_on_all_interfaces() -> None:
    bindings = service_from(
        "ports: ['8080:80', '0.0.0.0:81:81', '[::]:82:82', '10.0.0.2:83:83']"
    ).ports
    assert [binding.on_all_interfaces for binding in bindings] == [True, True, True, False]


def test_long_port_is_written_back_in_short_form_for_messages() -> None:
    [binding] = service_from("ports:\n  - {target: 80, published: 8080, host_ip: '::1'}").ports
    assert binding.written == "[::1]:8080:80"


def test_volumes_short_syntax() -> None:
    config, data, named, anonymous, relative = service_from(
        "volumes:\n"
        "  - /srv/config/app/:/config\n"
        "  - /srv/data:/data:ro,z\n"
        "  - app-cache:/cache\n"
        "  - /scratch\n"
        "  - ./media/../media:/media"
    ).volumes
    assert (config.kind, config.source, config.target) == (
        MountKind.BIND,
        "/srv/config/app",
        "/config",
    )
    assert data.read_only and data.source == "/srv/data"
    assert (named.kind, named.source) == (MountKind.VOLUME, "app-cache")
    assert (anonymous.kind, anonymous.source, anonymous.target) == (
        MountKind.VOLUME,
        None,
        "/scratch",
    )
    assert relative.source == "/srv/stacks/extra/media"


def test_volumes_long_syntax() -> None:
    bind, volume, tmpfs = service_from(
        "volumes:\n"
        "  - {type: bind, source: ./data/, target: /data/, read_only: true}\n"
        "  - {type: volume, source: cache, target: /cache}\n"
        "  - {type: tmpfs, target: /tmp}"
    ).volumes
    assert (bind.kind, bind.source, bind.target, bind.read_only) == (
        MountKind.BIND,
        "/srv/stacks/extra/data",
        "/data",
        True,
    )
    assert (volume.kind, volume.source) == (MountKind.VOLUME, "cache")
    assert (tmpfs.kind, tmpfs.source) == (MountKind.TMPFS, None)


def test_short_and_long_volume_of_one_folder_compare_equal() -> None:
    short = service_from("volumes: ['/srv/data/:/data']").mount_at("/data")
    long = service_from("volumes: [{type: bind, source: /srv/data, target: /data}]").mount_at(
        "/data"
    )
    assert short == long


def test_home_folder_is_expanded_like_compose_does() -> None:
    [mount] = service_from("volumes: ['~/data:/data']").volumes
    assert mount.source == str(Path("~/data").expanduser())


def test_environment_list_and_mapping_normalise_alike() -> None:
    listed = service_from("environment:\n  - A=1\n  - B=x=y\n  - C\n  - D=").environment
    mapped = service_from("environment:\n  A: 1\n  B: x=y\n  C:\n  D: ''").environment
    assert listed == mapped
    assert [(variable.name, variable.value) for variable in listed] == [
        ("A", "1"),
        ("B", "x=y"),
        ("C", None),
        ("D", ""),
    ]


def test_environment_keeps_yaml_1_1_words_as_written() -> None:
    [variable] = service_from("environment:\n  VPN_PORT_FORWARDING: on").environment
    assert variable.value == "on"


def test_depends_on_list_and_mapping() -> None:
    listed = service_from("depends_on: [db]").depends_on
    mapped = service_from(
        "depends_on:\n  db: {condition: service_healthy}\n  cache: {required: false}"
    ).depends_on
    assert [(d.service, d.condition, d.required) for d in listed] == [
        ("db", "service_started", True)
    ]
    assert [(d.service, d.condition, d.required) for d in mapped] == [
        ("db", "service_healthy", True),
        ("cache", "service_started", False),
    ]


@pytest.mark.parametrize(
    ("body", "probes", "command"),
    [
        ("healthcheck: {test: 'curl -f http://localhost'}", True, "curl -f http://localhost"),
        ("healthcheck: {test: [CMD, curl, -f, 'http://x']}", True, "curl -f http://x"),
        ("healthcheck: {test: [CMD-SHELL, 'exit 0']}", True, "exit 0"),
        ("healthcheck: {test: [NONE]}", False, "NONE"),
        ("healthcheck: {disable: true}", False, ""),
        ("healthcheck: {interval: 10s}", False, ""),
    ],
)
def test_healthcheck_forms(body: str, probes: bool, command: str) -> None:
    check = service_from(body).healthcheck
    assert check is not None
    assert (check.probes, check.command_text) == (probes, command)


def test_no_healthcheck_is_none() -> None:
    assert service_from("image: busybox").healthcheck is None


@pytest.mark.parametrize(
    ("mode", "kind", "name"),
    [("service:gluetun", "service", "gluetun"), ("container:vpn-1", "container", "vpn-1")],
)
def test_namespace_from_network_mode(mode: str, kind: str, name: str) -> None:
    namespace = service_from(f"network_mode: '{mode}'").namespace
    assert namespace is not None
    assert (namespace.kind, namespace.name) == (kind, name)


@pytest.mark.parametrize("mode", ["host", "bridge", "none"])
def test_other_network_modes_have_no_namespace_owner(mode: str) -> None:
    assert service_from(f"network_mode: {mode}").namespace is None


def test_capabilities_devices_privileged_and_image_name() -> None:
    service = service_from(
        "image: lscr.io/linuxserver/qbittorrent:5.0@sha256:abc\n"
        "cap_add: [cap_net_admin, SYS_TIME]\n"
        "devices: ['/dev/net/tun:/dev/net/tun:rwm']\n"
        "privileged: yes"
    )
    assert service.image_name == "qbittorrent"
    assert service.cap_add == {"NET_ADMIN", "SYS_TIME"}
    assert service.devices == ("/dev/net/tun",)
    assert service.privileged


def test_project_name_from_file_or_folder() -> None:
    assert parse_project("name: home\nservices: {}\n", COMPOSE).name == "home"
    assert parse_project("services: {}\n", Path("/x/My.Stack/compose.yaml")).name == "mystack"
    assert parse_project("services: {}\n", COMPOSE).stack == "extra"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  app: [\n", "not valid YAML: line"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("services: [a, b]\n", "`services` must be a mapping"),
        ("services:\n  app: just-a-string\n", "services.app: a service must be a mapping"),
        ("services:\n  app:\n    ports: ['80:http']\n", "services.app.ports[0]"),
        ("services:\n  app:\n    volumes: 7\n", "services.app.volumes: expected a list"),
    ],
)
def test_unusable_file_names_its_path_and_spot(text: str, expected: str) -> None:
    with pytest.raises(ComposeFileError) as raised:
        parse_project(text, COMPOSE)
    assert raised.value.path == COMPOSE
    assert expected in str(raised.value)
    assert str(COMPOSE) in str(raised.value)


def test_unreadable_file_names_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "vpn" / "compose.yaml"
    with pytest.raises(ComposeFileError, match="cannot read") as raised:
        load_project(missing)
    assert raised.value.path == missing


def test_find_compose_files_in_compose_lookup_order(tmp_path: Path) -> None:
    for relative in [
        "vpn/compose.yaml",
        "vpn/docker-compose.yml",
        "media/compose.yml",
        "ops/docker-compose.yaml",
        "zz-extra/docker-compose.yml",
        "a-extra/compose.yaml",
        ".hidden/compose.yaml",
        "empty/readme.txt",
    ]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("services: {}\n")
    found = [path.relative_to(tmp_path).as_posix() for path in find_compose_files(tmp_path)]
    assert found == [
        "vpn/compose.yaml",
        "media/compose.yml",
        "ops/docker-compose.yaml",
        "a-extra/compose.yaml",
        "zz-extra/docker-compose.yml",
    ]


def test_a_stack_folder_itself_can_be_linted() -> None:
    found = find_compose_files(FIXTURES / "handwritten")
    assert found == [FIXTURES / "handwritten" / "compose.yaml"]


def test_override_files_are_recorded(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "compose.override.yaml").write_text("services: {}\n")
    project = load_project(tmp_path / "compose.yaml")
    assert project.override_paths == (tmp_path / "compose.override.yaml",)


def test_short_and_long_fixtures_normalise_to_the_same_data_mounts() -> None:
    short = load_project(FIXTURES / "handwritten" / "compose.yaml")
    long = load_project(FIXTURES / "long-syntax" / "compose.yaml")
    short_sonarr, long_sonarr = short.service("sonarr"), long.service("sonarr")
    assert short_sonarr is not None and long_sonarr is not None
    assert short_sonarr.mount_at("/data") == long_sonarr.mount_at("/data")
