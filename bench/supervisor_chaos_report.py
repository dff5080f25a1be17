"""The summary of ``bench/supervisor_chaos.py``: the results file's content, one row per
fault, the printed table, one line per trial."""

from __future__ import annotations

import time
from typing import Any

from supervisor_lab import DEPENDENTS, GLUETUN


def summarize(
    trials: list[dict[str, Any]],
    command: str,
    seconds: float,
    measured_on: dict[str, Any],
    options: Any,
) -> dict[str, Any]:
    """Return the results file's content: settings, one row per fault, every trial."""
    rows = [_row(fault, trials) for fault in dict.fromkeys(t["fault"] for t in trials)]
    return {
        "benchmark": "supervisor_chaos",
        "command": command,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": round(seconds, 1),
        "machine": measured_on,
        "settings": {
            "repetitions": options.repetitions,
            "gluetun_healthy_after_seconds": options.gluetun_healthy_after,
            "fault_timeout_seconds": options.fault_timeout,
            "supervisor": "python -m mediastack -c CONFIG supervise --state-file <fresh per "
            "trial>, on the host, on the engine socket; the lab's config (autoheal held back "
            "an hour, max_cascades_per_hour 60, gluetun_healthy_timeout_seconds 120, port "
            "sync and wiring off) but where a fault changes it; notices to a local ntfy "
            "receiver through Apprise",
            "baseline": "bench/supervisor_baselines.py poll-recreate --interval 5",
            "clock": "engine events (timeNano); fault = gluetun's first event after it was "
            "issued; healed = the last dependent's new container healthy in gluetun's "
            "namespace",
            "engine_restart": "see tests/integration/test_engine_restart.py",
        },
        "table": rows,
        "trials": trials,
    }


def _row(fault: str, trials: list[dict[str, Any]]) -> dict[str, Any]:
    ours = [t for t in trials if t["fault"] == fault and t["healer"] == "mediastack"]
    theirs = [t for t in trials if t["fault"] == fault and t["healer"] == "baseline"]
    return {
        "fault": fault,
        "healed_seconds": [[w["healed_seconds"] for w in t.get("windows", [])] for t in ours],
        "after_gluetun_healthy_seconds": [
            [w["after_gluetun_healthy_seconds"] for w in t.get("windows", [])] for t in ours
        ],
        "creates": [t.get("creates_whole_trial") for t in ours],
        "cascades": [[c["outcome"] for c in t.get("cascades", [])] for t in ours],
        "counted": [t.get("counted_in_rate_window") for t in ours],
        "notices": [len(t.get("notices", [])) for t in ours],
        "errors": [t["error"] for t in ours + theirs if t.get("error")],
        "baseline_healed_seconds": [
            [w["healed_seconds"] for w in t.get("windows", [])] for t in theirs
        ],
        "baseline_creates": [t.get("creates_whole_trial") for t in theirs],
    }


def compact_creates(made: dict[str, int] | None) -> str:
    """Return ``9x1`` when each dependent was created once, else the counts that differ."""
    if made is None:
        return "-"
    counts = {service: made.get(service, 0) for service in DEPENDENTS}
    common = max(set(counts.values()), key=list(counts.values()).count)
    odd = [f"{service} {count}" for service, count in counts.items() if count != common]
    text = f"{len(counts) - len(odd)}x{common}"
    extra = f" gluetun {made[GLUETUN]}" if made.get(GLUETUN) else ""
    return text + (f" ({', '.join(odd)})" if odd else "") + extra


def print_table(result: dict[str, Any]) -> None:
    def seconds(runs: list[list[float | None]]) -> str:
        return (
            " / ".join(",".join("-" if v is None else f"{v:.2f}" for v in run) for run in runs)
            or "-"
        )

    print("\nseconds on the engine's clock; per repetition (/), per window (,)")
    header = ("fault", "healed", "after healthy", "creates", "cascades", "counted",
              "notices", "baseline healed", "baseline creates")  # fmt: skip
    print(" | ".join(header))
    for row in result["table"]:
        cells = (
            row["fault"], seconds(row["healed_seconds"]),
            seconds(row["after_gluetun_healthy_seconds"]),
            " / ".join(compact_creates(c) for c in row["creates"]) or "-",
            " / ".join(",".join(c) for c in row["cascades"]) or "-",
            " / ".join(str(c) for c in row["counted"]) or "-",
            " / ".join(str(n) for n in row["notices"]) or "-",
            seconds(row["baseline_healed_seconds"]),
            " / ".join(compact_creates(c) for c in row["baseline_creates"]) or "-",
        )  # fmt: skip
        print(" | ".join(cells))
        for error in row["errors"]:
            print(f"    error: {error}")
    print("engine restarted: see tests/integration/test_engine_restart.py")


def one_line(trial: dict[str, Any]) -> str:
    windows = trial.get("windows", [])
    healed = " ".join(str(w["healed_seconds"]) for w in windows) or "-"
    made = trial.get("creates_whole_trial", {})
    outcomes = ",".join(c["outcome"] for c in trial.get("cascades", [])) or "-"
    text = f"{trial['fault']:<19} {trial['healer']:<10} healed {healed} creates {made} {outcomes}"
    return text + (f"  ERROR: {trial['error']}" if trial.get("error") else "")
