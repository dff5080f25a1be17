"""Where the listener's RSS goes, measured in the supervisor's own image: fresh interpreters
(``docker exec <supervisor> python -c PROBE``, the image's venv python, the lab's mounted
config through ``MEDIASTACK_CONFIG``), each loading cumulatively what the daemon loads, in its
order, with VmRSS and the modules each step added:

1. python itself; 2. the console script's module; 3. the daemon's modules (the lean
``supervise`` path, the runtime, croniter, sqlite3) and the config loaded: what the daemon
holds with the listener off; 4. the listener built as ``job_wiring._listener`` builds it
(``status_pages`` + ``build_listener``); 5. one look: ``GET /`` and ``GET /api/v1/status``
answered (what a page, and the stream's every look, renders); 6. the first ``GET /metrics``
(``prometheus_client`` comes in here).

Run after the windows (the probe is a process in the container's cgroup).
"""

from __future__ import annotations

import json
import statistics
import textwrap
from typing import Any

from supervisor_lab import docker

PROBE = textwrap.dedent(
    """
    import json, os, sys
    from collections import Counter
    from pathlib import Path

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    def package(name):
        parts = name.split(".")
        return ".".join(parts[:3]) if parts[0] == "mediastack" else parts[0]

    steps, kept = [], {}

    def step(label, action):
        before = set(sys.modules)
        action()
        added = sorted(set(sys.modules) - before)
        top = Counter(package(name) for name in added).most_common(15)
        steps.append({"step": label, "rss_kb": rss(), "modules_added": len(added),
                      "by_package": dict(top)})

    def daemon():
        import sqlite3, croniter
        import mediastack.cli.supervise_daemon, mediastack.supervisor.runtime.daemon
        from mediastack.config import load_config
        kept["loaded"] = load_config(Path(os.environ["MEDIASTACK_CONFIG"]))

    def listener():
        from mediastack.supervisor.clock import SystemClock
        from mediastack.supervisor.runtime.report import state_file_path
        from mediastack.supervisor.web.serving import status_pages, status_token
        from mediastack.updates.listening import build_listener
        loaded = kept["loaded"]
        pages = status_pages(loaded, state_file_path(loaded), SystemClock(), os.environ)
        kept["server"] = build_listener(loaded, None, os.environ, pages)
        kept["token"] = status_token(loaded, os.environ)
        kept["pages"] = pages(kept["server"].settings)

    def get(path):
        from mediastack.updates.webhook_http import RequestHead
        head = RequestHead("GET", path, {"authorization": "Bearer " + kept["token"]})
        answer = kept["pages"].answer(head)
        assert answer.status == 200, (path, answer.status, answer.body)

    def look():
        get("/")
        get("/api/v1/status")

    step("python (the image's venv)", lambda: None)
    step("+ mediastack.cli.main (the console script)", lambda: __import__("mediastack.cli.main"))
    step("+ the daemon's modules, croniter, sqlite3, the config loaded (= listener off)", daemon)
    step("+ the listener built: status_pages + build_listener", listener)
    step("+ one look: GET / and GET /api/v1/status answered", look)
    step("+ the first GET /metrics", lambda: get("/metrics"))
    print(json.dumps(steps))
    """
)


def import_breakdown(container: str, repetitions: int = 3) -> dict[str, Any]:
    """Run the probe ``repetitions`` times in ``container``; return the median RSS of each step,
    what it added, and the modules of the last run."""
    runs: list[list[dict[str, Any]]] = []
    errors: list[str] = []
    for _ in range(repetitions):
        done = docker("exec", container, "python", "-c", PROBE, check=False, timeout=120)
        if done.returncode != 0:
            errors.append(done.stderr[-2000:])
            continue
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    if not runs:
        return {"error": errors}
    steps = []
    previous = None
    for index, last in enumerate(runs[-1]):
        rss = statistics.median(run[index]["rss_kb"] for run in runs) / 1024
        steps.append(
            {
                "step": last["step"],
                "rss_mb": round(rss, 1),
                "added_mb": round(rss - previous, 1) if previous is not None else None,
                "modules_added": last["modules_added"],
                "modules_by_package": last["by_package"],
            }
        )
        previous = rss
    return {"how": __doc__.split("\n\n")[0], "runs": len(runs), "steps": steps, "errors": errors}


def print_breakdown(breakdown: dict[str, Any]) -> None:
    if "steps" not in breakdown:
        print(f"breakdown failed: {breakdown.get('error')}")
        return
    print(f"\nwhere the RSS goes (fresh interpreters in the image, median of {breakdown['runs']})")
    for step in breakdown["steps"]:
        added = f"+{step['added_mb']}" if step["added_mb"] is not None else ""
        print(f"  {step['rss_mb']:6.1f} MB {added:>6}  {step['step']} ({step['modules_added']})")
