"""In which order a cascade starts its prepared dependents (pure).

All at once is fastest, but a dependent that logs in to another at start fails when both
start together: cross-seed 6 logs in to qBittorrent at start and retries only every 60 s
(measured in the lab: unhealthy after every cascade). Compose records each service's
``depends_on`` in the container label ``com.docker.compose.depends_on``
(``qbittorrent:service_healthy:false,...``); a dependent waits for those of its dependencies
that are being started in the same cascade, the others start at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEPENDS_ON_LABEL = "com.docker.compose.depends_on"


def depends_on(labels: Mapping[str, str]) -> frozenset[str]:
    """Given a container's labels, return the services its compose ``depends_on`` names."""
    entries = labels.get(DEPENDS_ON_LABEL, "").split(",")
    return frozenset(entry.split(":", 1)[0] for entry in entries if entry.strip())


def start_waves(keys: Sequence[str], needs: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Given the dependents to start and what each needs, return them in waves: each wave
    needs only what earlier waves start (or nothing started now). A cycle, which compose would
    refuse anyway, ends in one last wave rather than never starting."""
    remaining = list(keys)
    started: set[str] = set()
    waves: list[list[str]] = []
    while remaining:
        wave = [key for key in remaining if not (needs.get(key, frozenset()) & set(remaining))]
        wave = wave or remaining
        waves.append(wave)
        started.update(wave)
        remaining = [key for key in remaining if key not in started]
    return waves
