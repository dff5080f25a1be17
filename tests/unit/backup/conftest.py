"""Fixtures of the backup tests: a populated homelab in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from backup_support import Lab, make_lab


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    """A homelab (instance ``home``) with sonarr, radarr and plex config folders."""
    return make_lab(tmp_path / "homelab")
