"""The one table of lint rules: id, severity, title, description and the check itself.

To add a rule: write a pure ``(ComposeProject) -> Iterator[Violation]`` function in a module of
``mediastack.lint.rules`` and add one ``Rule`` row here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mediastack.lint.findings import Finding, Severity, Violation
from mediastack.lint.model import ComposeProject
from mediastack.lint.rules import dependencies, files, hardlinks, health, network, security, vpn

Check = Callable[[ComposeProject], Iterator[Violation]]


@dataclass(frozen=True)
class Rule:
    """One lint rule. ``check`` finds the problems; the rule gives them its id and severity."""

    rule_id: str
    severity: Severity
    title: str
    description: str
    check: Check

    def findings(self, project: ComposeProject) -> Iterator[Finding]:
        """Given a project, yield this rule's findings in it."""
        for violation in self.check(project):
            yield Finding(
                rule_id=self.rule_id,
                severity=self.severity,
                stack=project.stack,
                service=violation.service,
                message=violation.message,
                fix=violation.fix,
            )

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "description": self.description,
        }


ERROR = Severity.ERROR
WARNING = Severity.WARNING

RULES: tuple[Rule, ...] = (
    Rule(
        "VPN001",
        ERROR,
        "Download service outside the VPN",
        "A service that talks to trackers or indexers (catalogue download_capable, or a "
        "known client/indexer image) is not in gluetun's namespace (network_mode "
        "service:gluetun or container:<gluetun>): its traffic leaks past the VPN.",
        vpn.download_service_outside_namespace,
    ),
    Rule(
        "VPN002",
        ERROR,
        "Download service publishes its own ports",
        "A download service publishes ports itself; in gluetun's namespace gluetun publishes them.",
        vpn.download_service_publishes_ports,
    ),
    Rule(
        "VPN003",
        ERROR,
        "Gluetun without /dev/net/tun",
        "Gluetun needs the /dev/net/tun device to create the tunnel.",
        vpn.gluetun_without_tun_device,
    ),
    Rule(
        "VPN004",
        ERROR,
        "Gluetun without NET_ADMIN",
        "Gluetun needs the NET_ADMIN capability for its routes and kill switch.",
        vpn.gluetun_without_net_admin,
    ),
    Rule(
        "HLK001",
        ERROR,
        "Hardlink service without /data",
        "The download client or an *arr app has no /data mount; imports become copies.",
        hardlinks.missing_data_mount,
    ),
    Rule(
        "HLK002",
        ERROR,
        "Different /data sources",
        "The download client and the *arr apps do not all mount one identical host source "
        "at /data; two mounts refuse hardlinks between them (EXDEV).",
        hardlinks.divergent_data_sources,
    ),
    Rule(
        "HLK003",
        ERROR,
        "Extra data mount beside /data",
        "The download client or an *arr app has a directory mount besides /config and /data "
        "(e.g. /downloads, or a mount nested in /data); files crossing it are copied.",
        hardlinks.extra_data_mounts,
    ),
    Rule(
        "HLT001",
        ERROR,
        "VPN-namespace service without healthcheck",
        "A service in gluetun's namespace has no healthcheck (or disables it); its "
        "healthcheck carries the guard that detects a dead namespace.",
        health.namespace_service_without_healthcheck,
    ),
    Rule(
        "HLT002",
        WARNING,
        "Service without healthcheck",
        "A service has no healthcheck in the compose file (its image's own HEALTHCHECK is "
        "invisible to lint); autoheal cannot see it fail.",
        health.service_without_healthcheck,
    ),
    Rule(
        "HLT003",
        WARNING,
        "Healthcheck without namespace guard",
        "A service in gluetun's namespace has a healthcheck without the namespace guard, so "
        "it reports healthy while stranded in a dead namespace.",
        health.healthcheck_without_namespace_guard,
    ),
    Rule(
        "SEC001",
        ERROR,
        "Privileged container",
        "privileged: true gives the container every host device and capability.",
        security.privileged_service,
    ),
    Rule(
        "SEC002",
        ERROR,
        "Docker socket outside the socket proxy",
        "The Docker socket (/var/run/docker.sock, /run/docker.sock, or their folder) is "
        "mounted in a service other than the socket proxy.",
        security.docker_socket_mounted,
    ),
    Rule(
        "SEC003",
        ERROR,
        "NET_ADMIN outside gluetun",
        "NET_ADMIN (or ALL) in cap_add of a service other than gluetun.",
        security.net_admin_outside_gluetun,
    ),
    Rule(
        "SEC004",
        ERROR,
        "Literal secret in environment",
        "An environment variable that looks secret (…KEY, …TOKEN, …SECRET, …PASSWORD, …PASS, "
        "…CLAIM, APIKEY) holds a literal value instead of a ${...} reference.",
        security.literal_secret,
    ),
    Rule(
        "NET001",
        WARNING,
        "Port published on every interface",
        "A port is published with no host address, 0.0.0.0 or ::, so it is reachable from "
        "every network the host is on.",
        network.ports_on_all_interfaces,
    ),
    Rule(
        "NET002",
        ERROR,
        "Namespace service publishes ports",
        "A service sharing another's network namespace publishes ports; Docker refuses it.",
        network.namespace_service_publishes_ports,
    ),
    Rule(
        "NET003",
        ERROR,
        "Host port published twice",
        "Two bindings of one host port and protocol in a project; the second container "
        'fails with "port is already allocated".',
        network.duplicate_host_ports,
    ),
    Rule(
        "DEP001",
        ERROR,
        "Dependency on an absent service",
        "depends_on names a service that is not defined or not enabled in the project.",
        dependencies.missing_dependency,
    ),
    Rule(
        "DEP002",
        ERROR,
        "Namespace of an absent service",
        "network_mode service:X names a service X that is not in the project.",
        dependencies.missing_namespace_owner,
    ),
    Rule(
        "FIL001",
        WARNING,
        "Override file not linted",
        "A compose override file next to the project file is merged by compose but not read "
        "by lint.",
        files.unlinted_override_file,
    ),
)


def rule_by_id(rule_id: str) -> Rule:
    """Return the rule with ``rule_id``; raise KeyError when there is none."""
    for rule in RULES:
        if rule.rule_id == rule_id:
            return rule
    raise KeyError(rule_id)
