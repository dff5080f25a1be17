"""The *arr apps' other links: root folders, tags, Prowlarr's indexer tags, the login user,
and Recyclarr's quality profiles (a sync once Sonarr and Radarr are wired).

Checked against Sonarr 4 and Radarr 6 (API v3) and Prowlarr 2 (API v1):
- ``POST /api/v3/rootfolder {"path"}``: the folder must exist and be writable by the app,
  a path already listed is refused (``RootFolderValidator``); made on disk first here.
- ``POST /api/v{3,1}/tag {"label"}``: labels are stored lowercase and unique.
- Prowlarr's indexer proxies apply only to indexers sharing one of their tags
  (``IndexerProxyService``): an indexer with no tag at all is given the FlareSolverr tag (it
  is new: a user who tagged it chose for it, and keeps that).
- ``GET /api/v3/config/host``, ``PUT /api/v3/config/host/{id}``: the whole resource, with
  ``username``, ``password`` and ``passwordConfirmation`` for Forms login.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mediastack.links.link import Action, Context, Inspection, LinkStatus, broken, ok, waiting
from mediastack.links.model import ApiObject, Provider, QualityProfile, Request, RootFolder
from mediastack.links.providers import tag_ids

CONTAINER_DATA = PurePosixPath("/data")
RECYCLARR_SYNC_SECONDS = 300.0


@dataclass(frozen=True)
class RootFolderLink:
    """``path`` (as the app sees it, under /data) is one of ``app``'s root folders."""

    app: str
    path: str
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.app}:rootfolder:{self.path}"

    @property
    def title(self) -> str:
        return f"root folder {self.path}"

    def inspect(self, context: Context) -> Inspection:
        folders = [RootFolder.model_validate(item) for item in context.api(self.app).get(
            "/api/v3/rootfolder"
        )]
        found = next((folder for folder in folders if _same_path(folder.path, self.path)), None)
        if found is not None:
            if not found.accessible:
                return broken(f"{self.app} cannot reach {self.path} (is data/ mounted?)")
            return ok()
        request = Request(self.app, "POST", "/api/v3/rootfolder", {"path": self.path})
        actions = self._make_folder(context)
        return Inspection(LinkStatus.MISSING, f"{self.path} is not a root folder", (request,),
                          actions)

    def _make_folder(self, context: Context) -> tuple[Action, ...]:
        if context.data_folder is None:
            return ()
        relative = PurePosixPath(self.path).relative_to(CONTAINER_DATA)
        host = context.data_folder / Path(*relative.parts)
        if host.is_dir():
            return ()
        owner = context.owner
        return (Action(f"create {host}", lambda: _make_owned(host, owner), before_requests=True),)


def _same_path(first: str, second: str) -> bool:
    return first.rstrip("/") == second.rstrip("/")


def _make_owned(folder: Path, owner: tuple[int, int] | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if owner is not None and os.geteuid() == 0:
        os.chown(folder, *owner)


@dataclass(frozen=True)
class TagLink:
    """A tag ``label`` exists in ``app``."""

    app: str
    label: str
    path: str = "/api/v3/tag"
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.app}:tag:{self.label}"

    @property
    def title(self) -> str:
        return f"tag {self.label}"

    def inspect(self, context: Context) -> Inspection:
        ids = tag_ids(context, self.app, self.path, [self.label])
        if isinstance(ids[0], int):
            return ok()
        request = Request(self.app, "POST", self.path, {"label": self.label})
        return Inspection(LinkStatus.MISSING, f"no tag {self.label}", (request,))


@dataclass(frozen=True)
class UntaggedIndexersLink:
    """Every Prowlarr indexer without tags carries ``label`` (so the proxy applies to it)."""

    app: str
    label: str
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.app}:indexer-tags:{self.label}"

    @property
    def title(self) -> str:
        return f"new indexers tagged {self.label}"

    def inspect(self, context: Context) -> Inspection:
        api = context.api(self.app)
        indexers = [Provider.model_validate(item) for item in api.get("/api/v1/indexer")]
        tag = tag_ids(context, self.app, "/api/v1/tag", [self.label])[0]
        untagged = [indexer for indexer in indexers if not indexer.tags]
        if not untagged:
            return ok(f"{len(indexers)} indexer(s)" if indexers else "no indexers yet")
        requests = []
        for indexer in untagged:
            body = indexer.body()
            body["tags"] = [tag]
            # forceSave: a tag changes nothing the indexer's test checks, and an indexer whose
            # test fails (a tracker behind Cloudflare: FlareSolverr's very case) still gets it.
            path = f"/api/v1/indexer/{indexer.id}?forceSave=true"
            requests.append(Request(self.app, "PUT", path, body))
        names = ", ".join(indexer.name or str(indexer.id) for indexer in untagged)
        return Inspection(
            LinkStatus.MISSING, f"tagging {names} {self.label} (FlareSolverr applies)",
            tuple(requests),
        )


@dataclass(frozen=True)
class LoginLink:
    """``app``'s web UI asks for ``username`` (Forms login) with the password from .env."""

    app: str
    api_path: str
    username: str
    password: str = field(repr=False)
    needs: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.app}:login"

    @property
    def title(self) -> str:
        return f"login user {self.username}"

    def inspect(self, context: Context) -> Inspection:
        answer = context.api(self.app).get(f"{self.api_path}/config/host")
        current = ApiObject.model_validate(answer)
        values: dict[str, Any] = current.model_dump(mode="json")
        user = values.get("username")
        if user:
            # A log-in exists: the user's (or ours): never replaced, so a name chosen in the
            # web UI stays. Only an app without any log-in user gets ours.
            return ok("" if user == self.username else f"log-in user {user!r} is yours: kept")
        body = {**values, "authenticationMethod": "forms", "username": self.username,
                "password": self.password, "passwordConfirmation": self.password}
        path = f"{self.api_path}/config/host/{values.get('id', 1)}"
        request = Request(self.app, "PUT", path, body, secrets=(self.password,))
        return Inspection(LinkStatus.MISSING, "no log-in user", (request,))


@dataclass(frozen=True)
class QualityProfilesLink:
    """Recyclarr's profiles exist in Sonarr and Radarr; when one is missing, one
    ``recyclarr sync`` (it needs both apps answering, so it comes after their links)."""

    profiles: dict[str, tuple[str, ...]]  # app -> profile names
    needs: tuple[str, ...] = ()
    app: str = "recyclarr"
    reads: tuple[str, ...] = ("sonarr", "radarr")

    @property
    def key(self) -> str:
        return "recyclarr:profiles"

    @property
    def title(self) -> str:
        return "TRaSH quality profiles"

    def inspect(self, context: Context) -> Inspection:
        missing = []
        for app, names in self.profiles.items():
            present = {
                QualityProfile.model_validate(item).name
                for item in context.api(app).get("/api/v3/qualityprofile")
            }
            missing += [f"{app}: {name}" for name in names if name not in present]
        if not missing:
            return ok()
        if context.runner is None:
            return waiting(f"missing {', '.join(missing)}; run `mediastack wire` on the host")
        runner = context.runner
        action = Action(
            "recyclarr sync",
            lambda: runner.run_in("recyclarr", ["recyclarr", "sync"], RECYCLARR_SYNC_SECONDS),
        )
        return Inspection(LinkStatus.MISSING, f"missing {', '.join(missing)}", (), (action,))

