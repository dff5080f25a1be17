"""What a restorable archive may hold: pure checks of the manifest's app entries, of each
member's type and place, and of where its symlinks lead.

Restore turns an app entry into ``config/<app>`` and writes each member of ``apps/<app>/``
there, then starts the service on that folder (its image chowns what it finds). So an app
entry is one plain folder name; an app's root member is a real directory; a symlink, followed
from where it lies through the archive's other symlinks, ends inside its own app folder; and
hard links, devices and fifos, which a backup never writes, mark an archive as crafted. Every
check returns problems naming the entry, so all of an archive's problems are told at once.
"""

from __future__ import annotations

import tarfile
from collections.abc import Collection, Mapping, Sequence

from mediastack.backup.manifest import APPS_PREFIX, EntryKind, Manifest
from mediastack.backup.selection import RESTORE_WORK_FOLDER

MAXIMUM_LINK_HOPS = 40  # Linux gives up (ELOOP) after as many
_NEVER_WRITTEN = {
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "device",
    tarfile.BLKTYPE: "device",
    tarfile.FIFOTYPE: "fifo",
}


def app_entry_problems(manifest: Manifest) -> list[str]:
    """Given a manifest, return what is wrong with its ``apps`` entries: not one plain
    folder name, listed twice, or without its folder in the archive."""
    problems = [f"app entry {app!r}: {flaw}" for app in manifest.apps if (flaw := _name_flaw(app))]
    problems += [
        f"app entry {app!r}: listed twice"
        for index, app in enumerate(manifest.apps)
        if app in manifest.apps[:index]
    ]
    for app in dict.fromkeys(manifest.apps):
        root = manifest.by_path.get(f"{APPS_PREFIX}{app}")
        if _name_flaw(app) is None and (root is None or root.kind is not EntryKind.DIRECTORY):
            problems.append(f"app entry {app!r}: the archive holds no folder {APPS_PREFIX}{app}")
    return problems


def _name_flaw(app: str) -> str | None:
    if app in ("", ".", ".."):
        return "not a folder name"
    if app.startswith("/"):
        return "an absolute path, not a folder name inside config/"
    if any(character in app for character in "/\\\0"):
        return "a path, not one folder name inside config/"
    if app == RESTORE_WORK_FOLDER:
        return "mediastack's own restore work folder, not an app"
    return None


def unknown_app_problems(apps: Sequence[str], known: Collection[str]) -> list[str]:
    """Given the apps to restore and the known app folder names (the catalogue's services
    and the folders already in config/), return a problem for each app that is neither."""
    return [
        f"app entry {app!r}: no app of this homelab (not in the catalogue, no folder config/{app})"
        for app in apps
        if app not in known
    ]


def member_problem(info: tarfile.TarInfo) -> str | None:
    """Given one member (its name already a safe path), return why it must not be restored,
    or None. Symlink targets are judged on their own here; ``leaving_links`` follows them
    through the archive's other symlinks once all are known."""
    never = _NEVER_WRITTEN.get(info.type)
    if never is not None:
        target = f" to {info.linkname!r}" if info.islnk() else ""
        return f"{info.name}: a {never}{target}; backups never hold one"
    inside = info.name.removeprefix(APPS_PREFIX)
    if inside == info.name:
        return None
    if "/" not in inside and not info.isdir():
        what = f"a symlink to {info.linkname!r}" if info.issym() else "not a folder"
        return f"{info.name}: {what} in place of the app folder, which must be a real folder"
    if info.issym():
        return _link_problem(info.name, info.linkname, {})
    return None


def leaving_links(links: Mapping[str, str]) -> list[str]:
    """Given every symlink of the archive (member name -> target), return a problem for each
    one under ``apps/`` that, followed through the others, ends outside its app folder."""
    by_app: dict[str, dict[str, str]] = {}
    for name, target in links.items():
        app, _, inside = name.removeprefix(APPS_PREFIX).partition("/")
        if name.startswith(APPS_PREFIX) and inside:
            by_app.setdefault(app, {})[inside] = target
    return [
        problem
        for app, app_links in by_app.items()
        for inside, target in app_links.items()
        if (problem := _link_problem(f"{APPS_PREFIX}{app}/{inside}", target, app_links))
    ]


def _link_problem(name: str, target: str, app_links: Mapping[str, str]) -> str | None:
    inside = name.removeprefix(APPS_PREFIX).partition("/")[2]
    outcome = resolve_inside(inside, target, app_links)
    if outcome is None:
        return None
    return f"{name}: a symlink to {target!r} that {outcome}"


def resolve_inside(location: str, target: str, app_links: Mapping[str, str]) -> str | None:
    """Follow the symlink at ``location`` (a path inside its app folder) to ``target``,
    through ``app_links`` (the app's other symlinks, by path inside the app folder), the way
    the kernel would. Return None when it ends inside the app folder, else what it does."""
    resolved = location.split("/")[:-1]
    pending = list(reversed(target.split("/")))
    hops = 0
    if target.startswith("/"):
        return "leaves its app folder (an absolute target)"
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return "leaves its app folder"
            resolved.pop()
            continue
        candidate = "/".join([*resolved, part])
        followed = app_links.get(candidate)
        if followed is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > MAXIMUM_LINK_HOPS:
            return "loops through other symlinks"
        if followed.startswith("/"):
            return f"leaves its app folder (through {candidate!r}, an absolute link)"
        pending.extend(reversed(followed.split("/")))
    return None
