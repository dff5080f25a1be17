"""Leases: a command's hold on services, visible to another process while its holder lives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from mediastack.stack.lease import LeaseHolder, active_leases

HOLDER = """
import sys, time
from pathlib import Path
from mediastack.stack.lease import LeaseHolder
with LeaseHolder(Path(sys.argv[1])).hold(["gluetun", "sonarr"], "mediastack up"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_lease_is_seen_while_held_and_gone_after(tmp_path: Path) -> None:
    folder = tmp_path / ".mediastack" / "leases"
    assert active_leases(folder) == []
    with LeaseHolder(folder).hold(["gluetun", "sonarr"], "mediastack up"):
        (lease,) = active_leases(folder)
        assert lease.services == {"gluetun", "sonarr"} and lease.reason == "mediastack up"
        assert active_leases(folder, now=lease.since + 3601) == []  # hung: healing goes on
    assert active_leases(folder) == [] and list(folder.iterdir()) == []


def test_the_lease_of_a_killed_command_is_a_leftover_and_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "leases"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        (lease,) = active_leases(folder)  # another process sees it
        assert lease.services == {"gluetun", "sonarr"}
    finally:
        holder.send_signal(signal.SIGKILL)  # no clean-up code runs
        holder.wait()
    assert [path.suffix for path in folder.iterdir()] == [".json"]  # the file is left over
    assert active_leases(folder) == []
    assert list(folder.iterdir()) == []


def test_two_commands_hold_their_own_leases(tmp_path: Path) -> None:
    folder = tmp_path / "leases"
    with (
        LeaseHolder(folder).hold(["gluetun"], "mediastack up"),
        LeaseHolder(folder).hold(["sonarr"], "mediastack restore"),
    ):
        assert {lease.reason for lease in active_leases(folder)} == {
            "mediastack up",
            "mediastack restore",
        }
    assert active_leases(folder) == []


def test_a_read_only_homelab_runs_the_command_without_a_lease(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    ran = False
    with LeaseHolder(blocked / "leases").hold(["gluetun"], "mediastack up"):
        ran = True
    assert ran
