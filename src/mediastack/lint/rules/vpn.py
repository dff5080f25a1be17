"""Rules that keep download traffic inside gluetun's tunnel, and gluetun able to build it."""

from __future__ import annotations

from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject, Service
from mediastack.lint.roles import in_gluetun_namespace, is_download_capable, is_gluetun

TUN_DEVICE = "/dev/net/tun"


def _gluetun_name(project: ComposeProject) -> str | None:
    return next((service.name for service in project.services if is_gluetun(service)), None)


def _namespace_fix(project: ComposeProject) -> str:
    gluetun = _gluetun_name(project)
    if gluetun is None:
        return (
            "move the service into the stack that runs gluetun, or set `network_mode: "
            "container:<gluetun's container name>`; remove its `ports`"
        )
    return (
        f"set `network_mode: service:{gluetun}` (with `depends_on: {{{gluetun}: {{condition: "
        f"service_healthy, restart: true}}}}`), remove its `ports` and publish them on "
        f"{gluetun} instead"
    )


def _placement(service: Service) -> str:
    if service.network_mode is None:
        return "it has no network_mode, so it sits on the project network"
    return f"its network_mode is `{service.network_mode}`"


def download_service_outside_namespace(project: ComposeProject) -> Iterator[Violation]:
    """VPN001: a download-capable service not in gluetun's namespace talks to trackers and
    indexers from the host's own address."""
    for service in project.services:
        if is_download_capable(service) and not in_gluetun_namespace(project, service):
            yield Violation(
                service.name,
                f"{service.name} talks to trackers or indexers outside gluetun's namespace "
                f"({_placement(service)}): its traffic bypasses the VPN and leaks your address",
                _namespace_fix(project),
            )


def download_service_publishes_ports(project: ComposeProject) -> Iterator[Violation]:
    """VPN002: a download-capable service publishing its own ports has a network of its own."""
    for service in project.services:
        if is_download_capable(service) and service.ports:
            written = ", ".join(binding.written for binding in service.ports)
            yield Violation(
                service.name,
                f"{service.name} publishes its own ports ({written}); inside gluetun's "
                "namespace it has no network of its own, so gluetun publishes them",
                f"move these ports to {_gluetun_name(project) or 'gluetun'}'s `ports` and "
                f"remove them from {service.name}",
            )


def gluetun_without_tun_device(project: ComposeProject) -> Iterator[Violation]:
    """VPN003: gluetun cannot create the WireGuard interface without /dev/net/tun."""
    for service in project.services:
        if is_gluetun(service) and not service.privileged and TUN_DEVICE not in service.devices:
            yield Violation(
                service.name,
                f"{service.name} has no {TUN_DEVICE} device: it cannot create the tunnel, so "
                "it never turns healthy and nothing in its namespace starts",
                f"add `devices: [{TUN_DEVICE}:{TUN_DEVICE}]` to {service.name}",
            )


def gluetun_without_net_admin(project: ComposeProject) -> Iterator[Violation]:
    """VPN004: gluetun needs NET_ADMIN for its routes and its kill-switch firewall."""
    for service in project.services:
        capable = service.cap_add & {"NET_ADMIN", "ALL"}
        if is_gluetun(service) and not service.privileged and not capable:
            yield Violation(
                service.name,
                f"{service.name} lacks the NET_ADMIN capability: it cannot set its routes and "
                "kill-switch firewall",
                f"add `cap_add: [NET_ADMIN]` to {service.name}",
            )
