"""Start the stand-in named by ``APP`` (sonarr, radarr, prowlarr, bazarr) on ``PORT``.

Started as root it does what the linuxserver images' init does (``init-adduser``, then
``s6-setuidgid abc``): ``/config`` is given to ``PUID:PGID`` (default 911) and the app runs as
that user, named ``abc``, so "writable by the app user" means what it means there. Started
with compose ``user:`` it runs as that user. ``UMASK`` is applied.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import bazarr, prowlarr, servarr
from .common import api_key
from .store import Store
from .web import App, Counters, serve

DEFAULT_PORTS = {"sonarr": 8989, "radarr": 7878, "prowlarr": 9696, "bazarr": 6767}
CONFIG = Path("/config")


def drop_privileges() -> None:
    """As root: chown /config to PUID:PGID and become that user (linuxserver's way)."""
    os.umask(int(os.environ.get("UMASK", "022"), 8))
    if os.getuid() != 0:
        return
    uid, gid = int(os.environ.get("PUID", "911")), int(os.environ.get("PGID", "911"))
    # linuxserver's init-adduser (usermod abc to PUID/PGID); once: a restart keeps /etc.
    if "\nabc:" not in "\n" + Path("/etc/passwd").read_text():
        with open("/etc/passwd", "a") as passwd:
            passwd.write(f"abc:x:{uid}:{gid}:abc:/config:/bin/false\n")
        with open("/etc/group", "a") as group:
            group.write(f"abc:x:{gid}:\n")
    for folder, _, files in os.walk(CONFIG):
        os.chown(folder, uid, gid)
        for name in files:
            os.chown(os.path.join(folder, name), uid, gid)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.environ["HOME"] = str(CONFIG)


def build(name: str, store: Store, counters: Counters) -> App:
    if name == "bazarr":
        return bazarr.build(store, counters)
    if name == "prowlarr":
        return prowlarr.build(store, counters, api_key(store, "PROWLARR__AUTH__APIKEY"))
    flavour = servarr.SONARR if name == "sonarr" else servarr.RADARR
    return servarr.build(flavour, store, counters,
                         api_key(store, f"{flavour.env_prefix}__AUTH__APIKEY"))


def main() -> None:
    name = os.environ.get("APP", "").lower()
    if name not in DEFAULT_PORTS:
        sys.exit(f"APP must be one of {', '.join(DEFAULT_PORTS)} (got {name!r})")
    port = int(os.environ.get("PORT") or DEFAULT_PORTS[name])
    os.environ["PORT"] = str(port)
    CONFIG.mkdir(parents=True, exist_ok=True)
    drop_privileges()
    counters = Counters()
    app = build(name, Store(CONFIG), counters)
    print(f"{app.name} stand-in listening on :{port}", flush=True)
    serve(app, counters, port)


main()
