"""Fixtures of the web tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from web_support import Lab

from mediastack.supervisor.clock import FakeClock


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    """Empty supervisor files in tmp_path and a fake clock at 2026-01-01 12:00 UTC."""
    return Lab(tmp_path, FakeClock())
