"""Benchmark: recovery after a gluetun restart, ``mediastack supervise`` against a 5-second
polling baseline, with the gluetun stand-in and its nine stand-in dependents.

Setup (``bench/supervisor_lab.py``): the real ``mediastack init`` + ``render`` + ``up`` of
gluetun and qbittorrent, prowlarr, flaresolverr, sonarr, radarr, bazarr, unpackerr,
cross-seed, recyclarr (stand-in images built locally, healthchecks every 1 s like the engine
tests), on a compose project prefix of its own and free ports on 127.0.0.1. The gluetun
stand-in turns healthy ``--gluetun-healthy-after`` seconds after it starts (default 5 s, a
VPN connection's worth; the stand-in's own default, 1 s, with ``--gluetun-healthy-after 1``).

Each repetition runs both modes, alternating which goes first:

- ``mediastack``, as shipped (the default; ``bench/supervisor_shipped.py``): the ops stack's
  supervisor container that ``mediastack up`` built, behind the socket-proxy peer, init's
  defaults but autoheal held back an hour; the real-app peers for qbittorrent, cross-seed,
  recyclarr (``--standins``: plain stand-ins for all nine). ``docker start``ed and watching
  before the restart, ``docker stop``ped once it logged its cascade's end (so it is down while
  the baseline runs). With ``--host``, the earlier mode: ``python -m mediastack -c CONFIG
  supervise --state-file FRESH`` as a subprocess on the host, on the engine socket (port sync
  off, as it reaches gluetun by service name), stand-ins only, stopped with SIGTERM once its
  cascade is recorded finished.
- ``baseline``: ``bench/supervisor_baselines.py poll-recreate`` (see its docstring): every
  5 s one ``docker ps`` + one ``docker inspect``; when gluetun is healthy, each stale dependent
  is recreated by its own ``docker compose up -d --force-recreate --no-deps <service>``, one
  after another.

Per repetition and mode: wait until the lab is settled (all healthy, in gluetun's namespace,
answering), start the healer, wait a random 0-5 s (so the baseline's polling phase is
uniformly random), ``docker restart -t 1`` gluetun, then measure on the engine's clock (its
events, recorded live with ``timeNano``) and, for reachability, the host's clock (same
machine; polled with httpx every 50 ms through gluetun's published ports on 127.0.0.1):

- gluetun start -> healthy;
- detection: gluetun healthy -> the first dependent's new container ``start`` (mediastack
  creates the new containers while gluetun is still starting, so its ``create`` events come
  before gluetun's healthy one; the baseline's come after; both are recorded, as is the
  first engine action on a dependent at all after the healthy event);
- total: gluetun start -> every dependent's new container healthy AND every published web UI
  answering 200 again;
- floor: gluetun start -> healthy + the slowest dependent's own start -> healthy (its new
  container's ``start`` and ``health_status: healthy`` events, same run); and the floor with
  start waves: the longest chain of own start -> healthy along compose's depends_on instead
  (qbittorrent's then cross-seed's, which the cascade starts only once qBittorrent is healthy);
- ratio total / floor; and mediastack against the baseline;
- after the repetitions, three times, what starting the nine costs the engine alone (no
  supervisor, gluetun healthy): prepared with ``compose up --no-start``, started through the
  API at once; requests -> first and last ``start`` event.

Writes bench/results/supervisor_recovery.json (``--host``: supervisor_recovery_host.json) and
prints a table and the command.

    python bench/supervisor_recovery.py [--repetitions 5] [--gluetun-healthy-after 5] \
        [--standins | --host]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from supervisor_lab import (
    CATALOGUE,
    DEPENDENTS,
    GLUETUN,
    HEALTH_PATHS,
    REPOSITORY_ROOT,
    EventRecorder,
    Lab,
    SupervisorProcess,
    docker,
    event_service,
    event_time,
    machine,
    median,
    new_prefix,
    running_lab,
    settled,
    wait_for_cascades,
    wait_until,
)
from supervisor_shipped import ShippedLab, SupervisorContainer, running_shipped_lab

RESULTS = REPOSITORY_ROOT / "bench" / "results" / "supervisor_recovery.json"
RESULTS_HOST = REPOSITORY_ROOT / "bench" / "results" / "supervisor_recovery_host.json"
BASELINE_SCRIPT = Path(__file__).resolve().parent / "supervisor_baselines.py"
MODES = ("mediastack", "baseline")
POLL_SECONDS = 0.05
DETECTION_GOAL = 1.0
FLOOR_GOAL = 1.1


def main() -> None:
    options = _options()
    command = _command(options)
    prefix = new_prefix()
    rng = random.Random(options.seed)
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    measured_on = machine()
    with tempfile.TemporaryDirectory(prefix="msbench-recovery-") as folder_name:
        folder = Path(folder_name)
        with _running(folder / "lab", prefix, options) as lab:
            if isinstance(lab, ShippedLab):
                measured_on["supervisor_image"] = lab.supervisor_image()
                lab.stop_supervisor()  # started per repetition, down while the baseline runs
            print(f"lab {prefix} up ({time.monotonic() - started:.0f} s); {options.repetitions} "
                  "repetitions x 2 modes", flush=True)  # fmt: skip
            for repetition in range(options.repetitions):
                order = MODES if repetition % 2 == 0 else MODES[::-1]
                for mode in order:
                    delay = rng.uniform(0, options.interval)
                    run = measure(lab, mode, repetition, delay, options, folder)
                    runs.append(run)
                    print(_one_line(run), flush=True)
            starts = [engine_start_probe(lab, options.timeout) for _ in range(PROBE_REPETITIONS)]
    result = summarize(runs, options, command, time.monotonic() - started, measured_on)
    result["engine_start_of_the_nine"] = starts_summary(starts)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nwritten: {options.output}\nreproduce: {command}")


def _running(root: Path, prefix: str, options: argparse.Namespace) -> Any:
    if options.host:
        return running_lab(root, prefix, options.gluetun_healthy_after)
    return running_shipped_lab(
        root, prefix, options.gluetun_healthy_after, real_peers=not options.standins
    )


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--gluetun-healthy-after", type=float, default=5.0,
        help="seconds the gluetun stand-in takes to turn healthy (its image default: 1)",
    )  # fmt: skip
    parser.add_argument("--interval", type=float, default=5.0, help="the baseline's polling")
    parser.add_argument("--timeout", type=float, default=120.0, help="per repetition and mode")
    parser.add_argument("--seed", type=int, default=1, help="for the random pre-restart delay")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--host", action="store_true",
        help="the supervisor as a subprocess on the host, on the engine socket, stand-ins "
        "only (the earlier measurement); default: as shipped, the ops stack's container "
        "behind the socket proxy, with the real-app peers",
    )  # fmt: skip
    parser.add_argument(
        "--standins", action="store_true",
        help="shipped mode with the plain stand-ins for qbittorrent, cross-seed, recyclarr",
    )  # fmt: skip
    options = parser.parse_args()
    if options.output is None:
        options.output = RESULTS_HOST if options.host else RESULTS
    return options


def _command(options: argparse.Namespace) -> str:
    arguments = ["python", "bench/supervisor_recovery.py",
                 "--repetitions", str(options.repetitions),
                 "--gluetun-healthy-after", f"{options.gluetun_healthy_after:g}"]  # fmt: skip
    if options.interval != 5.0:
        arguments += ["--interval", f"{options.interval:g}"]
    if options.seed != 1:
        arguments += ["--seed", str(options.seed)]
    arguments += ["--host"] if options.host else []
    arguments += ["--standins"] if options.standins else []
    if options.output != (RESULTS_HOST if options.host else RESULTS):
        arguments += ["--output", str(options.output)]
    return shlex.join(arguments)


# -- one repetition of one mode ----------------------------------------------------------------


class BaselineProcess:
    """``supervisor_baselines.py poll-recreate`` for the lab, with its output kept."""

    def __init__(self, lab: Lab, interval: float) -> None:
        command = [
            sys.executable, str(BASELINE_SCRIPT), "poll-recreate",
            "--project", lab.project, "--compose-file", str(lab.compose_file),
            "--project-directory", str(lab.compose_file.parent),
            "--gluetun", GLUETUN, "--dependents", ",".join(DEPENDENTS),
            "--interval", f"{interval:g}",
        ]  # fmt: skip
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any("watching" in line for line in self.lines), 30, "the baseline")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=180)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))


@dataclass
class Reachability:
    """Polls each published web UI through gluetun's ports; keeps (request start, answered)
    of every success, so only those issued after gluetun's start count."""

    urls: dict[str, str]
    successes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def poll(self, client: Any, after: float | None) -> bool:
        """One round over the services not yet known reachable after ``after``; return True
        when all are."""
        import httpx

        pending = [s for s in self.urls if not self._reachable_after(s, after)]
        for service in pending:
            begun = time.time()
            try:
                ok = client.get(self.urls[service], timeout=1.0).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                self.successes.setdefault(service, []).append((begun, time.time()))
        return after is not None and all(self._reachable_after(s, after) for s in self.urls)

    def reachable_at(self, service: str, after: float) -> float | None:
        found = [done for begun, done in self.successes.get(service, []) if begun >= after]
        return min(found) if found else None

    def _reachable_after(self, service: str, after: float | None) -> bool:
        return after is not None and self.reachable_at(service, after) is not None


def measure(
    lab: Lab, mode: str, repetition: int, delay: float, options: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """Run one restart of gluetun under ``mode`` and return its measurements."""
    import httpx

    wait_until(lambda: settled(lab), 90, "the lab settled before the restart", every=0.5)
    time.sleep(1.0)
    healer: SupervisorProcess | SupervisorContainer | BaselineProcess
    state_file = folder / f"supervisor-{repetition}.db"
    if mode == "mediastack" and isinstance(lab, ShippedLab):
        healer = SupervisorContainer(lab).start()
    elif mode == "mediastack":
        healer = SupervisorProcess(lab.homelab.config_path, state_file).start()
    else:
        healer = BaselineProcess(lab, options.interval)
    recorder = EventRecorder.for_project(lab.project)
    reachability = Reachability(lab.urls())
    error = None
    time.sleep(delay)
    issued = time.time()
    docker("restart", "-t", "1", lab.containers()[GLUETUN])
    try:
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            deadline = time.monotonic() + options.timeout
            while True:
                gluetun_start = _gluetun_start(recorder.events, issued)
                reachable = reachability.poll(client, gluetun_start)
                if reachable and _all_new_healthy(recorder.events, gluetun_start):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not recovered within {options.timeout:.0f} s")
                time.sleep(POLL_SECONDS)
        if isinstance(healer, SupervisorContainer):
            healer.wait_for_cascade_end(timeout=120)
        elif isinstance(healer, SupervisorProcess):
            wait_for_cascades(state_file, 1, timeout=120)
    except (TimeoutError, AssertionError) as failure:
        error = str(failure).splitlines()[0]
    finally:
        code = healer.stop()
        events = recorder.stop()
    run = analyse(events, reachability, issued, mode, repetition, delay)
    run["healer_exit_code"] = code
    if isinstance(healer, SupervisorProcess | SupervisorContainer):
        healthy = _gluetun_healthy(events, _gluetun_start(events, issued))
        run["supervisor_reported"] = _supervisor_reported(healer.log(), healthy)
    else:
        run["baseline_log"] = healer.lines[-25:]
    if error:
        run["error"] = error
        lab.compose("up", "-d", "--force-recreate", "--no-deps", *DEPENDENTS)
    return run


PROBE_REPETITIONS = 3


def engine_start_probe(lab: Lab, timeout: float) -> dict[str, float]:
    """What starting the nine costs the engine by itself, with gluetun healthy and no
    supervisor: prepare them (``compose up --no-start --force-recreate --no-deps``), then
    start all nine through the API at once; return seconds from the requests to the last
    answer, and from the requests to the first and last ``start`` event (engine clock)."""
    from mediastack.adapters.engine_socket import SocketEngine, endpoint_from_environment

    endpoint = endpoint_from_environment({})
    assert endpoint is not None
    engine = SocketEngine.connect(endpoint)
    lab.compose("up", "--no-start", "--force-recreate", "--no-deps", *DEPENDENTS)
    label = {"label": [f"com.docker.compose.project={lab.project}"]}
    created = [c.id for c in engine.inspect_containers(label) if c.status == "created"]
    recorder = EventRecorder.for_project(lab.project)
    issued = time.time()
    threads = [threading.Thread(target=engine.start, args=(i,)) for i in created]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = time.time()
    wait_until(lambda: settled(lab), timeout, "the lab settled after the probe")
    events = recorder.stop()
    starts = [event_time(e) for e in events if e["Action"] == "start" and e["id"] in created]
    return {
        "containers": len(created),
        "requests_to_last_answer": round(answered - issued, 3),
        "requests_to_first_start_event": round(min(starts) - issued, 3),
        "requests_to_last_start_event": round(max(starts) - issued, 3),
    }


def starts_summary(probes: list[dict[str, float]]) -> dict[str, Any]:
    names = ("requests_to_first_start_event", "requests_to_last_start_event")
    return {"runs": probes, "medians": {name: median(p[name] for p in probes) for name in names}}


def _gluetun_start(events: list[dict[str, Any]], issued: float) -> float | None:
    starts = [
        event_time(e)
        for e in list(events)
        if event_service(e) == GLUETUN and e["Action"] == "start" and event_time(e) >= issued
    ]
    return min(starts) if starts else None


def _gluetun_healthy(events: list[dict[str, Any]], start: float | None) -> float | None:
    if start is None:
        return None
    return min(
        (event_time(e) for e in events if event_service(e) == GLUETUN
         and e["Action"] == "health_status: healthy" and event_time(e) >= start),
        default=None,
    )  # fmt: skip


def _all_new_healthy(events: list[dict[str, Any]], gluetun_start: float | None) -> bool:
    if gluetun_start is None:
        return False
    incarnations = _new_incarnations(list(events), gluetun_start)
    return all(
        service in incarnations and incarnations[service].get("healthy") is not None
        for service in DEPENDENTS
    )


def _new_incarnations(events: list[dict[str, Any]], after: float) -> dict[str, dict[str, Any]]:
    """Return dependent -> its last container created after ``after``: id, create, start and
    healthy times (engine clock)."""
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        service = event_service(event)
        if service not in DEPENDENTS or event_time(event) < after:
            continue
        if event["Action"] == "create":
            found[service] = {"id": event["id"], "create": event_time(event)}
        known = found.get(service)
        if known is None or event["id"] != known["id"]:
            continue
        if event["Action"] == "start" and "start" not in known:
            known["start"] = event_time(event)
        elif event["Action"] == "health_status: healthy" and "healthy" not in known:
            known["healthy"] = event_time(event)
    return found


def analyse(
    events: list[dict[str, Any]],
    reachability: Reachability,
    issued: float,
    mode: str,
    repetition: int,
    delay: float,
) -> dict[str, Any]:
    """Turn one recording into the measurements (seconds; None when not observed)."""
    run: dict[str, Any] = {"mode": mode, "repetition": repetition, "pre_restart_delay": delay}
    start = _gluetun_start(events, issued)
    healthy = _gluetun_healthy(events, start)
    if start is None or healthy is None:
        run["error"] = "gluetun's start or healthy event was not seen"
        return run
    new = _new_incarnations(events, start)
    dependent_events = [
        e for e in events if event_service(e) in DEPENDENTS and event_time(e) >= healthy
    ]
    creates = [
        event_time(e)
        for e in events
        if event_service(e) in DEPENDENTS and e["Action"] == "create" and event_time(e) >= start
    ]
    starts = [item["start"] for item in new.values() if item.get("start") is not None]
    own = {
        service: round(item["healthy"] - item["start"], 3)
        for service, item in new.items()
        if item.get("healthy") is not None and item.get("start") is not None
    }
    reachable = {s: reachability.reachable_at(s, start) for s in HEALTH_PATHS}
    done_candidates = [item.get("healthy") for item in new.values()] + list(reachable.values())
    complete = len(own) == len(DEPENDENTS) and all(v is not None for v in reachable.values())
    gluetun_start_to_healthy = healthy - start
    slowest = max(own.values()) if own else None
    floor = gluetun_start_to_healthy + slowest if slowest is not None else None
    total = max(v for v in done_candidates if v is not None) - start if complete else None
    chain = _start_chain(own) if complete else None
    waves_floor = gluetun_start_to_healthy + chain if chain is not None else None
    run.update(
        gluetun_start_to_healthy=round(gluetun_start_to_healthy, 3),
        detection_to_first_start=round(min(starts) - healthy, 3) if starts else None,
        detection_to_first_create=round(min(creates) - healthy, 3) if creates else None,
        detection_to_first_action=(
            round(min(event_time(e) for e in dependent_events) - healthy, 3)
            if dependent_events else None
        ),
        recreate_span_first_to_last_create=(
            round(max(creates) - min(creates), 3) if creates else None
        ),
        creates_per_dependent={
            s: sum(
                1 for e in events
                if e["Action"] == "create" and event_service(e) == s and event_time(e) >= start
            )
            for s in DEPENDENTS
        },
        dependent_own_start_to_healthy=own,
        slowest_dependent_start_to_healthy=slowest,
        floor=round(floor, 3) if floor is not None else None,
        all_dependents_healthy_after_gluetun_start=(
            round(max(i["healthy"] for i in new.values()) - start, 3) if complete else None
        ),
        all_reachable_after_gluetun_start=(
            round(max(v for v in reachable.values() if v is not None) - start, 3)
            if complete else None
        ),
        total=round(total, 3) if total is not None else None,
        total_over_floor=round(total / floor, 3) if total and floor else None,
        floor_with_start_waves=round(waves_floor, 3) if waves_floor is not None else None,
        total_over_floor_with_start_waves=(
            round(total / waves_floor, 3) if total and waves_floor else None
        ),
        overhead_total_minus_floor=round(total - floor, 3) if total and floor else None,
        restart_issued_to_gluetun_start=round(start - issued, 3),
        timeline_after_gluetun_healthy=_timeline(events, new, reachable, healthy, start),
    )  # fmt: skip
    if not complete:
        run["error"] = "not every dependent was seen healthy and reachable"
    return run


def _start_chain(own: dict[str, float]) -> float | None:
    """Return the longest path of own start -> healthy times along compose's depends_on
    among the dependents (cross-seed after a healthy qbittorrent): the floor when a
    dependent may start only once what it depends on is healthy."""

    def chain(service: str) -> float:
        before = [chain(d) for d in CATALOGUE[service].depends_on if d in DEPENDENTS]
        return own[service] + max(before, default=0.0)

    if set(own) != set(DEPENDENTS):
        return None
    return max(chain(service) for service in DEPENDENTS)


def _timeline(
    events: list[dict[str, Any]],
    new: dict[str, dict[str, Any]],
    reachable: dict[str, float | None],
    healthy: float,
    start: float,
) -> dict[str, dict[str, float]]:
    """Return, per dependent, when (seconds after gluetun turned healthy; negative: before)
    its old container was killed and died, its new one created, started and healthy, and it
    answered."""
    timeline: dict[str, dict[str, float]] = {}
    for service in DEPENDENTS:
        item = new.get(service, {})
        marks: dict[str, float | None] = {
            "create": item.get("create"), "start": item.get("start"),
            "healthy": item.get("healthy"), "reachable": reachable.get(service),
        }  # fmt: skip
        for action in ("kill", "die", "destroy"):
            marks[f"old_{action}"] = min(
                (event_time(e) for e in events if event_service(e) == service
                 and e["Action"] == action and e["id"] != item.get("id")
                 and event_time(e) >= start),
                default=None,
            )  # fmt: skip
        timeline[service] = {k: round(v - healthy, 3) for k, v in marks.items() if v is not None}
    return timeline


def _supervisor_reported(log: str, healthy: float | None) -> dict[str, Any]:
    """What the supervisor itself logged about the cascade: its own measure of the detection,
    its compose call, and when (seconds after gluetun's healthy event, from the log's
    millisecond timestamps) it heard of the healthy event, issued the recreate, and started
    compose (after reading each dependent's current container)."""
    issued = re.search(r"(?:start|recreate) issued ([\d.]+) s after gluetun reported healthy", log)
    compose = [line.split(" INFO ")[-1] for line in log.splitlines() if "compose up" in line]
    marks = {
        "heard_gluetun_healthy": "is healthy; stale dependents",
        "start_or_recreate_issued": " issued ",
        "compose_started": "compose up --force-recreate",
        "first_prepared_logged": "INFO prepared ",
        "first_recreated_logged": "INFO recreated ",
        "cascade_finished_logged": " ended: healed after",
    }
    after_healthy: dict[str, float] = {}
    for name, needle in marks.items():
        line = next((line for line in log.splitlines() if needle in line), None)
        moment = _log_time(line) if line else None
        if moment is not None and healthy is not None:
            after_healthy[name] = round(moment - healthy, 3)
    return {
        "recreate_issued_after_healthy": float(issued.group(1)) if issued else None,
        "log_marks_after_gluetun_healthy": after_healthy,
        "compose_calls": compose,
    }


def _log_time(line: str) -> float | None:
    """Return the epoch time of a supervisor log line (``%(asctime)s``: local time, ms)."""
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


# -- the summary -----------------------------------------------------------------------------------

SUMMARY_FIELDS = (
    "gluetun_start_to_healthy",
    "slowest_dependent_start_to_healthy",
    "floor",
    "detection_to_first_action",
    "detection_to_first_start",
    "detection_to_first_create",
    "recreate_span_first_to_last_create",
    "all_dependents_healthy_after_gluetun_start",
    "all_reachable_after_gluetun_start",
    "total",
    "overhead_total_minus_floor",
    "total_over_floor",
    "floor_with_start_waves",
    "total_over_floor_with_start_waves",
)


def summarize(
    runs: list[dict[str, Any]],
    options: argparse.Namespace,
    command: str,
    seconds: float,
    measured_on: dict[str, Any],
) -> dict[str, Any]:
    medians = {
        mode: {name: median(r.get(name) for r in runs if r["mode"] == mode)
               for name in SUMMARY_FIELDS}
        for mode in MODES
    }  # fmt: skip
    for mode in MODES:
        ok = [r for r in runs if r["mode"] == mode and not r.get("error")]
        medians[mode]["repetitions_ok"] = len(ok)
        medians[mode]["repetitions_failed"] = sum(1 for r in runs if r["mode"] == mode) - len(ok)
    paired = []
    for repetition in range(options.repetitions):
        pair = {r["mode"]: r.get("total") for r in runs if r["repetition"] == repetition}
        ours_total, baseline_total = pair.get("mediastack"), pair.get("baseline")
        if ours_total and baseline_total:
            paired.append(ours_total / baseline_total)
    ours, theirs = medians["mediastack"], medians["baseline"]
    comparison = {
        "median_total_mediastack_over_baseline": (
            round(ours["total"] / theirs["total"], 3)
            if ours["total"] and theirs["total"] else None
        ),
        "median_of_paired_total_ratios_mediastack_over_baseline": median(paired),
    }  # fmt: skip
    goals = {
        "detection_under_1s": _goal(
            ours["detection_to_first_start"], lambda v: v < DETECTION_GOAL
        ),
        "total_within_1.1x_floor": _goal(ours["total_over_floor"], lambda v: v <= FLOOR_GOAL),
        "faster_than_baseline": _goal(
            comparison["median_total_mediastack_over_baseline"], lambda v: v < 1.0
        ),
    }
    return {
        "benchmark": "supervisor_recovery",
        "command": command,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(seconds, 1),
        "machine": measured_on,
        "settings": {
            "repetitions": options.repetitions,
            "dependents": list(DEPENDENTS),
            "published_and_polled": sorted(HEALTH_PATHS),
            "gluetun_healthy_after_seconds": options.gluetun_healthy_after,
            "healthcheck": "interval 1s, timeout 3s, retries 3, start_period 10s (all services)",
            "restart": "docker restart -t 1 <gluetun>, after a random 0-interval s delay",
            "baseline": "bench/supervisor_baselines.py poll-recreate: every "
            f"{options.interval:g} s docker ps + docker inspect; when gluetun is healthy, each "
            "stale dependent (not running, NetworkMode not container:<gluetun id>, or started "
            "before gluetun) recreated by its own `docker compose up -d --force-recreate "
            "--no-deps <service>`, sequentially",
            "supervisor": _supervisor_setting(options),
            "clock": "engine events (timeNano) for create/start/healthy; host clock (same "
            "machine) for reachability, polled every 50 ms",
            "reachability": "every published web UI answers 200 through gluetun's port on "
            "127.0.0.1, request issued after gluetun's start event",
        },
        "medians": medians,
        "comparison": comparison,
        "goals": goals,
        "runs": runs,
    }


def _supervisor_setting(options: argparse.Namespace) -> str:
    if options.host:
        return (
            "python -m mediastack -c CONFIG supervise --state-file <fresh per repetition>, "
            "on the host, on the engine socket; autoheal grace 3600 s (so it only cascades); "
            "port sync off (it reaches gluetun by service name, which only works from the "
            "supervisor's container); update and backup schedules as the defaults (idle "
            "during the run); no notification URLs; stand-ins for all nine"
        )
    peers = "plain stand-ins for all nine" if options.standins else (
        "real-app peers for qbittorrent (qbittorrent-nox), cross-seed and recyclarr "
        "(tests/integration/peer_images.py), stand-ins for the other six"
    )  # fmt: skip
    return (
        "as shipped: the ops stack's supervisor container (image built by `mediastack up`, "
        "mediastack.supervisor_image, on the local debootstrap base), DOCKER_HOST "
        "tcp://socket-proxy:2375, the socket-proxy peer (haproxy, linuxserver's haproxy.cfg "
        "unchanged); `docker start` before each mediastack repetition, `docker stop` after "
        "(down while the baseline runs), state file kept between repetitions; autoheal "
        "grace 3600 s (so it only cascades; the engine is shared); port sync, update and "
        f"backup schedules as init's defaults; no notification URLs; {peers}"
    )


def _goal(value: float | None, test: Any) -> dict[str, Any]:
    return {"median": value, "met": None if value is None else bool(test(value))}


def _one_line(run: dict[str, Any]) -> str:
    def show(name: str) -> str:
        value = run.get(name)
        return "-" if value is None else f"{value:.2f}"

    parts = [
        f"rep {run['repetition']} {run['mode']:<10}",
        f"gluetun->healthy {show('gluetun_start_to_healthy')}",
        f"detect {show('detection_to_first_start')}",
        f"floor {show('floor')}",
        f"total {show('total')}",
        f"x{show('total_over_floor')}",
    ]
    if run.get("error"):
        parts.append(f"ERROR: {run['error']}")
    return "  ".join(parts)


def print_table(result: dict[str, Any]) -> None:
    medians = result["medians"]
    rows = [
        ("gluetun start -> healthy", "gluetun_start_to_healthy"),
        ("slowest dependent start -> healthy", "slowest_dependent_start_to_healthy"),
        ("floor", "floor"),
        ("detection: healthy -> first new container start", "detection_to_first_start"),
        ("  healthy -> first create (negative: before healthy)", "detection_to_first_create"),
        ("  healthy -> first engine action on one", "detection_to_first_action"),
        ("first -> last create", "recreate_span_first_to_last_create"),
        ("all dependents healthy", "all_dependents_healthy_after_gluetun_start"),
        ("all reachable on 127.0.0.1", "all_reachable_after_gluetun_start"),
        ("total (gluetun start -> all ok)", "total"),
        ("total - floor", "overhead_total_minus_floor"),
        ("total / floor", "total_over_floor"),
        ("floor with start waves (cross-seed after qbt)", "floor_with_start_waves"),
        ("total / floor with start waves", "total_over_floor_with_start_waves"),
    ]
    ok = {mode: medians[mode]["repetitions_ok"] for mode in MODES}
    print(f"\nmedians, seconds (engine clock) | mediastack n={ok['mediastack']} "
          f"| baseline n={ok['baseline']}")  # fmt: skip
    print(f"{'':38} {'mediastack':>11} {'baseline':>11}")
    for label, name in rows:
        cells = [medians[mode][name] for mode in MODES]
        text = ["-" if v is None else f"{v:.3f}" for v in cells]
        print(f"{label:38} {text[0]:>11} {text[1]:>11}")
    comparison = result["comparison"]
    print(f"\nmediastack / baseline (median totals): "
          f"{comparison['median_total_mediastack_over_baseline']}; "
          f"median of paired ratios: "
          f"{comparison['median_of_paired_total_ratios_mediastack_over_baseline']}")  # fmt: skip
    probe = result["engine_start_of_the_nine"]["medians"]
    print(f"the engine alone, the nine prepared containers started at once: start events "
          f"{probe['requests_to_first_start_event']}-{probe['requests_to_last_start_event']} s "
          f"after the requests (medians of {PROBE_REPETITIONS})")  # fmt: skip
    for name, goal in result["goals"].items():
        verdict = {True: "met", False: "NOT met", None: "unknown"}[goal["met"]]
        print(f"goal {name}: {verdict} (median {goal['median']})")


if __name__ == "__main__":
    main()
