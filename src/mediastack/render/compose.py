"""Config + catalogue -> three compose projects, as plain dicts. Pure and deterministic.

Control flow: for each stack, the enabled services in catalogue order -> one service mapping
each (image, network placement, identity, volumes, environment, healthcheck, labels) -> gluetun
also publishes the web UIs of the services in its namespace.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mediastack.catalogue import CATALOGUE, DataMount, ServiceDefinition, Stack, Zone
from mediastack.config import ConfigError, ConfigProblem, LoadedConfig
from mediastack.render.dashboard_labels import dashboard_labels
from mediastack.supervisor.runtime.heartbeat import heartbeat_path, shell_probe

# A namespace left behind by a restarted gluetun keeps only ``lo``; the app inside still answers
# on localhost, so its own probe passes. This guard makes the healthcheck see it (measured).
NAMESPACE_GUARD = "ls /sys/class/net | grep -qvx lo"
MANAGED_LABEL = "mediastack.managed"
STACK_LABEL = "mediastack.stack"
ZONE_LABEL = "mediastack.zone"
AUTOHEAL_LABEL = "autoheal"
# Each socket proxy answers on a project-internal network of its own (the catalogue's
# ``engine_network``), joined only by its clients: a container that reached the supervisor's
# could ask the engine for a privileged container (root on the host).
# The daemon serves its listener (the status pages, status.*, and the update webhook,
# updates.webhook; one address and port) from the supervisor service.
SUPERVISOR = "supervisor"
WEBHOOK_PORT_PATH = "updates.webhook.port"


@dataclass(frozen=True)
class RenderedStack:
    """One compose project: its document and the variables its env file must hold."""

    stack: Stack
    project_name: str
    document: dict[str, Any]
    variables: frozenset[str] = field(default_factory=frozenset)
    optional_variables: frozenset[str] = field(default_factory=frozenset)


def render_stacks(loaded: LoadedConfig) -> list[RenderedStack]:
    """Given a loaded config, return the stacks that have enabled services, in start order;
    raise ConfigError when an enabled service depends on a disabled one or two services would
    publish the same host port."""
    problems = [
        *_dependency_problems(loaded),
        *_port_clash_problems(loaded),
        *_webhook_address_problems(loaded),
    ]
    if problems:
        raise ConfigError(str(loaded.path), problems)
    stacks = []
    for stack in Stack:
        services = loaded.enabled_services(stack)
        if services:
            stacks.append(_render_stack(loaded, stack, services))
    return stacks


def _dependency_problems(loaded: LoadedConfig) -> Iterator[ConfigProblem]:
    for definition in loaded.enabled_services():
        for needed in definition.depends_on:
            if not loaded.is_enabled(CATALOGUE[needed]):
                yield ConfigProblem(
                    f"services.{needed}.enabled",
                    f"{definition.name} needs {needed}, which is switched off",
                    f"enable {needed}, or switch off {definition.name}",
                )


def _port_clash_problems(loaded: LoadedConfig) -> Iterator[ConfigProblem]:
    """Yield a problem for every host port two enabled services would publish (a clash makes
    the second stack fail to start, possibly in another compose project)."""
    owners: dict[int, str] = {}
    for definition in loaded.enabled_services():
        if definition.zone == Zone.VPN:
            continue  # published by gluetun, counted under their own names below
        for owner, key_path, host_port in _host_ports(loaded, definition):
            if host_port in owners:
                yield ConfigProblem(
                    key_path,
                    f"host port {host_port} is also used by {owners[host_port]}",
                    f"give {key_path} a free port",
                )
            else:
                owners[host_port] = owner


def _host_ports(
    loaded: LoadedConfig, definition: ServiceDefinition
) -> Iterator[tuple[str, str, int]]:
    """Yield (owner, config key that moves it, host port) for every port ``definition``
    publishes: gluetun's include its dependents', the supervisor's its listener."""
    owners = [definition]
    if definition.zone == Zone.GLUETUN:
        owners += [d for d in loaded.enabled_services(Stack.VPN) if d.zone == Zone.VPN]
    for owner in owners:
        for port in owner.ports:
            if port.publish or owner.zone == Zone.HOST:
                key_path = f"services.{owner.name}.ports.{port.name}"
                yield owner.name, key_path, host_port_of(loaded, owner, port.name)
    listener = webhook_port(loaded, definition)
    if listener is not None:
        yield f"{definition.name} (its listener)", WEBHOOK_PORT_PATH, listener


def listener_on(loaded: LoadedConfig) -> bool:
    """Return whether the supervisor serves its listener: the status pages or the webhook."""
    return loaded.config.status.enabled or loaded.config.updates.webhook.enabled


def webhook_port(loaded: LoadedConfig, definition: ServiceDefinition) -> int | None:
    """Return the port the supervisor service publishes for its listener (the status pages
    and the update webhook), or None (not the supervisor, or both are off). The daemon
    listens on it inside its container; the host side binds ``network.bind_address``, like
    every published port."""
    if definition.name != SUPERVISOR or not listener_on(loaded):
        return None
    return loaded.config.updates.webhook.port


def _webhook_address_problems(loaded: LoadedConfig) -> Iterator[ConfigProblem]:
    """Yield a problem when the listener would listen on a loopback address inside the
    supervisor's container: neither the published port nor WUD on the bridge reach that."""
    webhook = loaded.config.updates.webhook
    if not listener_on(loaded) or not loaded.is_enabled(CATALOGUE[SUPERVISOR]):
        return
    if webhook.bind_address is not None and ipaddress.ip_address(webhook.bind_address).is_loopback:
        yield ConfigProblem(
            "updates.webhook.bind_address",
            f"the listener would listen on {webhook.bind_address} inside the supervisor's "
            "container, where nothing outside it can reach it",
            "remove it (unset, the listener uses the container's own interfaces, "
            "0.0.0.0 there); network.bind_address is where the host publishes it",
        )


def _render_stack(
    loaded: LoadedConfig, stack: Stack, services: list[ServiceDefinition]
) -> RenderedStack:
    document: dict[str, Any] = {"name": loaded.project_name(stack), "services": {}}
    variables: set[str] = set()
    optional: set[str] = set()
    for definition in services:
        document["services"][definition.name] = render_service(loaded, definition)
        variables.update(definition.secrets.values())
        optional.update(definition.optional_secrets.values())
        if definition.zone == Zone.GLUETUN:
            vpn = loaded.config.vpn
            variables.update(
                {vpn.api_key_variable, vpn.private_key_variable, vpn.addresses_variable}
            )
    networks: dict[str, Any] = {}
    if any(definition.zone != Zone.HOST for definition in services):
        networks["default"] = {"name": loaded.config.network.name, "external": True}
    for definition in services:
        if definition.engine_network is not None:
            networks[definition.engine_network] = {"internal": True}
    if networks:
        document["networks"] = networks
    return RenderedStack(
        stack=stack,
        project_name=loaded.project_name(stack),
        document=document,
        variables=frozenset(variables),
        optional_variables=frozenset(optional),
    )


def render_service(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, Any]:
    """Return the compose mapping of one enabled service."""
    service: dict[str, Any] = {"image": image_reference(loaded, definition)}
    settings = loaded.config.services.get(definition.name)
    if settings is not None and settings.pull_policy is not None:
        service["pull_policy"] = settings.pull_policy
    elif definition.pull_policy is not None:
        service["pull_policy"] = definition.pull_policy
    if definition.command:
        service["command"] = list(definition.command)
    service.update(_placement(loaded, definition))
    if definition.run_as_identity:
        service["user"] = f"{loaded.config.identity.puid}:{loaded.config.identity.pgid}"
    service.update(_privileges(definition))
    service["environment"] = _environment(loaded, definition)
    volumes = _volumes(loaded, definition)
    if volumes:
        service["volumes"] = volumes
    service["healthcheck"] = _healthcheck(loaded, definition)
    service["labels"] = {
        AUTOHEAL_LABEL: "true",
        MANAGED_LABEL: "true",
        STACK_LABEL: definition.stack.value,
        ZONE_LABEL: definition.zone.value,
    } | dashboard_labels(loaded, definition)
    service["restart"] = "unless-stopped"
    return service


def image_reference(loaded: LoadedConfig, definition: ServiceDefinition) -> str:
    """Return the image a service runs: a whole-image override, a tag override, or the default."""
    settings = loaded.config.services.get(definition.name)
    if settings is not None and settings.image is not None:
        return settings.image
    if settings is not None and settings.tag is not None:
        return f"{definition.image}:{settings.tag}"
    return definition.image_reference


def _placement(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, Any]:
    placement: dict[str, Any] = {}
    depends_on: dict[str, Any] = {
        needed: {"condition": "service_healthy"} for needed in definition.depends_on
    }
    if definition.zone == Zone.VPN:
        placement["network_mode"] = "service:gluetun"
        # restart: compose restarts the dependents when it restarts gluetun itself.
        depends_on = {"gluetun": {"condition": "service_healthy", "restart": True}} | depends_on
    elif definition.zone == Zone.HOST:
        placement["network_mode"] = "host"
    else:
        ports = published_ports(loaded, definition)
        if ports:
            placement["ports"] = ports
        placement.update(_networks(definition))
    if depends_on:
        placement["depends_on"] = depends_on
    return placement


def _networks(definition: ServiceDefinition) -> dict[str, Any]:
    if definition.engine_network is not None:
        return {"networks": [definition.engine_network]}
    if definition.engine_proxy is not None:
        proxy_network = CATALOGUE[definition.engine_proxy].engine_network
        return {"networks": ["default", proxy_network]}
    return {}


def published_ports(loaded: LoadedConfig, definition: ServiceDefinition) -> list[str]:
    """Return the port bindings published for ``definition``: gluetun also carries those of
    every enabled service in its namespace (they have no network of their own), the
    supervisor its update webhook's when that is on."""
    owners = [definition]
    if definition.zone == Zone.GLUETUN:
        owners += [d for d in loaded.enabled_services(Stack.VPN) if d.zone == Zone.VPN]
    address = loaded.config.network.bind_address
    host = f"[{address}]" if ":" in address else address
    bindings = []
    for owner in owners:
        for port in owner.ports:
            if port.publish:
                host_port = host_port_of(loaded, owner, port.name)
                suffix = "" if port.protocol == "tcp" else f"/{port.protocol}"
                bindings.append(f"{host}:{host_port}:{port.container}{suffix}")
    webhook = webhook_port(loaded, definition)
    if webhook is not None:
        bindings.append(f"{host}:{webhook}:{webhook}")
    return bindings


def host_port_of(loaded: LoadedConfig, definition: ServiceDefinition, port_name: str) -> int:
    """Return the host port for a named port: the configured override or the container port."""
    settings = loaded.config.services.get(definition.name)
    if settings is not None and port_name in settings.ports:
        return settings.ports[port_name]
    return next(port.container for port in definition.ports if port.name == port_name)


def _privileges(definition: ServiceDefinition) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if definition.cap_add:
        extra["cap_add"] = list(definition.cap_add)
    if definition.devices:
        extra["devices"] = list(definition.devices)
    if definition.read_only:
        extra["read_only"] = True
    if definition.tmpfs:
        extra["tmpfs"] = list(definition.tmpfs)
    if definition.init:
        extra["init"] = True
    if definition.pid_host:
        extra["pid"] = "host"
    if definition.stop_grace_period is not None:
        extra["stop_grace_period"] = definition.stop_grace_period
    return extra


def _environment(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, str]:
    identity = loaded.config.identity
    environment: dict[str, str] = {"TZ": identity.timezone}
    if definition.linuxserver_identity:
        environment |= {
            "PUID": str(identity.puid),
            "PGID": str(identity.pgid),
            "UMASK": identity.umask,
        }
    if definition.zone == Zone.GLUETUN:
        environment |= _gluetun_environment(loaded)
    environment |= definition.environment
    if definition.mounts_homelab:
        environment["MEDIASTACK_CONFIG"] = str(loaded.path)
    for target, variable in definition.secrets.items():
        environment[target] = required_reference(variable)
    for target, variable in definition.optional_secrets.items():
        environment[target] = f"${{{variable}:-}}"
    return environment


def required_reference(variable: str) -> str:
    """Return a compose interpolation that fails with a fix when the variable is unset."""
    return f"${{{variable}:?{variable} is not set: add it to .env, then run mediastack render}}"


def _gluetun_environment(loaded: LoadedConfig) -> dict[str, str]:
    vpn = loaded.config.vpn
    # Newer gluetun answers 401 on every control-server route until a role is configured.
    role = json.dumps(
        {"auth": "apikey", "apikey": required_reference(vpn.api_key_variable)},
        separators=(",", ":"),
    )
    environment = {
        "VPN_SERVICE_PROVIDER": vpn.provider,
        "VPN_TYPE": vpn.type,
        "WIREGUARD_PRIVATE_KEY": required_reference(vpn.private_key_variable),
        "WIREGUARD_ADDRESSES": required_reference(vpn.addresses_variable),
        "VPN_PORT_FORWARDING": "on" if vpn.port_forwarding else "off",
        "HTTP_CONTROL_SERVER_ADDRESS": f":{vpn.control_server_port}",
        "HTTP_CONTROL_SERVER_AUTH_DEFAULT_ROLE": role,
    }
    if vpn.server_countries:
        environment["SERVER_COUNTRIES"] = ",".join(vpn.server_countries)
    if vpn.outbound_subnets:
        environment["FIREWALL_OUTBOUND_SUBNETS"] = ",".join(vpn.outbound_subnets)
    return environment


def _volumes(loaded: LoadedConfig, definition: ServiceDefinition) -> list[str]:
    volumes = []
    if definition.config_target is not None:
        volumes.append(f"{loaded.config_folder / definition.name}:{definition.config_target}")
    if definition.data_mount == DataMount.ALL:
        volumes.append(f"{loaded.data_folder}:/data")
    elif definition.data_mount == DataMount.MEDIA:
        volumes.append(f"{loaded.data_folder / 'media'}:/data/media")
    if definition.mounts_homelab:
        volumes.append(f"{loaded.root}:{loaded.root}")
    volumes.extend(definition.extra_volumes)
    return volumes


def _healthcheck(loaded: LoadedConfig, definition: ServiceDefinition) -> dict[str, Any]:
    check = definition.healthcheck
    probe = check.probe
    if definition.name == SUPERVISOR:
        probe = _supervisor_probe(loaded)
    if definition.zone == Zone.VPN:
        probe = f"{NAMESPACE_GUARD} && {probe}"
    settings = loaded.config.services.get(definition.name)
    timing = settings.healthcheck if settings is not None else None
    return {
        "test": ["CMD-SHELL", probe],
        "interval": (timing and timing.interval) or check.interval,
        "timeout": (timing and timing.timeout) or check.timeout,
        "retries": (timing and timing.retries) or check.retries,
        "start_period": (timing and timing.start_period) or check.start_period,
    }


def _supervisor_probe(loaded: LoadedConfig) -> str:
    """Return the supervisor's healthcheck: the heartbeat next to its state file (the homelab
    is mounted at its own path, so the host's path is the container's), ``$`` escaped from
    compose's interpolation. The state file as ``report.state_file_path`` resolves it."""
    state_file = loaded.folder(loaded.config.supervisor.state_file)
    return shell_probe(heartbeat_path(state_file)).replace("$", "$$")
