"""Fixtures of the adapter tests: the captured engine outputs in tests/fixtures/engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ENGINE_FIXTURES = Path(__file__).parents[2] / "fixtures" / "engine"


@pytest.fixture
def fixture_text() -> Callable[[str], str]:
    """Return a reader: file name -> the captured text."""

    def read(name: str) -> str:
        return (ENGINE_FIXTURES / name).read_text(encoding="utf-8")

    return read


@pytest.fixture
def inspect_fixture(fixture_text: Callable[[str], str]) -> Callable[[str], dict[str, Any]]:
    """Return a reader: ``gluetun-before`` -> the one object of inspect-gluetun-before.json."""

    def read(name: str) -> dict[str, Any]:
        objects = json.loads(fixture_text(f"inspect-{name}.json"))
        assert len(objects) == 1
        result: dict[str, Any] = objects[0]
        return result

    return read
