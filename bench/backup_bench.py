"""Benchmark ``mediastack backup`` against ``tar --zstd`` on a generated appdata tree.

Generates a homelab whose config folder is shaped like a real one (see backup_tree.py: a
Plex-like metadata tree of many small files, several SQLite databases in WAL mode with
uncheckpointed WAL, the apps' regenerable junk), then, in the same run and interleaved,
times both tools archiving it with the same exclusions:

- ``mediastack backup --no-verify --no-prune`` (consistent: databases through SQLite's online
  backup API, every file hashed into the manifest, fsync and atomic rename);
- ``tar --zstd -cf`` (GNU tar + zstd at its default level 3; copies live databases and their
  -wal/-shm files raw, so its copy may not open).

``time_ratio`` compares the whole ``mediastack`` command (Python start-up included) with tar;
``time_ratio_in_process`` the backup itself as ``run_backup`` (what the supervisor calls)
reports it.

Both run as subprocesses from a warm page cache; each is run ``--repetitions`` times,
alternating which goes first. ``mediastack backup verify`` is timed too (tar has no
counterpart). Writes medians, the time ratio and archive sizes to bench/results/backup.json
and prints the command that reproduces it. Removes everything it generated.

    python bench/backup_bench.py                      # ~100,000 files, ~300 MB of databases
    python bench/backup_bench.py --scale 0.2          # a fifth of that, for a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from backup_tree import PLEX_ROOT, TreeShape, generate

RESULTS = Path(__file__).parent / "results" / "backup.json"
PLEX_JUNK = ("Cache", "Crash Reports", "Logs", "Updates", "Diagnostics")
ARR_JUNK = ("logs", "logs.db*", "Backups")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000, help="small metadata files")
    parser.add_argument("--database-mb", type=int, default=300, help="database megabytes")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply both sizes")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def tar_excludes() -> list[str]:
    """The same folders mediastack leaves out, as GNU tar --exclude patterns."""
    plex = [f"--exclude=config/{PLEX_ROOT}/{name}" for name in PLEX_JUNK]
    arr = [
        f"--exclude=config/{app}/{name}"
        for app in ("sonarr", "radarr", "prowlarr")
        for name in ARR_JUNK
    ]
    return ["--anchored", *plex, *arr]


AS_INSTALLED = {
    name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
}
"""mediastack runs with its bytecode cached, as a pip-installed package has it (pip compiles it
at install); a development environment may set PYTHONDONTWRITEBYTECODE, which would make every
run compile mediastack's source again (about 0.35 s). The warm-up run writes the cache."""


def timed(command: list[str]) -> dict[str, Any]:
    """Run ``command``; return wall and CPU seconds (children) and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False, env=AS_INSTALLED
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {completed.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "stdout": completed.stdout,
    }


def run_tar(root: Path, output: Path) -> dict[str, Any]:
    command = ["tar", "--zstd", "-cf", str(output), "-C", str(root), *tar_excludes(),
               "config", "mediastack.yaml", ".env"]
    result = timed(command)
    result["archive_bytes"] = output.stat().st_size
    output.unlink()
    del result["stdout"]
    return result


def mediastack(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mediastack", "-c", str(root / "mediastack.yaml"), *extra]


def run_mediastack(root: Path) -> dict[str, Any]:
    result = timed(mediastack(root, "backup", "--no-verify", "--no-prune", "--format", "json"))
    written = json.loads(result.pop("stdout"))
    verification = timed(mediastack(root, "backup", "verify", "--format", "json"))
    report = json.loads(verification.pop("stdout"))
    assert report["ok"], report
    archive = Path(written["archive"])
    result |= {
        "backup_seconds_in_process": written["duration_seconds"],
        "archive_bytes": written["size_bytes"],
        "files": written["files"],
        "databases": written["databases"],
        "source_bytes": written["source_bytes"],
        "verify_wall_seconds": verification["wall_seconds"],
    }
    archive.unlink()
    archive.with_name(archive.name + ".verify.json").unlink(missing_ok=True)
    return result


def median(runs: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(float(run[key]) for run in runs)), 3)


def tree_facts(root: Path) -> dict[str, Any]:
    files = 0
    size = 0
    for folder, _, names in os.walk(root / "config"):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(folder, name)).st_size
    return {"files": files, "bytes": size}


def benchmark(root: Path, repetitions: int) -> dict[str, Any]:
    run_tar(root, root / "warmup.tar.zst")  # page cache warm for both
    run_mediastack(root)  # and mediastack's bytecode cached
    tar_runs: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    for repetition in range(repetitions):
        order = (0, 1) if repetition % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                tar_runs.append(run_tar(root, root / "tar.tar.zst"))
            else:
                ours.append(run_mediastack(root))
            print(f"  repetition {repetition + 1}: {'tar' if which == 0 else 'mediastack'} "
                  f"{(tar_runs if which == 0 else ours)[-1]['wall_seconds']:.2f} s", flush=True)
    summary = {
        "tar_wall_median_seconds": median(tar_runs, "wall_seconds"),
        "mediastack_wall_median_seconds": median(ours, "wall_seconds"),
        "tar_cpu_median_seconds": median(tar_runs, "cpu_seconds"),
        "mediastack_cpu_median_seconds": median(ours, "cpu_seconds"),
        "mediastack_in_process_median_seconds": median(ours, "backup_seconds_in_process"),
        "mediastack_verify_wall_median_seconds": median(ours, "verify_wall_seconds"),
        "tar_archive_bytes": tar_runs[-1]["archive_bytes"],
        "mediastack_archive_bytes": ours[-1]["archive_bytes"],
    }
    summary["time_ratio"] = round(
        summary["mediastack_wall_median_seconds"] / summary["tar_wall_median_seconds"], 3
    )
    summary["time_ratio_in_process"] = round(
        summary["mediastack_in_process_median_seconds"] / summary["tar_wall_median_seconds"], 3
    )
    summary["size_ratio"] = round(
        summary["mediastack_archive_bytes"] / summary["tar_archive_bytes"], 3
    )
    summary["within_goal_1_2x"] = summary["time_ratio"] <= 1.2
    return {"summary": summary, "tar_runs": tar_runs, "mediastack_runs": ours}


def _stop(signal_number: int, frame: object) -> None:
    raise SystemExit(128 + signal_number)  # so the generated tree is still removed


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    options = arguments()
    shape = TreeShape(
        files=int(options.files * options.scale),
        database_megabytes=max(1, int(options.database_mb * options.scale)),
    )
    command = shlex.join([
        "python", "bench/backup_bench.py", "--files", str(options.files), "--database-mb",
        str(options.database_mb), "--scale", str(options.scale), "--repetitions",
        str(options.repetitions),
    ])
    root = options.workdir or Path(tempfile.mkdtemp(prefix="mediastack-backup-bench-"))
    connections = []
    try:
        print(f"generating {shape.files} files and {shape.database_megabytes} MB of databases "
              f"in {root}", flush=True)
        started = time.perf_counter()
        connections = generate(root, shape)  # kept open: the WAL files stay, as with live apps
        generated = round(time.perf_counter() - started, 1)
        os.sync()
        facts = tree_facts(root)
        load_before = [round(x, 2) for x in os.getloadavg()]
        results = benchmark(root, options.repetitions)
    finally:
        for connection in connections:
            connection.close()
        shutil.rmtree(root, ignore_errors=True)
    document = {
        "benchmark": "mediastack backup vs tar --zstd, same tree, same exclusions",
        "command": command,
        "shape": {"files": shape.files, "database_megabytes": shape.database_megabytes,
                  "generated_seconds": generated, **{f"tree_{k}": v for k, v in facts.items()}},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before,
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
                    "tar": subprocess.run(["tar", "--version"], capture_output=True,
                                          text=True).stdout.splitlines()[0],
                    "zstd": subprocess.run(["zstd", "--version"], capture_output=True,
                                           text=True).stdout.strip()},
        **results,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document["summary"], indent=2))
    print(f"written to {options.output}\nreproduce with: {command}")


if __name__ == "__main__":
    main()
