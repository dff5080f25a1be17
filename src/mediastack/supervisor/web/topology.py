"""The three network zones as the config draws them: read once from the catalogue.

The view (``status_view``) holds what the daemon did; where each service lives comes from the
config and the catalogue alone, so the page can draw gluetun's namespace, the bridge and the
host without asking the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from mediastack.catalogue.model import ServiceDefinition, Zone
from mediastack.config import LoadedConfig


@dataclass(frozen=True)
class PlacedService:
    """One enabled service: its name, what it is, and its compose project (stack)."""

    name: str
    description: str
    stack: str


@dataclass(frozen=True)
class Topology:
    """The enabled services by zone. ``namespace_owner`` is gluetun (empty when off);
    ``in_namespace`` its dependents (``network_mode: service:gluetun``)."""

    namespace_owner: tuple[PlacedService, ...] = ()
    in_namespace: tuple[PlacedService, ...] = ()
    bridge: tuple[PlacedService, ...] = ()
    host: tuple[PlacedService, ...] = ()


def topology_of(definitions: list[ServiceDefinition]) -> Topology:
    """Given the enabled catalogue entries (in catalogue order), return them by zone."""

    def placed(zone: Zone) -> tuple[PlacedService, ...]:
        return tuple(
            PlacedService(item.name, item.description, item.stack.value)
            for item in definitions
            if item.zone == zone
        )

    return Topology(placed(Zone.GLUETUN), placed(Zone.VPN), placed(Zone.BRIDGE), placed(Zone.HOST))


def topology_of_config(loaded: LoadedConfig) -> Topology:
    """Return the zones of the services ``loaded`` enables."""
    return topology_of(loaded.enabled_services())
