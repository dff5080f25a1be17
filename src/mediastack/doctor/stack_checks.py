"""Verdicts on what the stack needs from the host: folders and their owner, real hardlinks,
free published ports, the secrets file. Pure functions of observed facts."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mediastack.doctor.facts import (
    FolderFacts,
    HardlinkFacts,
    LinkOutcome,
    PortFacts,
    PortKey,
    PortState,
    RequiredSecret,
    SecretsFileFacts,
)
from mediastack.doctor.model import CheckResult, Status, worst_status
from mediastack.render.environment import is_placeholder

# A problem found and how to fix it.
Finding = tuple[str, str]


def _command_paths(paths: Iterable[Path]) -> str:
    return " ".join(shlex.quote(str(path)) for path in paths)


def _without_descendants(paths: Sequence[Path]) -> list[Path]:
    """Return ``paths`` minus those below another one (``chown -R`` of a parent covers them)."""
    return [path for path in paths if not any(other in path.parents for other in paths)]


def _without_ancestors(paths: Sequence[Path]) -> list[Path]:
    """Return ``paths`` minus those above another one (``mkdir -p`` of a child makes them)."""
    return [path for path in paths if not any(path in other.parents for other in paths)]


def evaluate_folders(folders: Sequence[FolderFacts], puid: int, pgid: int) -> CheckResult:
    """Fail when a folder is missing or is not a directory (fix: init or mkdir -p); warn when
    one is not owned by PUID:PGID (fix: the exact chown command) or could not be inspected;
    pass otherwise."""
    check_id, title = "folders", "Folders and owner"
    missing = [f.path for f in folders if not f.exists and f.error is None]
    not_directories = [f.path for f in folders if f.exists and not f.is_directory]
    unreadable = [f"{f.path} ({f.error})" for f in folders if f.error is not None]
    wrong_owner = [
        f for f in folders if f.is_directory and (f.owner_uid, f.owner_gid) != (puid, pgid)
    ]
    findings = [
        *_missing_findings(missing, not_directories),
        *_owner_findings(wrong_owner, puid, pgid),
    ]
    if unreadable:
        findings.append(
            (f"could not inspect: {', '.join(unreadable)}", "run mediastack doctor as root")
        )
    if not findings:
        message = f"all {len(folders)} folders exist, owned by {puid}:{pgid}"
        return CheckResult(check_id, title, Status.PASS, message)
    status = Status.FAIL if missing or not_directories else Status.WARN
    message = "; ".join(problem for problem, _ in findings)
    return CheckResult(check_id, title, status, message, "; ".join(fix for _, fix in findings))


def _missing_findings(missing: Sequence[Path], not_directories: Sequence[Path]) -> list[Finding]:
    findings = []
    if missing:
        mkdir = f"mkdir -p {_command_paths(_without_ancestors(missing))}"
        findings.append(
            (
                f"missing: {', '.join(map(str, missing))}",
                f"run mediastack init (it creates them owned by PUID:PGID) or {mkdir}",
            )
        )
    if not_directories:
        findings.append(
            (
                f"not a folder: {', '.join(map(str, not_directories))}",
                f"move {_command_paths(not_directories)} aside and create folders there",
            )
        )
    return findings


def _owner_findings(wrong_owner: Sequence[FolderFacts], puid: int, pgid: int) -> list[Finding]:
    if not wrong_owner:
        return []
    owners = ", ".join(f"{f.path} ({f.owner_uid}:{f.owner_gid})" for f in wrong_owner)
    paths = _without_descendants([folder.path for folder in wrong_owner])
    chown = f"sudo chown -R {puid}:{pgid} {_command_paths(paths)}"
    return [(f"not owned by {puid}:{pgid}: {owners}", chown)]


def evaluate_hardlinks(facts: HardlinkFacts) -> CheckResult:
    """Pass when a real link() from torrents into media gave one inode; fail on EXDEV (two
    filesystems or two mounts) or on a link with a different inode; warn when the probe could
    not run (permissions, missing folders, other errors): that is not a failed probe."""
    check_id, title = "hardlinks", "Hardlinks torrents → media"
    source, target = facts.source_folder, facts.target_folder
    if facts.outcome == LinkOutcome.LINKED:
        message = (
            f"a file in {source} was hardlinked into {target}: imports will be instant and "
            "take no extra space"
        )
        return CheckResult(check_id, title, Status.PASS, message)
    if facts.outcome == LinkOutcome.CROSS_DEVICE:
        return CheckResult(check_id, title, Status.FAIL, *_cross_device(source, target))
    if facts.outcome == LinkOutcome.DIFFERENT_INODE:
        message = f"link() into {target} succeeded but made a second inode: imports would copy"
        fix = "put the data folder on a filesystem with real hardlinks (ext4, xfs, btrfs, zfs)"
        return CheckResult(check_id, title, Status.FAIL, message, fix)
    return CheckResult(
        check_id,
        title,
        Status.WARN,
        f"could not test: {facts.detail}",
        _untested_fix(facts.outcome, source),
    )


def _cross_device(source: Path, target: Path) -> tuple[str, str]:
    message = (
        f"link() from {source} into {target} failed with EXDEV (cross-device link): they are "
        "two filesystems or two mounts, so every import would be a full copy (twice the space, "
        "slow) instead of a hardlink. Equal device numbers prove nothing: two bind mounts of "
        "one disk refuse links too"
    )
    fix = (
        f"put torrents/ and media/ under one folder on one filesystem ({source.parent}), with "
        "no mount point between them, and mount that single folder as /data in the download "
        "client and the *arr apps"
    )
    return message, fix


def _untested_fix(outcome: LinkOutcome, source: Path) -> str:
    if outcome == LinkOutcome.NOT_PERMITTED:
        return (
            f"run mediastack doctor as PUID or root so it may write in {source}; if the "
            "filesystem has no hardlinks at all (FAT, exFAT, some network shares), move the "
            "data folder to one that has"
        )
    if outcome == LinkOutcome.MISSING_FOLDER:
        return "create the folders first (see the folders check), then run mediastack doctor"
    return f"make {source} writable, then run mediastack doctor again"


def evaluate_ports(
    ports: Sequence[PortFacts], holders: Mapping[PortKey, str] | None
) -> CheckResult:
    """Given each published port's bind result and the ports held by running containers of
    this stack (None when the engine could not be asked), fail when a port is taken by
    something else or the bind address is not on this host; warn when this stack already holds
    it, when the holder is unknown, or when a port could not be tested; pass otherwise."""
    check_id, title = "ports", "Published ports free"
    verdicts = [_port_verdict(facts, holders) for facts in ports]
    problems = [verdict for verdict in verdicts if verdict is not None]
    if not problems:
        numbers = ", ".join(str(facts.published.port) for facts in ports) or "none"
        message = f"all {len(ports)} published port(s) are free: {numbers}"
        return CheckResult(check_id, title, Status.PASS, message)
    status = worst_status(status for status, _, _ in problems)
    message = "; ".join(message for _, message, _ in problems)
    fix = "; ".join(dict.fromkeys(fix for _, _, fix in problems))
    return CheckResult(check_id, title, status, message, fix)


def _port_verdict(
    facts: PortFacts, holders: Mapping[PortKey, str] | None
) -> tuple[Status, str, str] | None:
    """Return (status, message, fix) for a port that is not simply free, else None."""
    published = facts.published
    where = f"{published.address}:{published.port}/{published.protocol}"
    owner = f"{published.service} {published.port_name}"
    if facts.state == PortState.FREE:
        return None
    if facts.state == PortState.ADDRESS_UNAVAILABLE:
        message = f"{where} ({owner}): {published.address} is not an address of this host"
        fix = "set network.bind_address to an address of this host (see `ip -brief address`)"
        return Status.FAIL, message, fix
    if facts.state == PortState.UNTESTED:
        message = f"could not test {where} ({owner}): {facts.detail}"
        return Status.WARN, message, "run mediastack doctor as root to test every port"
    return _in_use_verdict(facts, holders, where, owner)


def _in_use_verdict(
    facts: PortFacts, holders: Mapping[PortKey, str] | None, where: str, owner: str
) -> tuple[Status, str, str]:
    published = facts.published
    if holders is None:
        message = (
            f"{where} ({owner}) is in use; the engine could not say whether this stack holds it"
        )
        return Status.WARN, message, _free_port_fix(facts)
    holder = holders.get((published.port, published.protocol))
    if holder is not None:
        message = f"{where} ({owner}) is held by {holder}, a running container of this stack"
        return Status.WARN, message, "nothing to do while the stack is meant to be running"
    return Status.FAIL, f"{where} ({owner}) is in use by another program", _free_port_fix(facts)


def _free_port_fix(facts: PortFacts) -> str:
    published = facts.published
    stop = f"stop what listens on {published.port} (`ss -lntup 'sport = :{published.port}'`)"
    if published.host_network:
        return f"{stop}: {published.service} runs on the host network and needs that very port"
    return (
        f"{stop} or set services.{published.service}.ports.{published.port_name}: N (a free port)"
    )


def evaluate_secrets_file(facts: SecretsFileFacts) -> CheckResult:
    """Warn when .env is missing or readable by group or others (fix: chmod 600); pass when
    only its owner may read it."""
    check_id, title, path = "secrets-file", "Secrets file", facts.path
    if not facts.exists or facts.mode is None:
        message = f"{path} does not exist: compose cannot fill in the VPN key and API keys"
        return CheckResult(check_id, title, Status.WARN, message, "run mediastack init")
    if facts.mode & 0o077:
        message = (
            f"{path} has mode {facts.mode:04o}: other users of this host can read the VPN key "
            "and the API keys"
        )
        return CheckResult(
            check_id, title, Status.WARN, message, f"chmod 600 {shlex.quote(str(path))}"
        )
    return CheckResult(check_id, title, Status.PASS, f"{path} has mode {facts.mode:04o}")


def evaluate_secret_values(
    required: Sequence[RequiredSecret], values: Mapping[str, str] | None, env_file: Path
) -> CheckResult:
    """Given the variables the stacks need and the .env values (None when unreadable), warn
    naming each variable that still holds an init placeholder or is not set, and what it is
    for; pass when every one has a real value."""
    check_id, title = "secrets-values", "Secrets set"
    if values is None:
        message = f"could not read {env_file}"
        return CheckResult(check_id, title, Status.WARN, message, f"check the owner of {env_file}")
    problems = [
        f"{secret.variable} {_secret_state(values.get(secret.variable, ''))} ({secret.purpose})"
        for secret in required
        if _secret_state(values.get(secret.variable, ""))
    ]
    if not problems:
        message = f"all {len(required)} required secrets have a value"
        return CheckResult(check_id, title, Status.PASS, message)
    return CheckResult(
        check_id,
        title,
        Status.WARN,
        "; ".join(problems),
        f"edit {env_file} and set each of them, then run mediastack render",
    )


def _secret_state(value: str) -> str:
    """Return what is wrong with a secret's value ("" when nothing)."""
    if not value:
        return "is not set"
    if is_placeholder(value):
        return "still holds the init placeholder"
    return ""
