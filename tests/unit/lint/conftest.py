"""Fixtures for the lint tests: a real config rendered into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_support import LOCAL_ONLY, RenderedTree, render_tree


@pytest.fixture
def rendered(tmp_path: Path) -> RenderedTree:
    """The default config (binds web UIs on 0.0.0.0), rendered."""
    return render_tree(tmp_path / "homelab", "name: mediastack\n")


@pytest.fixture
def rendered_local(tmp_path: Path) -> RenderedTree:
    """The default config with network.bind_address 127.0.0.1, rendered."""
    return render_tree(tmp_path / "homelab", "name: mediastack\n" + LOCAL_ONLY)
