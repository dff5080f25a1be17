"""Benchmark: the CPU one run of the supervisor's healthcheck costs, the rendered POSIX sh
probe of the heartbeat against ``mediastack supervise --check`` (the probe until now).

Both run on the host against one homelab made here (``mediastack.yaml``, the rendered stacks,
a heartbeat fresh for the whole run, the state file's lock held as a running supervisor holds
it), so both exit 0 on every run. Each run's CPU (user + system, the process and its children)
is read with ``getrusage(RUSAGE_CHILDREN)`` around it; medians over ``--runs``. No engine,
no container: the probe's cost is the same processes inside the supervisor's container (the
``docker exec`` around it is the engine's cost, equal for both).

``--old-source`` adds the Python check of another checkout (its ``src`` folder, e.g. the
commit before the heartbeat: only the state-file lock) for the record.

    python bench/healthcheck_bench.py [--runs 20] [--old-source ../main/src]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT / "src"))

from mediastack.config import load_config  # noqa: E402
from mediastack.render import render_stacks  # noqa: E402
from mediastack.supervisor.runtime.heartbeat import Beat, format_beat, heartbeat_path  # noqa: E402
from mediastack.supervisor.runtime.instance import lock_state_file  # noqa: E402

RESULTS = REPOSITORY_ROOT / "bench" / "results" / "healthcheck.json"
SECRETS = (
    "GLUETUN_API_KEY=k\nWIREGUARD_PRIVATE_KEY=w\nWIREGUARD_ADDRESSES=10.2.0.2/32\n"
    "SONARR_API_KEY=s\nRADARR_API_KEY=r\nPROWLARR_API_KEY=p\nSEERR_API_KEY=e\n"
)


def cpu_seconds_of(command: Sequence[str], environment: Mapping[str, str]) -> float:
    """Run ``command`` once (it must exit 0); return the CPU it and its children used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(
        command, capture_output=True, text=True, env=dict(environment), timeout=60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {completed.stdout}{completed.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(command: Sequence[str], environment: Mapping[str, str], runs: int) -> dict[str, Any]:
    samples = [cpu_seconds_of(command, environment) for _ in range(runs)]
    return {
        "median_cpu_seconds": statistics.median(samples),
        "min_cpu_seconds": min(samples),
        "max_cpu_seconds": max(samples),
        "runs": runs,
    }


def make_homelab(root: Path) -> tuple[Path, str]:
    """Write a homelab; return its config file and the supervisor's rendered probe as the
    container's shell gets it (compose's ``$$`` escape undone)."""
    config = root / "mediastack.yaml"
    config.write_text("name: bench\nservices: {supervisor: {enabled: true}}\n")
    (root / ".env").write_text(SECRETS)
    documents = {s.stack.value: s.document for s in render_stacks(load_config(config))}
    test = documents["ops"]["services"]["supervisor"]["healthcheck"]["test"]
    return config, str(test[1]).replace("$$", "$")


def python_check(config: Path, source: Path) -> tuple[list[str], dict[str, str]]:
    environment = {**os.environ, "PYTHONPATH": str(source)}
    return [sys.executable, "-m", "mediastack", "-c", str(config), "supervise", "--check"], (
        environment
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--old-source", type=Path, help="another checkout's src folder")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediastack-healthcheck-") as folder:
        config, probe = make_homelab(Path(folder))
        state_file = load_config(config).folder(Path(".mediastack/supervisor.db"))
        state_file.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        # Fresh for the whole run: the loop "turned" a little in the future of now.
        beat = Beat(now + timedelta(minutes=10), True, now)
        heartbeat_path(state_file).write_text(format_beat(beat))
        results: dict[str, Any] = {}
        with lock_state_file(state_file):
            results["sh_probe"] = measure(["sh", "-c", probe], os.environ, arguments.runs)
            command, environment = python_check(config, REPOSITORY_ROOT / "src")
            results["python_check"] = measure(command, environment, arguments.runs)
            if arguments.old_source is not None:
                command, environment = python_check(config, arguments.old_source.resolve())
                results["python_check_old_source"] = measure(command, environment, arguments.runs)
    ratio = (
        results["sh_probe"]["median_cpu_seconds"] / results["python_check"]["median_cpu_seconds"]
    )
    report = {
        "command": " ".join(["python", "bench/healthcheck_bench.py", *sys.argv[1:]]),
        "probe": probe,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "results": results,
        "sh_over_python_cpu_ratio": ratio,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'healthcheck run':<34} {'median CPU':>12} {'min':>9} {'max':>9}")
    for name, figures in results.items():
        median, low, high = (
            figures[key] * 1000
            for key in ("median_cpu_seconds", "min_cpu_seconds", "max_cpu_seconds")
        )
        print(f"{name:<34} {median:>9.1f} ms {low:>6.1f} ms {high:>6.1f} ms")
    print(f"sh / python CPU: {ratio:.4f}; written to {RESULTS.relative_to(REPOSITORY_ROOT)}")
    print(f"reproduce: {report['command']}")


if __name__ == "__main__":
    main()
