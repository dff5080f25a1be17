"""Fixtures of the supervisor's unit tests."""

from __future__ import annotations

import pytest

from mediastack.supervisor.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at 2026-01-01 12:00 UTC that moves only when advanced."""
    return FakeClock()
