"""The idle supervisor's footprint (issue 3: at most 45 MB RSS): what it must not import.

Measured in a fresh interpreter (a subprocess), so this test process's own imports do not
count: the console script's entry module, then the daemon built for a config with every
default (port sync, update and backup schedules on), through the real wiring, with a fake
engine and compose check (no engine needed). What each library costs is in bench/README.md,
"Supervisor: idle footprint".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mediastack
from support.ntfy_receiver import NtfyReceiver

SOURCE_ROOT = Path(mediastack.__file__).resolve().parents[1]
NEVER_IN_THE_DAEMON = (
    "typer",  # the CLI framework: the daemon starts without it (cli.daemon_arguments)
    "rich",
    "click",
    "docker",  # the SDK and requests: the daemon has its own engine client
    "requests",
    "urllib3",
    "ssl",  # 4 MB of OpenSSL; nothing the idle daemon does needs it
    "_hashlib",  # OpenSSL's libcrypto, 3.6 MB: through secrets, hmac or hashlib
    "httpx",  # the jobs' clients: each job run is a child process
    "httpcore",
    "qbittorrentapi",
    "apprise",  # each notification is sent by a child process
    "zstandard",
    "mediastack.cli.app",
    "mediastack.portsync",
    # The status pages list the archives (backup.catalog, naming, verify_record): not these.
    "mediastack.backup.run",
    "mediastack.backup.verify",
    "mediastack.backup.archive_reader",
    "mediastack.backup.archive_writer",
    "mediastack.backup.restore",
    "prometheus_client",  # loaded by the first scrape of /metrics, not before
    "mediastack.links",  # wire's reconciler and its API models: each run is a child process
    "mediastack.updates.pipeline",
    "mediastack.adapters.gluetun",
    "mediastack.adapters.qbittorrent",
    "mediastack.adapters.registry",
)

BUILD_THE_DAEMON = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import mediastack.cli.main  # the console script's module, as `mediastack supervise` runs it
    from mediastack.cli import supervise_daemon  # what its lean path imports
    from mediastack.adapters.fakes import FakeEngine
    from mediastack.config import load_config
    from mediastack.supervisor.runtime import wiring


    class FakeAccess:
        def __init__(self):
            engine = FakeEngine()
            self.surveyor = self.recreator = engine
            self.starter = self.restarter = self
            self.events = self

        def start(self, container_id): pass
        def restart(self, container_id): pass
        def open(self): raise OSError("no engine in this test")


    wiring.require_compose = lambda executor: None
    wiring.connect_engine = lambda environment: FakeAccess()
    folder = Path(sys.argv[1])
    supervision = wiring.build_supervision(load_config(folder / "mediastack.yaml"))
    jobs = supervision.daemon._parts.jobs
    print(json.dumps({
        "modules": sorted(sys.modules),
        "jobs": [
            name for name in ("portsync", "updates", "backups", "wire", "listener")
            if getattr(jobs, name)
        ],
    }))
    """
)


def built_daemon(
    folder: Path,
    config: str = "name: home\n",
    script: str = BUILD_THE_DAEMON,
    notify_urls: str | None = None,
) -> dict[str, list[str]]:
    """Run ``script`` (default: build the daemon for ``config``) in a fresh interpreter, with
    ``notify_urls`` as the notification URLs (none by default); return its modules and jobs."""
    (folder / "mediastack.yaml").write_text(config)
    environment = {**os.environ, "PYTHONPATH": str(SOURCE_ROOT)}
    environment.pop("MEDIASTACK_NOTIFY_URLS", None)
    if notify_urls is not None:
        environment["MEDIASTACK_NOTIFY_URLS"] = notify_urls
    completed = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, list[str]] = json.loads(completed.stdout.splitlines()[-1])
    return result


def loaded(modules: list[str], prefix: str) -> list[str]:
    return [name for name in modules if name == prefix or name.startswith(f"{prefix}.")]


def test_the_daemon_with_every_default_job_loads_none_of_the_heavy_libraries(
    tmp_path: Path,
) -> None:
    built = built_daemon(tmp_path)
    # The defaults: all on, the listener serving the status pages.
    assert built["jobs"] == ["portsync", "updates", "backups", "wire", "listener"]
    heavy = {name: loaded(built["modules"], name) for name in NEVER_IN_THE_DAEMON}
    assert {name: found for name, found in heavy.items() if found} == {}


def test_only_the_schedules_need_croniter(tmp_path: Path) -> None:
    config = "name: home\nupdates:\n  scheduled: false\nbackups:\n  scheduled: false\n"
    assert "croniter" not in built_daemon(tmp_path, config)["modules"]


@pytest.mark.parametrize("module", ["mediastack.supervisor.runtime.job_child"])
def test_the_job_child_module_itself_is_light(module: str) -> None:
    """The child imports its job's libraries inside the job's function, so the daemon side
    (and these tests) can import the module."""
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(SOURCE_ROOT)},
        check=True,
    )
    modules = json.loads(completed.stdout)
    assert not [name for name in ("httpx", "qbittorrentapi", "docker") if name in modules]


SEND_ONE_NOTIFICATION = BUILD_THE_DAEMON.replace(
    "jobs = supervision.daemon._parts.jobs\n",
    textwrap.dedent(
        """
        from mediastack.notify import Notification

        notifier = supervision.daemon._parts.notifier
        notifier.put(Notification("gluetun restarted", "healing its dependents"))
        notifier.close(60)
        jobs = supervision.daemon._parts.jobs
        """
    ),
)


def test_a_notification_sent_leaves_apprise_out_of_the_daemon(tmp_path: Path) -> None:
    """After its first notification the daemon still holds no Apprise (its child sent it)."""
    assert SEND_ONE_NOTIFICATION != BUILD_THE_DAEMON
    with NtfyReceiver() as receiver:
        built = built_daemon(tmp_path, script=SEND_ONE_NOTIFICATION, notify_urls=receiver.url("a"))
        [message] = receiver.wait_for(1, 30)
    assert message.title == "gluetun restarted"
    modules = built["modules"]
    assert loaded(modules, "apprise") == [] and loaded(modules, "requests") == []
