"""Helpers shared by the supervisor's unit tests: captured fixtures and gluetun incarnations."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from mediastack.supervisor.actions import Gluetun
from mediastack.supervisor.clock import FakeClock

FIXTURES = Path(__file__).parent / "fixtures"
GLUETUN_ID = "2d473f546f61434d1cdab41010b57e48eb2ab7246392d430807bcfa64cbb7f63"
NEW_GLUETUN_ID = "8f1383fa4a34e84e50186ef4874650e4a679149808289bf601bb14d6808fd2c2"


def load_fixture(name: str) -> Any:
    """Return the decoded JSON of a captured fixture."""
    return json.loads((FIXTURES / name).read_text())


def incarnation(clock: FakeClock, container_id: str = GLUETUN_ID, ago: float = 0) -> Gluetun:
    """Return a gluetun incarnation started ``ago`` seconds before the clock's now."""
    return Gluetun(container_id, clock.now() - timedelta(seconds=ago))
