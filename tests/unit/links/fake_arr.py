"""An in-memory *arr API behind ``httpx.MockTransport``, for the reconciler's unit tests: it
keeps providers, root folders, tags and quality profiles; masks secret fields on GET; resets
fields a body leaves out to the schema's defaults; refuses a duplicate name or root folder
(400 with a FluentValidation-style list, as Sonarr 4 answers); answers 401 to a wrong key.
The engine tests use the stateful stand-ins of tests/integration/standins/arr instead."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parents[2] / "fixtures" / "links"
MASK = "********"


def schema() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(
        (FIXTURES / "sonarr-downloadclient-schema-qbittorrent.json").read_text()
    )
    return loaded


@dataclass
class FakeArr:
    api_key: str = "sonarr-key"
    prefix: str = "/api/v3"
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    reads: int = 0
    warn_once: bool = False  # the next provider POST fails with warnings only

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Api-Key") != self.api_key:
            return httpx.Response(401)
        path = request.url.path.removeprefix(self.prefix).strip("/")
        if request.method == "GET":
            self.reads += 1
            return self._get(path)
        self.writes.append((request.method, request.url.path))
        body = json.loads(request.content) if request.content else None
        return self._write(request.method, path, body, "forceSave=true" in str(request.url))

    def _get(self, path: str) -> httpx.Response:
        if path == "system/status":
            return httpx.Response(200, json={"appName": "Sonarr", "version": "4.0.14"})
        if path == "downloadclient/schema":
            return httpx.Response(200, json=schema())
        if path == "config/host":
            return httpx.Response(200, json=self.resources.get("host", [{"id": 1}])[0])
        items = copy.deepcopy(self.resources.get(path, []))
        for item in items:
            for entry in item.get("fields", []):
                if entry.get("privacy") in ("password", "apiKey") and entry.get("value"):
                    entry["value"] = MASK
        return httpx.Response(200, json=items)

    def _write(self, method: str, path: str, body: Any, force: bool) -> httpx.Response:
        resource, _, identifier = path.partition("/")
        items = self.resources.setdefault(resource, [])
        if method == "DELETE":
            items[:] = [item for item in items if str(item["id"]) != identifier]
            return httpx.Response(200)
        if resource == "rootfolder":
            if any(item["path"] == body["path"] for item in items):
                return _invalid("Path", "Path is already configured as a root folder")
            stored = {"id": len(items) + 1, "path": body["path"], "accessible": True}
        elif resource == "downloadclient":
            if self.warn_once and not force:
                self.warn_once = False
                return _invalid("", "Queueing not enabled", warning=True)
            stored = self._provider(items, body, identifier)
            if isinstance(stored, httpx.Response):
                return stored
        else:
            return httpx.Response(404)
        if method == "PUT":
            items[:] = [item for item in items if str(item["id"]) != identifier]
        items.append(stored)
        return httpx.Response(201, json=stored)

    def _provider(
        self, items: list[dict[str, Any]], body: dict[str, Any], identifier: str
    ) -> dict[str, Any] | httpx.Response:
        others = [item for item in items if str(item["id"]) != identifier]
        if any(item["name"].lower() == body["name"].lower() for item in others):
            return _invalid("Name", "Should be unique")
        previous = next((item for item in items if str(item["id"]) == identifier), None)
        defaults = {entry["name"]: entry.get("value") for entry in schema()[0]["fields"]}
        sent = {entry["name"]: entry.get("value") for entry in body.get("fields", [])}
        kept = {e["name"]: e.get("value") for e in (previous or {}).get("fields", [])}
        fields = []
        for entry in schema()[0]["fields"]:
            value = sent.get(entry["name"], defaults[entry["name"]])
            if value == MASK:
                value = kept.get(entry["name"])
            fields.append({**entry, "value": value})
        stored = {**body, "fields": fields}
        stored["id"] = int(identifier) if identifier else max([0, *[i["id"] for i in items]]) + 1
        return stored


def _invalid(name: str, message: str, *, warning: bool = False) -> httpx.Response:
    return httpx.Response(
        400,
        json=[{"propertyName": name, "errorMessage": message, "severity": "warning"
               if warning else "error", "isWarning": warning}],
    )
