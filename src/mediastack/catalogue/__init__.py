"""The service catalogue: one small frozen definition per service."""

from mediastack.catalogue.model import (
    DataMount,
    Healthcheck,
    Port,
    ServiceDefinition,
    Stack,
    Zone,
)
from mediastack.catalogue.services import CATALOGUE, MEDIA_SERVERS

__all__ = [
    "CATALOGUE",
    "MEDIA_SERVERS",
    "DataMount",
    "Healthcheck",
    "Port",
    "ServiceDefinition",
    "Stack",
    "Zone",
]
