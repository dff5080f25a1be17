"""Benchmark ``mediastack wire`` on the shipped lab: from "every service healthy" to "every
link ok", and what a re-run costs, beside the time ``mediastack up vpn`` itself took in the
same run.

Each repetition builds a fresh lab (``init``'s default config; the real qBittorrent; the
stateful Sonarr/Radarr/Prowlarr/Bazarr stand-ins of tests/integration/standins/arr, which
test download clients against that qBittorrent and call each other back), then times:

- ``up``: ``mediastack up vpn --no-wire`` (ends when compose reports every service healthy);
- ``wire``: the first ``mediastack wire`` (every link made and read back);
- ``rewire``: a second ``mediastack wire`` (nothing to do).

The stand-ins count what each wire sent (reads, writes). Goal (issue 10): wired within 30 s
of healthy; a re-run makes no write and at most one read per resource. Writes medians and
the ratio wire/up to bench/results/wire.json.

    python bench/wire_bench.py --repetitions 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT / "tests" / "integration"))
sys.path.insert(0, str(REPOSITORY_ROOT / "src"))

import httpx  # noqa: E402
from homelab import Homelab, make_homelab  # noqa: E402
from peer_images import build_arr_images, build_peer_images  # noqa: E402
from standins import (  # noqa: E402
    SERVICE_PORTS,
    build_gluetun_standin,
    build_standin_images,
    remove_test_resources,
    session_prefix,
)

ARR_APPS = ("sonarr", "radarr", "prowlarr", "bazarr")
RESULTS = REPOSITORY_ROOT / "bench" / "results" / "wire.json"


def timed(lab: Homelab, *arguments: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    ran = lab.run(*arguments, timeout=900)
    return time.perf_counter() - started, ran


def counted(lab: Homelab) -> dict[str, int]:
    """Return the reads and writes the stand-ins received since the last call (then reset)."""
    total = {"reads": 0, "writes": 0}
    for app in ARR_APPS:
        base = f"http://127.0.0.1:{lab.host_port(app)}/_standin"
        answer = httpx.get(f"{base}/requests", timeout=10).json()
        total["reads"] += answer["reads"]
        total["writes"] += answer["writes"]
        httpx.post(f"{base}/reset-counts", timeout=10).raise_for_status()
    return total


def one_repetition(images: dict[str, str], index: int) -> dict[str, Any]:
    prefix = f"{session_prefix()}wb{index}"
    remove_test_resources(prefix)
    with tempfile.TemporaryDirectory(prefix="mediastack-wire-bench-") as folder:
        lab = make_homelab(Path(folder), prefix, images)
        try:
            up_seconds, up = timed(lab, "up", "vpn", "--no-wire")
            assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
            counted(lab)
            wire_seconds, wired = timed(lab, "wire", "--format", "json")
            first = json.loads(wired.stdout)
            first_counts = counted(lab)
            rewire_seconds, rewired = timed(lab, "wire", "--format", "json")
            second = json.loads(rewired.stdout)
            second_counts = counted(lab)
        finally:
            lab.run("down", "--remove-network", timeout=300)
            remove_test_resources(prefix)
    statuses = sorted({link["status"] for link in first["links"]})
    return {
        "up_seconds": up_seconds,
        "wire_seconds": wire_seconds,
        "rewire_seconds": rewire_seconds,
        "links": len(first["links"]),
        "first_statuses": statuses,
        "second_statuses": sorted({link["status"] for link in second["links"]}),
        "first_requests": first_counts,
        "second_requests": second_counts,
        "second_wire_reported_reads": second["reads"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    arguments = parser.parse_args()
    images = build_standin_images(SERVICE_PORTS)
    images["gluetun"] = build_gluetun_standin()
    images.update(build_peer_images())
    images.update(build_arr_images())
    runs = [one_repetition(images, index) for index in range(arguments.repetitions)]

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    summary = {
        "command": f"python bench/wire_bench.py --repetitions {arguments.repetitions}",
        "median_up_seconds": median("up_seconds"),
        "median_wire_seconds": median("wire_seconds"),
        "median_rewire_seconds": median("rewire_seconds"),
        "wire_to_up_ratio": median("wire_seconds") / median("up_seconds"),
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({key: value for key, value in summary.items() if key != "runs"}, indent=2))
    print(f"written to {RESULTS.relative_to(REPOSITORY_ROOT)}")


if __name__ == "__main__":
    main()
