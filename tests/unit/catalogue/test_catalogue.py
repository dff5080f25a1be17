"""Invariants of the service catalogue that the renderer and compose rely on."""

from __future__ import annotations

from mediastack.catalogue import CATALOGUE, Zone


def test_dependencies_stay_inside_one_compose_project() -> None:
    for definition in CATALOGUE.values():
        for needed in definition.depends_on:
            assert CATALOGUE[needed].stack == definition.stack, definition.name


def test_download_capable_services_live_in_gluetuns_namespace() -> None:
    for definition in CATALOGUE.values():
        if definition.download_capable:
            assert definition.zone == Zone.VPN, definition.name


def test_container_ports_do_not_clash_inside_gluetuns_namespace() -> None:
    ports = [
        port.container
        for definition in CATALOGUE.values()
        if definition.zone in (Zone.VPN, Zone.GLUETUN)
        for port in definition.ports
    ]
    assert len(ports) == len(set(ports))


def test_secrets_are_named_by_reference_only() -> None:
    for definition in CATALOGUE.values():
        for variable in (*definition.secrets.values(), *definition.optional_secrets.values()):
            assert variable.isupper(), definition.name
        assert not set(definition.secrets) & set(definition.environment), definition.name


def test_every_engine_client_names_a_socket_proxy_with_its_own_network() -> None:
    from mediastack.catalogue import CATALOGUE

    clients = [d for d in CATALOGUE.values() if d.engine_proxy is not None]
    assert {d.name: d.engine_proxy for d in clients} == {
        "supervisor": "socket-proxy",
        "whatsupdocker": "socket-proxy-read-only",
    }
    networks = [CATALOGUE[d.engine_proxy].engine_network for d in clients if d.engine_proxy]
    assert None not in networks and len(set(networks)) == len(networks)
