"""Crafted archives are refused before anything of the user's changes: app entries that climb
out of config/ or name no app, a link in place of an app folder, links and hard links that
leave the app folder, devices and fifos; links that stay inside still restore. ``backup
verify`` reports the same problems."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from backup_support import Lab, tree_digest, write
from crafted_support import (
    Member,
    folder,
    hardlink,
    sonarr_folder,
    symlink,
    write_crafted,
)
from restore_support import FakeControl

from mediastack.backup import BackupError, restore_backup, verify_backup
from mediastack.backup.selection import RESTORE_WORK_FOLDER


def refused(lab: Lab, archive: Path, *, dry_run: bool = False) -> BackupError:
    """Restore ``archive`` with sonarr running; return the refusal, after checking that
    nothing in config/ changed and no service was touched."""
    before = tree_digest(lab.config)
    control = FakeControl(services=["sonarr", "radarr"], running=["sonarr", "radarr"])
    with pytest.raises(BackupError) as raised:
        restore_backup(lab.loaded, archive.name, control=control, dry_run=dry_run)
    assert tree_digest(lab.config) == before
    assert not (lab.config / RESTORE_WORK_FOLDER).exists()
    assert control.calls == []
    assert "nothing was changed" in f"{raised.value.message} {raised.value.fix}"
    return raised.value


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_app_entry_climbing_out_of_config_is_refused_and_its_victim_stays(
    lab: Lab, dry_run: bool
) -> None:
    victim = write(lab.root / "victim" / "precious.txt", "mine").parent
    archive = write_crafted(lab.backups, ["sonarr", "sonarr/../../victim"], sonarr_folder())
    error = refused(lab, archive, dry_run=dry_run)
    assert "'sonarr/../../victim'" in error.message
    assert [path.name for path in victim.iterdir()] == ["precious.txt"]
    assert (victim / "precious.txt").read_text() == "mine"


def test_every_unsafe_app_entry_is_named_at_once(lab: Lab) -> None:
    apps = ["sonarr", "/srv/victim", "sonarr/extra", "..", "", ".mediastack-restore"]
    error = refused(lab, write_crafted(lab.backups, apps, sonarr_folder()))
    for entry in apps[1:]:
        assert repr(entry) in error.message


def test_an_app_that_is_no_app_of_this_homelab_is_refused(lab: Lab) -> None:
    crafted = [*sonarr_folder(), folder("apps/intruder"), Member("apps/intruder/x", content=b"x")]
    archive = write_crafted(lab.backups, ["sonarr", "intruder"], crafted)
    error = refused(lab, archive)
    assert "'intruder'" in error.message
    assert not (lab.config / "intruder").exists()


def test_a_folder_of_config_that_is_not_in_the_catalogue_restores(lab: Lab) -> None:
    write(lab.config / "notes" / "todo.txt", "old")
    crafted = [folder("apps/notes"), Member("apps/notes/todo.txt", content=b"restored")]
    archive = write_crafted(lab.backups, ["notes"], crafted)
    restore_backup(lab.loaded, archive.name, control=FakeControl())
    assert (lab.config / "notes" / "todo.txt").read_text() == "restored"


@pytest.mark.parametrize("target", ["ELSEWHERE", "../radarr", "."])
def test_a_link_in_place_of_an_app_folder_is_refused(lab: Lab, target: str) -> None:
    elsewhere = write(lab.root / "elsewhere" / "file", "not sonarr's").parent
    target = str(elsewhere) if target == "ELSEWHERE" else target
    old = tree_digest(lab.config / "sonarr")
    archive = write_crafted(lab.backups, ["sonarr"], [symlink("apps/sonarr", target)])
    error = refused(lab, archive)
    assert "apps/sonarr" in error.message
    assert not (lab.config / "sonarr").is_symlink() and (lab.config / "sonarr").is_dir()
    assert tree_digest(lab.config / "sonarr") == old
    assert (elsewhere / "file").read_text() == "not sonarr's"


LEAVING_LINKS = {
    "climbs out": [symlink("apps/sonarr/escape", "../../victim")],
    "absolute": [symlink("apps/sonarr/escape", "/etc")],
    "into another app": [symlink("apps/sonarr/escape", "../radarr/config.xml")],
    "through another link": [
        symlink("apps/sonarr/here", "."),
        folder("apps/sonarr/deep"),
        symlink("apps/sonarr/deep/escape", "../here/.."),
    ],
    "in a loop": [symlink("apps/sonarr/a", "b"), symlink("apps/sonarr/b", "a")],
}


@pytest.mark.parametrize("links", LEAVING_LINKS.values(), ids=LEAVING_LINKS.keys())
def test_a_symlink_leaving_the_app_folder_is_refused(lab: Lab, links: list[Member]) -> None:
    archive = write_crafted(lab.backups, ["sonarr"], [*sonarr_folder(), *links])
    error = refused(lab, archive)
    assert f"{links[-1].name}: a symlink to {links[-1].link!r}" in error.message


UNSAFE_MEMBERS = {
    "hard link out": (hardlink("apps/sonarr/passwd", "../../etc/passwd"), "hard link"),
    "hard link into another app": (
        hardlink("apps/sonarr/key", "apps/radarr/config.xml"),
        "hard link",
    ),
    "fifo": (Member("apps/sonarr/pipe", tarfile.FIFOTYPE), "fifo"),
    "device": (Member("apps/sonarr/disk", tarfile.BLKTYPE), "device"),
}


@pytest.mark.parametrize("member, kind", UNSAFE_MEMBERS.values(), ids=UNSAFE_MEMBERS.keys())
def test_hard_links_devices_and_fifos_are_refused(lab: Lab, member: Member, kind: str) -> None:
    archive = write_crafted(lab.backups, ["sonarr"], [*sonarr_folder(), member])
    error = refused(lab, archive)
    assert f"{member.name}: a {kind}" in error.message


def test_links_that_stay_inside_the_app_folder_are_restored(lab: Lab) -> None:
    crafted = [
        *sonarr_folder("<Config>linked</Config>"),
        symlink("apps/sonarr/current", "config.xml"),
        folder("apps/sonarr/sub"),
        symlink("apps/sonarr/sub/up", "../config.xml"),
        symlink("apps/sonarr/sub/again", "../sub/./up"),
    ]
    archive = write_crafted(lab.backups, ["sonarr"], crafted)
    restore_backup(lab.loaded, archive.name, control=FakeControl(["sonarr"], ["sonarr"]))
    sonarr = lab.config / "sonarr"
    assert os.readlink(sonarr / "current") == "config.xml"
    assert (sonarr / "sub" / "again").read_text() == "<Config>linked</Config>"


VERIFY_CASES = {
    "app entry climbing out": (["sonarr", "../victim"], sonarr_folder(), "'../victim'"),
    "link as the app folder": (["sonarr"], [symlink("apps/sonarr", "/srv")], "apps/sonarr"),
    "link leaving the app": (
        ["sonarr"],
        [*sonarr_folder(), symlink("apps/sonarr/x", "../..")],
        "apps/sonarr/x",
    ),
}


@pytest.mark.parametrize("apps, crafted, named", VERIFY_CASES.values(), ids=VERIFY_CASES.keys())
def test_verify_reports_what_restore_refuses(
    lab: Lab, apps: list[str], crafted: list[Member], named: str
) -> None:
    archive = write_crafted(lab.backups, apps, crafted)
    report = verify_backup(lab.loaded, archive.name)
    assert not report.ok
    assert any(named in problem for problem in report.problems), report.problems
