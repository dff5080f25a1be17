"""Benchmark: the supervisor under faults (issue 11's chaos figures), on the lab of
``bench/supervisor_lab.py`` (the gluetun stand-in and its nine stand-in dependents, made by
the real ``init`` + ``render`` + ``up``, a compose project prefix of its own), with the
supervisor a host subprocess (``python -m mediastack -c CONFIG supervise --state-file FRESH``,
as ``supervisor_recovery.py --host`` runs it), notices to a local ntfy receiver
(``tests/support/ntfy_receiver.py``, reached through Apprise's real ntfy plugin).

Faults, each on a settled lab, with a fresh state file and ntfy topic, bounded by
``--fault-timeout``:

1. ``restart``: ``docker restart -t 1`` gluetun;
2. ``recreate``: ``docker compose up -d --force-recreate --no-deps gluetun``;
3. ``triple-restart``: three restarts, ``TRIPLE_SPACING`` s apart (within ~12 s);
4. ``held-unhealthy``: gluetun's stand-in forced unhealthy (``/tmp/standin-unhealthy``) and
   restarted under a healthy wait of ``HELD_TIMEOUT`` s, held unhealthy ``HELD_TIMEOUT + 6`` s
   after the restart, then let healthy;
5. ``killed-mid-cascade``: a restart, the supervisor SIGKILLed once it logged its prepare
   decision, its orphaned compose call left to end, a new supervisor on the same state file;
6. ``notifier-down``: a restart, the ntfy receiver stopped once the prepare is logged, back
   after the healing;
7. ``restart-loop``: ``max_cascades_per_hour: 2`` and three restarts, each after the previous
   healing (the third: watched ``PAUSE_WATCH`` s once the pause is logged);
8. ``broken-image`` / ``broken-command``: one dependent (``BROKEN``) with a missing image tag,
   or an entrypoint that does not exist, and a restart (supervisor defaults: 4 attempts,
   retries after 5, 10, 20 s).

The engine restart is covered by ``tests/integration/test_engine_restart.py``.

Figures, on the engine's clock (its events recorded live with ``timeNano``): *healed* = fault
(gluetun's first event after it was issued) -> the last dependent's new container healthy in
gluetun's namespace; *after healthy* = gluetun's last ``healthy`` event -> the same moment;
containers created per service; the cascades in the state file's history and their outcome;
how many the rate limiter counted; the notices the receiver got. Faults 1-3 also run under the
poll-recreate baseline of ``bench/supervisor_baselines.py`` (every 5 s; each stale dependent
recreated by its own compose call).

    python bench/supervisor_chaos.py [--repetitions 1] [--gluetun-healthy-after 5] \
        [--faults restart,recreate,...] [--no-baseline]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shlex
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import yaml
from supervisor_chaos_faults import (
    Trial,
    cascade_history,
    counted_cascades,
    creates,
    events_between,
    figures,
    log_extract,
    paused_until,
    restart_gluetun,
)
from supervisor_chaos_report import one_line, print_table, summarize
from supervisor_lab import (
    DEPENDENTS,
    GLUETUN,
    REPOSITORY_ROOT,
    Lab,
    config_variant,
    event_service,
    event_time,
    machine,
    new_prefix,
    running_lab,
    settled,
    wait_until,
)
from supervisor_recovery import BaselineProcess
from test_supervisor_harness import gluetun_unhealthy_file, has_exited

from support.ntfy_receiver import NtfyReceiver

RESULTS = REPOSITORY_ROOT / "bench" / "results" / "supervisor_chaos.json"
TRIPLE_SPACING = 4.0
HELD_TIMEOUT = 8
PAUSE_WATCH = 10.0
BROKEN = "sonarr"
FAULTS = (
    "restart", "recreate", "triple-restart", "held-unhealthy", "killed-mid-cascade",
    "notifier-down", "restart-loop", "broken-image", "broken-command",
)  # fmt: skip
BASELINE_FAULTS = ("restart", "recreate", "triple-restart")


# -- the faults --------------------------------------------------------------------------------


def fault_restart(trial: Trial, timeout: float) -> None:
    trial.mark("restart")
    restart_gluetun(trial.lab)
    trial.wait_healed("restart", timeout)


def fault_recreate(trial: Trial, timeout: float) -> None:
    trial.mark("recreate")
    trial.lab.compose("up", "-d", "--force-recreate", "--no-deps", GLUETUN, timeout=120)
    trial.wait_healed("recreate", timeout)


def fault_triple_restart(trial: Trial, timeout: float) -> None:
    began = trial.mark("triple-restart")
    for index in range(3):
        time.sleep(max(0.0, began + index * TRIPLE_SPACING - time.time()))
        trial.mark(f"restart_{index + 1}_issued")
        restart_gluetun(trial.lab)
    trial.wait_healed("triple-restart", timeout)


def fault_held_unhealthy(trial: Trial, timeout: float) -> None:
    gluetun_unhealthy_file(trial.lab.homelab, present=True)
    try:
        restarted = trial.mark("held-unhealthy")
        restart_gluetun(trial.lab)
        time.sleep(max(0.0, restarted + HELD_TIMEOUT + 6 - time.time()))
        trial.notes.append(f"history while held: {cascade_history(trial.state_file)}")
        trial.mark("let_healthy")
    finally:
        gluetun_unhealthy_file(trial.lab.homelab, present=False)
    trial.wait_healed("held-unhealthy", timeout, cascades=_any_healed)


def _any_healed(found: list[dict[str, Any]]) -> bool:
    return any(cascade["outcome"] == "healed" for cascade in found)


def fault_killed_mid_cascade(trial: Trial, timeout: float) -> None:
    first = trial.supervisor
    trial.mark("killed-mid-cascade")
    restart_gluetun(trial.lab)
    first.wait_for("decision: prepare", timeout=30)
    compose_calls = _wait_for_children(first, 3.0)
    trial.mark("sigkill")
    first.kill()
    trial.notes.append(f"SIGKILLed with {len(compose_calls)} compose call(s) running")
    for pid in compose_calls:  # the orphaned compose call ends on its own
        wait_until(functools.partial(has_exited, pid), 60, f"compose (pid {pid}) to exit")
    trial.mark("orphans_ended")
    trial.notes.append(f"history after the kill: {cascade_history(trial.state_file)}")
    trial.start_supervisor()
    trial.wait_healed("killed-mid-cascade", timeout)


def _wait_for_children(supervisor: Any, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: list[int] = supervisor.children()
        if found:
            return found
        time.sleep(0.05)
    return []


def fault_notifier_down(trial: Trial, timeout: float) -> None:
    trial.mark("notifier-down")
    restart_gluetun(trial.lab)
    trial.supervisor.wait_for("decision: prepare", timeout=30)
    trial.receiver.go_down()
    trial.mark("ntfy_down")
    try:
        trial.wait_healed("notifier-down", timeout)
        process = trial.supervisor.process
        alive = process is not None and process.poll() is None
        trial.notes.append(f"supervisor running after the healing: {alive}")
        trial.notes.append(f"notices received while down: {len(_titles(trial))}")
    finally:
        trial.receiver.come_back()
        trial.mark("ntfy_back")
    with contextlib.suppress(TimeoutError):  # how many arrive late, within 20 s
        wait_until(lambda: len(_titles(trial)) >= 2, 20, "late notices", every=0.5)


def fault_restart_loop(trial: Trial, timeout: float) -> None:
    for window in ("loop_1", "loop_2"):
        trial.mark(window)
        restart_gluetun(trial.lab)
        trial.wait_healed(window, timeout)
    trial.mark("loop_3")
    restart_gluetun(trial.lab)
    wait_until(lambda: len(cascade_history(trial.state_file)) >= 3, timeout, "the third cascade")
    trial.supervisor.wait_for("pause cascades until", timeout=30)
    trial.mark("pause_logged")
    time.sleep(PAUSE_WATCH)
    trial.notes.append(f"paused until {paused_until(trial.state_file)}")
    trial.close_window("loop_3")


def broken_fault(change: Callable[[dict[str, Any], Lab], None]) -> Callable[[Trial, float], None]:
    """Return the fault that breaks ``BROKEN`` in the rendered compose file with ``change``,
    restarts gluetun, and waits for the other eight healed and the cascade ended."""

    def fault(trial: Trial, timeout: float) -> None:
        compose_file = trial.lab.compose_file
        original = compose_file.read_text()
        rendered = yaml.safe_load(original)
        change(rendered["services"][BROKEN], trial.lab)
        compose_file.write_text(yaml.safe_dump(rendered, sort_keys=False))
        try:
            trial.mark("broken")
            restart_gluetun(trial.lab)
            others = [service for service in DEPENDENTS if service != BROKEN]
            trial.wait_healed("broken", timeout, services=others)
        finally:
            compose_file.write_text(original)

    return fault


def _missing_image(service: dict[str, Any], lab: Lab) -> None:
    service["image"] = f"{lab.prefix}-missing/{BROKEN}:no-such-tag"
    service["pull_policy"] = "never"  # nothing is ever pulled


def _failing_command(service: dict[str, Any], lab: Lab) -> None:
    service["entrypoint"] = ["/nonexistent"]  # "exec: /nonexistent: no such file"


RUNNERS: dict[str, Callable[[Trial, float], None]] = {
    "restart": fault_restart,
    "recreate": fault_recreate,
    "triple-restart": fault_triple_restart,
    "held-unhealthy": fault_held_unhealthy,
    "killed-mid-cascade": fault_killed_mid_cascade,
    "notifier-down": fault_notifier_down,
    "restart-loop": fault_restart_loop,
    "broken-image": broken_fault(_missing_image),
    "broken-command": broken_fault(_failing_command),
}
CONFIG_CHANGES: dict[str, dict[str, Any]] = {
    "held-unhealthy": {"gluetun_healthy_timeout_seconds": HELD_TIMEOUT},
    "restart-loop": {"max_cascades_per_hour": 2},
}


# -- one trial, start to end ------------------------------------------------------------------


def run_trial(
    lab: Lab, fault: str, healer: str, receiver: NtfyReceiver, folder: Path, timeout: float
) -> dict[str, Any]:
    """Run ``fault`` under ``healer`` (``mediastack`` or ``baseline``) on a settled lab;
    return its result. The lab is left settled (repaired by compose when it is not)."""
    ensure_settled(lab)
    name = f"{fault}-{healer}-{int(time.time() * 1000)}"
    config = lab.homelab.config_path
    if fault in CONFIG_CHANGES:
        config = config_variant(lab, f"chaos-{fault}", {"supervisor": CONFIG_CHANGES[fault]})
    trial = Trial(lab, fault, healer, receiver, folder / f"{name}.db", config)
    baseline: BaselineProcess | None = None
    error = None
    trial.record()
    try:
        if healer == "baseline":
            baseline = BaselineProcess(lab, 5.0)
        else:
            trial.start_supervisor()
        RUNNERS[fault](trial, timeout)
    except Exception as failure:  # one fault's failure is a result, not the end of the run
        error = f"{type(failure).__name__}: {str(failure).splitlines()[0] if str(failure) else ''}"
    finally:
        events = trial.stop()
        baseline_code = baseline.stop() if baseline is not None else None
    result = summarize_trial(trial, events, error)
    if baseline is not None:
        result["baseline_exit_code"] = baseline_code
        result["baseline_log"] = baseline.lines[-20:]
    return result


def summarize_trial(
    trial: Trial, events: list[dict[str, Any]], error: str | None
) -> dict[str, Any]:
    start = min(trial.marks.values()) if trial.marks else time.time()
    result: dict[str, Any] = {"fault": trial.fault, "healer": trial.healer}
    services = [s for s in DEPENDENTS if s != BROKEN] if trial.fault.startswith("broken") else None
    result["windows"] = [
        {"window": window, **figures(events, since, until, services or DEPENDENTS)}
        for window, since, until in trial.windows
    ]
    result["creates_whole_trial"] = creates(e for e in events if event_time(e) >= start - 0.2)
    result["marks_seconds_after_first"] = {k: round(v - start, 3) for k, v in trial.marks.items()}
    result["dependent_events"] = events_between(
        [e for e in events if e["Action"] in ("create", "start", "destroy", "die")
         or event_service(e) == GLUETUN], start, time.time(),
    )  # fmt: skip
    if trial.supervisors:
        result["cascades"] = cascade_history(trial.state_file)
        result["counted_in_rate_window"] = counted_cascades(trial.state_file)
        result["notices"] = _titles(trial)
        result["supervisor_exit_codes"] = [
            s.process.returncode if s.process is not None else None for s in trial.supervisors
        ]
        logs = [s.log() for s in trial.supervisors]
        result["supervisor_crashed"] = any("Traceback" in log for log in logs)
        result["supervisor_logs"] = [log_extract(s) for s in trial.supervisors]
    result["notes"] = trial.notes
    if error:
        result["error"] = error
    return result


def _titles(trial: Trial) -> list[str]:
    return [m.title for m in trial.receiver.messages if m.topic == trial.topic]


def ensure_settled(lab: Lab) -> None:
    """Wait for the lab settled; when it is not within 60 s, recreate the dependents."""
    try:
        wait_until(lambda: settled(lab), 60, "the lab settled", every=0.5)
    except TimeoutError:
        lab.compose("up", "-d", "--force-recreate", "--no-deps", *DEPENDENTS, timeout=180)
        wait_until(lambda: settled(lab), 90, "the lab settled after a repair", every=0.5)
    time.sleep(1.0)


# -- the run -----------------------------------------------------------------------------------


def main() -> None:
    options = _options()
    command = _command(options)
    signal.signal(signal.SIGTERM, _interrupted)  # so the lab is taken down on SIGTERM too
    prefix = new_prefix()
    started = time.monotonic()
    measured_on = machine()
    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="msbench-chaos-") as name, NtfyReceiver() as receiver:
        folder = Path(name)
        with running_lab(folder / "lab", prefix, options.gluetun_healthy_after) as lab:
            print(f"lab {prefix} up ({time.monotonic() - started:.0f} s)", flush=True)
            for repetition in range(options.repetitions):
                for fault, healer in _plan(options):
                    if time.monotonic() - started > options.budget:
                        trials.append({"fault": fault, "healer": healer, "skipped": "budget"})
                        continue
                    trial = run_trial(lab, fault, healer, receiver, folder, options.fault_timeout)
                    trial["repetition"] = repetition
                    trials.append(trial)
                    print(one_line(trial), flush=True)
    result = summarize(trials, command, time.monotonic() - started, measured_on, options)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nwritten: {options.output}\nreproduce: {command}")


def _interrupted(number: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _plan(options: argparse.Namespace) -> list[tuple[str, str]]:
    plan = []
    for fault in options.faults:
        plan.append((fault, "mediastack"))
        if options.baseline and fault in BASELINE_FAULTS:
            plan.append((fault, "baseline"))
    return plan


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--gluetun-healthy-after", type=float, default=5.0)
    parser.add_argument("--faults", type=lambda text: text.split(","), default=list(FAULTS))
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--fault-timeout", type=float, default=120.0)
    parser.add_argument("--budget", type=float, default=480.0,
                        help="start no fault after this many seconds")  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args()
    unknown = set(options.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}")
    return options


def _command(options: argparse.Namespace) -> str:
    arguments = ["python", "bench/supervisor_chaos.py", "--repetitions", str(options.repetitions),
                 "--gluetun-healthy-after", f"{options.gluetun_healthy_after:g}"]  # fmt: skip
    if options.faults != list(FAULTS):
        arguments += ["--faults", ",".join(options.faults)]
    arguments += [] if options.baseline else ["--no-baseline"]
    if options.output != RESULTS:
        arguments += ["--output", str(options.output)]
    return shlex.join(arguments)


if __name__ == "__main__":
    main()
