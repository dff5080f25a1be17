"""Verdicts on the host itself: engine, compose, /dev/net/tun, free disk. Pure functions of
observed facts; each returns one CheckResult."""

from __future__ import annotations

import re

from mediastack.doctor.facts import ComposeFacts, DeviceFacts, DeviceKind, DiskFacts, EngineFacts
from mediastack.doctor.model import CheckResult, Status

MINIMUM_ENGINE = (20, 10)
MINIMUM_COMPOSE = (2, 20)
GIB = 1024**3
DATA_FAIL_BELOW = 1 * GIB
DATA_WARN_BELOW = 10 * GIB
DATA_WARN_BELOW_FRACTION = 0.05
CONFIG_FAIL_BELOW = 1 * GIB
CONFIG_WARN_BELOW = 2 * GIB


def parse_version(text: str | None) -> tuple[int, int] | None:
    """Given a version such as "20.10.24+dfsg1" or "v2.40.3", return (major, minor); return
    None when it does not start with two numbers."""
    match = re.match(r"^\s*v?(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _dotted(version: tuple[int, int]) -> str:
    return ".".join(map(str, version))


def evaluate_engine(facts: EngineFacts) -> CheckResult:
    """Fail when the engine is unreachable; warn when it is older than 20.10 or its version
    cannot be read; pass otherwise."""
    check_id, title = "engine", "Docker engine"
    if not facts.reachable:
        return CheckResult(
            check_id,
            title,
            Status.FAIL,
            f"cannot reach the Docker engine: {facts.error or 'no answer'}",
            "start dockerd / systemctl start docker / check DOCKER_HOST "
            "(and that this user may use the socket: the docker group)",
        )
    version = parse_version(facts.version)
    if version is None:
        return CheckResult(
            check_id,
            title,
            Status.WARN,
            f"the engine answered, but its version {facts.version!r} could not be read",
            "check `docker version`; mediastack needs Docker Engine 20.10 or newer",
        )
    if version < MINIMUM_ENGINE:
        return CheckResult(
            check_id,
            title,
            Status.WARN,
            f"Docker Engine {facts.version} is older than {_dotted(MINIMUM_ENGINE)}",
            f"upgrade Docker Engine to {_dotted(MINIMUM_ENGINE)} or newer",
        )
    return CheckResult(
        check_id, title, Status.PASS, f"Docker Engine {facts.version} (API {facts.api_version})"
    )


def evaluate_compose(facts: ComposeFacts) -> CheckResult:
    """Fail when ``docker compose`` does not run or is not v2; warn below 2.20 (depends_on
    ``restart: true`` and ``up --wait`` need it) or when its version cannot be read."""
    check_id, title = "compose", "Compose v2"
    install = (
        "install Compose v2 as a Docker CLI plugin (package docker-compose-plugin, or the "
        "docker-compose v2 binary at ~/.docker/cli-plugins/docker-compose)"
    )
    if not facts.available:
        message = f"`docker compose version` did not run: {facts.error or 'no output'}"
        return CheckResult(check_id, title, Status.FAIL, message, install)
    version = parse_version(facts.version)
    if version is None:
        message = f"`docker compose` ran, but its version {facts.version!r} could not be read"
        return CheckResult(check_id, title, Status.WARN, message, "check `docker compose version`")
    if version[0] < 2:
        message = f"Compose {facts.version} is not v2"
        return CheckResult(check_id, title, Status.FAIL, message, install)
    if version < MINIMUM_COMPOSE:
        return CheckResult(
            check_id,
            title,
            Status.WARN,
            f"Compose {facts.version} is older than {_dotted(MINIMUM_COMPOSE)}: depends_on "
            "`restart: true` (dependents follow a restarted gluetun) and `up --wait` need newer",
            f"upgrade Compose to {_dotted(MINIMUM_COMPOSE)} or newer",
        )
    return CheckResult(check_id, title, Status.PASS, f"Compose {facts.version}")


def evaluate_tun(facts: DeviceFacts) -> CheckResult:
    """Pass when the tun device is a character device; fail when it is missing or something
    else (gluetun cannot start); warn when it could not be inspected."""
    check_id, title, path = "tun", "TUN device", facts.path
    create = (
        f"sudo modprobe tun (add `tun` to /etc/modules-load.d/tun.conf to keep it), or create "
        f"it: sudo mkdir -p {path.parent} && sudo mknod {path} c 10 200"
    )
    if facts.kind == DeviceKind.CHARACTER_DEVICE:
        return CheckResult(check_id, title, Status.PASS, f"{path} is a character device")
    if facts.kind == DeviceKind.MISSING:
        message = f"{path} does not exist: gluetun cannot create its WireGuard interface"
        return CheckResult(check_id, title, Status.FAIL, message, create)
    if facts.kind == DeviceKind.OTHER:
        message = f"{path} exists but is not a character device: gluetun cannot start"
        return CheckResult(check_id, title, Status.FAIL, message, f"sudo rm {path}; then {create}")
    return CheckResult(
        check_id,
        title,
        Status.WARN,
        f"could not inspect {path}: {facts.error}",
        "run mediastack doctor as a user that can read /dev/net",
    )


def evaluate_data_disk(facts: DiskFacts) -> CheckResult:
    """Fail under 1 GiB free; warn under 10 GiB or under 5% free; warn when unmeasurable."""
    return _evaluate_disk(
        facts,
        ("disk-data", "Free disk: data"),
        fail_below=DATA_FAIL_BELOW,
        warn_below=DATA_WARN_BELOW,
        warn_below_fraction=DATA_WARN_BELOW_FRACTION,
    )


def evaluate_config_disk(facts: DiskFacts) -> CheckResult:
    """Fail under 1 GiB free (app databases stop writing); warn under 2 GiB; warn when
    unmeasurable."""
    return _evaluate_disk(
        facts,
        ("disk-config", "Free disk: config"),
        fail_below=CONFIG_FAIL_BELOW,
        warn_below=CONFIG_WARN_BELOW,
        warn_below_fraction=0.0,
    )


def _evaluate_disk(
    facts: DiskFacts,
    identity: tuple[str, str],
    fail_below: int,
    warn_below: int,
    warn_below_fraction: float,
) -> CheckResult:
    check_id, title = identity
    if facts.free_bytes is None or not facts.total_bytes:
        message = f"could not measure free space at {facts.measured_at}: {facts.error}"
        return CheckResult(check_id, title, Status.WARN, message, f"check `df -h {facts.folder}`")
    free, total = facts.free_bytes, facts.total_bytes
    fraction = free / total
    message = f"{_gib(free)} free of {_gib(total)} ({fraction:.0%}) at {facts.measured_at}"
    fix = f"free space on the filesystem holding {facts.folder} (see `df -h {facts.measured_at}`)"
    if free < fail_below:
        return CheckResult(check_id, title, Status.FAIL, f"only {message}", fix)
    if free < warn_below or fraction < warn_below_fraction:
        limit = f"under {_gib(warn_below)}" + (
            f" or {warn_below_fraction:.0%}" if warn_below_fraction else ""
        )
        return CheckResult(check_id, title, Status.WARN, f"{message}: {limit}", fix)
    return CheckResult(check_id, title, Status.PASS, message)


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"
