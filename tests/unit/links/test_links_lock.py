"""One writing wire at a time per homelab: a second waits, bounded, then says who holds it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from mediastack.links.lock import LOCK_NAME, WireBusyError, wire_lock


def test_a_second_wire_gives_up_after_its_wait_and_says_why(tmp_path: Path) -> None:
    holder = os.open(tmp_path / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    ticks = iter([0.0, 0.0, 1.0, 5.0])
    try:
        with pytest.raises(WireBusyError, match="another `mediastack wire`"), wire_lock(
            tmp_path, 2.0, clock=lambda: next(ticks)
        ):
            pass
    finally:
        os.close(holder)
    with wire_lock(tmp_path, 0.0):  # released: taken at once
        pass
