"""The supervisor image's build context is made from the installed mediastack: a source tree
whose pyproject says what the installed metadata says, pinned to the installed versions."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest

from mediastack.supervisor_image import context


def test_the_source_tree_builds_the_installed_distribution(tmp_path: Path) -> None:
    context.write_source_tree(tmp_path)
    project = tomllib.loads((tmp_path / "pyproject.toml").read_text())["project"]
    assert project["name"] == "mediastack"
    assert project["version"] == importlib.metadata.version("mediastack")
    assert project["scripts"] == {"mediastack": "mediastack.cli.main:run"}
    assert any(requirement.startswith("pydantic") for requirement in project["dependencies"])
    assert not any("pytest" in requirement for requirement in project["dependencies"])
    shipped = tmp_path / "src" / "mediastack" / "supervisor_image"
    assert (shipped / "Dockerfile").is_file() and (shipped / "docker-shim").is_file()
    assert not list((tmp_path / "src").rglob("__pycache__"))


def test_constraints_pin_what_is_installed() -> None:
    pins = context.installed_constraints()
    assert f"pydantic=={importlib.metadata.version('pydantic')}" in pins
    assert not any(pin.lower().startswith("mediastack==") for pin in pins)


def test_the_source_hash_changes_with_the_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = context.source_hash()
    package = tmp_path / "mediastack"
    package.mkdir()
    (package / "module.py").write_text("A = 1\n")
    monkeypatch.setattr(context, "PACKAGE_FOLDER", package)
    one = context.source_hash()
    (package / "module.py").write_text("A = 2\n")
    assert context.source_hash() != one != first
