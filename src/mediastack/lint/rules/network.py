"""Rules about published ports: who may publish, on which address, and without clashes."""

from __future__ import annotations

from collections.abc import Iterator

from mediastack.lint.findings import Violation
from mediastack.lint.model import ComposeProject, PortBinding, Service
from mediastack.lint.roles import is_download_capable

BIND_ADDRESS_FIX = "set network.bind_address in mediastack.yaml to your LAN address"


def ports_on_all_interfaces(project: ComposeProject) -> Iterator[Violation]:
    """NET001: a web UI published with no host address (or 0.0.0.0, ::) is reachable from
    every network the host is on. Download services are VPN002's."""
    for service in project.services:
        if is_download_capable(service):
            continue
        exposed = [binding.written for binding in service.ports if binding.on_all_interfaces]
        if exposed:
            yield Violation(
                service.name,
                f"{service.name} publishes {', '.join(exposed)} on every host interface",
                f"{BIND_ADDRESS_FIX} (in a hand-written file: prefix each port with that "
                "address, e.g. 192.168.1.10:8080:8080)",
            )


def namespace_service_publishes_ports(project: ComposeProject) -> Iterator[Violation]:
    """NET002: a service in another's namespace cannot publish ports; Docker refuses to start
    it ("conflicting options: port publishing and the container type network mode")."""
    for service in project.services:
        if service.namespace is not None and service.ports and not is_download_capable(service):
            owner = service.namespace.name
            yield Violation(
                service.name,
                f"{service.name} shares {owner}'s network namespace and publishes ports "
                f"({', '.join(binding.written for binding in service.ports)}): Docker refuses "
                "to start it",
                f"move the ports to {owner}'s `ports` and remove them from {service.name}",
            )


def _collide(first: PortBinding, second: PortBinding) -> bool:
    if first.host_port != second.host_port or first.protocol != second.protocol:
        return False
    return first.on_all_interfaces or second.on_all_interfaces or first.host_ip == second.host_ip


def duplicate_host_ports(project: ComposeProject) -> Iterator[Violation]:
    """NET003: two bindings of one host port: the second container fails to start with
    "port is already allocated"."""
    seen: list[tuple[Service, PortBinding]] = []
    for service in project.services:
        for binding in service.ports:
            if binding.host_port is None or "$" in binding.host_port:
                continue
            clash = next(
                ((owner, earlier) for owner, earlier in seen if _collide(earlier, binding)), None
            )
            if clash is not None:
                yield _duplicate_violation(clash, service, binding)
            seen.append((service, binding))


def _duplicate_violation(
    clash: tuple[Service, PortBinding], service: Service, binding: PortBinding
) -> Violation:
    owner, earlier = clash
    return Violation(
        service.name,
        f"host port {binding.host_port}/{binding.protocol} is published twice: "
        f"{owner.name} ({earlier.written}) and {service.name} ({binding.written}); the second "
        'container fails with "port is already allocated"',
        "give one of them another host port (services.<name>.ports in mediastack.yaml, or "
        "the number left of the colon)",
    )
