"""Benchmark: `update --check` (one HEAD per image) against pulling each image, same run.

What is measured, on a real engine against Debian's ``docker-registry`` on 127.0.0.1:
- registry requests per image, counted on the registry side (its access log) and by the
  client: for a check when nothing changed, for a check when some images changed, and for the
  pull that a changed image then costs (the baseline's price for every image, every time);
- wall time of the check over 25 running services (the library path ``mediastack update
  --check`` runs: the engine's containers, two batched ``docker inspect`` calls, the HEADs),
  against ``docker pull`` of each image one after another and against one parallel
  ``docker compose pull`` of the whole project; several repetitions, medians, ratios.

Everything is built locally (the stand-in image, FROM scratch + busybox-static): nothing is
pulled from a public registry. Writes bench/results/update.json and prints how to reproduce.

    python3 bench/update_bench.py [--repetitions 5] [--services 25]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY_ROOT / "tests" / "integration"))
sys.path.insert(0, str(REPOSITORY_ROOT / "src"))

from standins import build_standin_images, docker  # noqa: E402
from test_updates_registry import LocalRegistry, build_variant  # noqa: E402

from mediastack.adapters.engine import DockerEngine  # noqa: E402
from mediastack.adapters.engine_images import connect_images  # noqa: E402
from mediastack.adapters.registry import MANIFEST_PURPOSE, RegistryClient  # noqa: E402
from mediastack.catalogue import Stack  # noqa: E402
from mediastack.stack.rendered import RenderedProject, RenderedService  # noqa: E402
from mediastack.updates.check import CheckTarget, check_images, running_service_images  # noqa: E402
from mediastack.updates.model import CheckStatus  # noqa: E402

PROJECT = "msbenchupd"
RESULTS = REPOSITORY_ROOT / "bench" / "results" / "update.json"
CHANGED_FRACTION = 5  # one image in five gets a new version for the "something changed" run


def main() -> None:
    options = _options()
    with tempfile.TemporaryDirectory(prefix="mediastack-update-bench-") as folder:
        registry = LocalRegistry(Path(folder))
        registry.start()
        try:
            result = _run(registry, Path(folder), options.services, options.repetitions)
        finally:
            _compose(Path(folder) / "compose.yaml", "down", "--timeout", "1", check=False)
            registry.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote {RESULTS.relative_to(REPOSITORY_ROOT)}; reproduce with:")
    print(f"  {result['reproduce']}")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--services", type=int, default=25)
    return parser.parse_args()


def _run(registry: LocalRegistry, folder: Path, count: int, repetitions: int) -> dict[str, Any]:
    base = build_standin_images({"benchapp": 8080})["benchapp"]
    names = [f"app{index:02d}" for index in range(1, count + 1)]
    references = {name: registry.reference(f"bench/{name}", "stable") for name in names}
    for name in names:
        registry.push(base, f"bench/{name}", "stable")
    compose_file = _write_compose(folder, references)
    _compose(compose_file, "up", "--detach", "--pull", "never", "--wait")
    project = _rendered(compose_file, references)
    unchanged = _measure(registry, project, compose_file, references, repetitions)
    changed_names = names[::CHANGED_FRACTION]
    newer = build_variant(base, "msbenchupd-build/app:v2", "RUN echo v2 > /version")
    for name in changed_names:
        registry.push(newer, f"bench/{name}", "stable", keep_local=False)
    # Gone from the engine too, so pulling it costs what a real new version costs.
    newer_id = docker("image", "inspect", "--format", "{{.Id}}", newer).stdout.strip()
    docker("image", "rm", "--force", newer_id)
    changed = _changed_check(registry, project, changed_names)
    pull_cost = _pull_cost(registry, references[changed_names[0]])
    return _report(count, repetitions, unchanged, changed, pull_cost)


def _write_compose(folder: Path, references: dict[str, str]) -> Path:
    document = {
        "name": PROJECT,
        "services": {
            name: {"image": reference, "pull_policy": "missing"}
            for name, reference in references.items()
        },
    }
    path = folder / "compose.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _compose(compose_file: Path, *arguments: str, check: bool = True) -> None:
    subprocess.run(
        ["docker", "compose", "-p", PROJECT, "-f", str(compose_file), *arguments],
        check=check,
        capture_output=True,
        timeout=600,
    )


def _rendered(compose_file: Path, references: dict[str, str]) -> RenderedProject:
    services = tuple(RenderedService(name, ref, None, None) for name, ref in references.items())
    return RenderedProject(Stack.MEDIA, PROJECT, compose_file, services)


def _check(project: RenderedProject) -> tuple[float, list[Any], int, int]:
    """Run the check once with a fresh client; return seconds, results, client requests and
    manifest HEADs."""
    started = time.perf_counter()
    with RegistryClient() as client:
        images = running_service_images(
            [CheckTarget(project, {})],
            DockerEngine.connect(),
            connect_images(os.environ),
        )
        results = check_images(images, client.manifest_digest)
        elapsed = time.perf_counter() - started
        return (
            elapsed,
            results,
            client.requests.count(),
            client.requests.count(MANIFEST_PURPOSE, "HEAD"),
        )


def _measure(
    registry: LocalRegistry,
    project: RenderedProject,
    compose_file: Path,
    references: dict[str, str],
    repetitions: int,
) -> dict[str, Any]:
    check_times, per_image, pull_times, compose_times, pull_requests = [], [], [], [], []
    for _ in range(repetitions):
        registry.mark()
        elapsed, results, client_requests, heads = _check(project)
        logged = registry.requests()
        assert all(result.status == CheckStatus.UP_TO_DATE for result in results), results
        check_times.append(elapsed)
        per_image.append(len(logged) / len(references))
        assert client_requests == heads == len(logged) == len(references), logged
        registry.mark()
        pull_times.append(_timed(lambda: _pull_each(references)))
        pull_requests.append(len(registry.requests()) / len(references))
        compose_times.append(_timed(lambda: _compose(compose_file, "pull", "--quiet")))
    return {
        "check_seconds": check_times,
        "check_requests_per_image": per_image,
        "pull_each_seconds": pull_times,
        "pull_each_requests_per_image": pull_requests,
        "compose_pull_seconds": compose_times,
    }


def _pull_each(references: dict[str, str]) -> None:
    for reference in references.values():
        docker("pull", "--quiet", reference, timeout=120)


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _changed_check(
    registry: LocalRegistry, project: RenderedProject, changed: list[str]
) -> dict[str, Any]:
    registry.mark()
    elapsed, results, client_requests, heads = _check(project)
    logged = registry.requests()
    outdated = sorted(r.service for r in results if r.status == CheckStatus.OUTDATED)
    assert outdated == sorted(changed), outdated
    return {
        "seconds": elapsed,
        "outdated": len(outdated),
        "registry_requests": len(logged),
        "requests_per_image": len(logged) / len(results),
        "get_requests": sum(1 for entry in logged if entry.method == "GET"),
        "client_requests": client_requests,
        "manifest_heads": heads,
    }


def _pull_cost(registry: LocalRegistry, reference: str) -> dict[str, Any]:
    """Pull one changed image and count what the registry served for it."""
    registry.mark()
    docker("pull", "--quiet", reference, timeout=120)
    logged = registry.requests()
    return {
        "requests": len(logged),
        "get_requests": sum(1 for entry in logged if entry.method == "GET"),
        "paths": sorted({f"{entry.method} {entry.path.split('/')[-2]}" for entry in logged}),
    }


def _report(
    count: int,
    repetitions: int,
    unchanged: dict[str, Any],
    changed: dict[str, Any],
    pull_cost: dict[str, Any],
) -> dict[str, Any]:
    check = statistics.median(unchanged["check_seconds"])
    pull_each = statistics.median(unchanged["pull_each_seconds"])
    compose_pull = statistics.median(unchanged["compose_pull_seconds"])
    summary = {
        "services": count,
        "repetitions": repetitions,
        "check_median_seconds": round(check, 3),
        "pull_each_median_seconds": round(pull_each, 3),
        "compose_pull_median_seconds": round(compose_pull, 3),
        "pull_each_over_check": round(pull_each / check, 1),
        "compose_pull_over_check": round(compose_pull / check, 1),
        "check_requests_per_image_unchanged": statistics.median(
            unchanged["check_requests_per_image"]
        ),
        "pull_requests_per_image_unchanged": statistics.median(
            unchanged["pull_each_requests_per_image"]
        ),
        "check_requests_per_image_changed": changed["requests_per_image"],
        "check_get_requests_changed": changed["get_requests"],
        "pull_requests_per_changed_image": pull_cost["requests"],
    }
    return {
        "benchmark": "update check (HEAD) vs pulling each image",
        "summary": summary,
        "unchanged": unchanged,
        "changed": changed,
        "pull_of_a_changed_image": pull_cost,
        "environment": _environment(),
        "reproduce": f"python3 bench/update_bench.py --repetitions {repetitions} "
        f"--services {count}",
    }


def _environment() -> dict[str, str]:
    def output(*command: str) -> str:
        found = subprocess.run(command, capture_output=True, text=True, check=False)
        return found.stdout.strip()

    return {
        "engine": output("docker", "version", "--format", "{{.Server.Version}}"),
        "compose": output("docker", "compose", "version", "--short"),
        "registry": output("docker-registry", "--version"),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


if __name__ == "__main__":
    main()
