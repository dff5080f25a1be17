"""Shared helpers for the doctor tests: a config on disk, and a homelab folder tree."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mediastack.config import LoadedConfig, load_config
from mediastack.doctor.expectations import expected_folders

REAL_SECRETS = (
    "GLUETUN_API_KEY=k\nWIREGUARD_PRIVATE_KEY=w\nWIREGUARD_ADDRESSES=10.2.0.2/32\n"
    "SONARR_API_KEY=s\nRADARR_API_KEY=r\nPROWLARR_API_KEY=p\nSEERR_API_KEY=e\n"
)

MakeConfig = Callable[..., LoadedConfig]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """Return a function writing mediastack.yaml (and .env, mode 0600) under tmp_path/homelab
    and loading it; the folder tree is created, owned by the current user, when asked."""

    def make(
        text: str = "", secrets: str | None = REAL_SECRETS, folders: bool = False
    ) -> LoadedConfig:
        root = tmp_path / "homelab"
        root.mkdir(exist_ok=True)
        identity = f"identity: {{puid: {os.getuid()}, pgid: {os.getgid()}}}\n"
        (root / "mediastack.yaml").write_text(identity + text)
        if secrets is not None:
            (root / ".env").write_text(secrets)
            (root / ".env").chmod(0o600)
        loaded = load_config(root / "mediastack.yaml")
        if folders:
            for folder in expected_folders(loaded):
                folder.mkdir(parents=True, exist_ok=True)
        return loaded

    return make
