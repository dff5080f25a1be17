"""The Servarr provider endpoints (download clients, indexers, Prowlarr's applications and
indexer proxies): list, schema, get, create, update, delete, test.

Follows Sonarr v4.0.19.2979 ``src/Sonarr.Api.V3/ProviderControllerBase.cs`` and
``ProviderResource.cs`` (Radarr 6 and Prowlarr 2 share them):
- name not empty and unique ignoring case ("Should be unique"), implementation and
  configContract not empty: always checked;
- the settings validator and the provider test run only when the definition is enabled;
- POST: when enabled, validate and test; warnings refuse unless ``?forceSave=true``
  (errors always do); 201 with the resource;
- PUT: 404 for an unknown id; the test runs only when enabled, not forceSave, and something
  changed; 202 with the resource;
- POST /test: validation and test whatever ``enable`` says (forceTest skips warnings only);
- GET: ordered by name, private fields masked.
Simplified: an unknown implementation is a 400 validation failure on ``Implementation``
(the real app fails to resolve the settings type); no bulk endpoints, no presets.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .schema import Failures, Implementation, not_empty, read_from_schema, to_schema
from .store import Store
from .web import ApiError, App, Request, Response, ValidationFailed, failure, json_response

ENUMS: dict[str, tuple[str, ...]] = {
    "protocol": ("unknown", "usenet", "torrent"),
    "syncLevel": ("disabled", "addOnly", "fullSync"),
}


@dataclass(frozen=True)
class ProviderKind:
    """One provider endpoint: its resource's own keys with their C# defaults (what a key
    left out of a request becomes), its template values for GET /schema, and which
    definitions count as enabled."""

    route: str
    kind: str
    implementations: tuple[Implementation, ...]
    resource_defaults: dict[str, Any]
    template: dict[str, Any]
    is_enabled: Callable[[dict[str, Any]], bool]

    def implementation(self, name: Any) -> Implementation | None:
        for candidate in self.implementations:
            if isinstance(name, str) and candidate.implementation.lower() == name.lower():
                return candidate
        return None


def register(app: App, store: Store, provider: ProviderKind) -> None:
    """Add the provider endpoints under ``provider.route`` (e.g. /api/v3/downloadclient)."""
    base = re.escape(provider.route)

    @app.route("GET", base)
    def list_all(request: Request, match: re.Match[str]) -> Response:
        items = sorted(store.all(provider.kind), key=lambda item: item["name"].lower())
        return json_response(200, [_resource(provider, item) for item in items])

    @app.route("GET", base + "/schema")
    def schema(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, [_template(provider, found)
                                   for found in provider.implementations])

    @app.route("GET", base + r"/(\d+)")
    def get_one(request: Request, match: re.Match[str]) -> Response:
        return json_response(200, _resource(provider, _existing(store, provider, match)))

    @app.route("POST", base)
    def create(request: Request, match: re.Match[str]) -> Response:
        definition = _definition(store, provider, request.json(), None)
        force = request.flag("forceSave")
        if provider.is_enabled(definition):
            _verify(_validate(provider, definition), not force)
            _verify(_test(provider, definition, store), not force)
        return json_response(201, _resource(provider, store.insert(provider.kind, definition)))

    @app.route("PUT", base + r"(?:/(\d+))?")
    def update(request: Request, match: re.Match[str]) -> Response:
        body = request.json()
        identifier = match.group(1) or (body or {}).get("id")
        existing = store.get(provider.kind, int(identifier or 0))
        if existing is None:
            raise ApiError(404)
        definition = {**_definition(store, provider, body, existing), "id": existing["id"]}
        force = request.flag("forceSave")
        changed = definition != existing
        if provider.is_enabled(definition):
            _verify(_validate(provider, definition), not force)
            if changed and not force:
                _verify(_test(provider, definition, store), True)
        if changed:
            store.replace(provider.kind, definition)
        return json_response(202, _resource(provider, definition))

    @app.route("DELETE", base + r"/(\d+)")
    def delete(request: Request, match: re.Match[str]) -> Response:
        store.delete(provider.kind, int(match.group(1)))
        return json_response(200, {})

    @app.route("POST", base + "/test")
    def test(request: Request, match: re.Match[str]) -> Response:
        body = request.json() or {}
        existing = store.get(provider.kind, int(body.get("id") or 0))
        definition = _definition(store, provider, body, existing, check_name=False)
        include_warnings = not request.flag("forceTest")
        _verify(_validate(provider, definition), include_warnings)
        _verify(_test(provider, definition, store), True)
        return json_response(200, "{}")


def _existing(store: Store, provider: ProviderKind, match: re.Match[str]) -> dict[str, Any]:
    found = store.get(provider.kind, int(match.group(1)))
    if found is None:
        raise ApiError(404, {"message": "NotFound"})
    return found


def _definition(
    store: Store,
    provider: ProviderKind,
    body: Any,
    existing: dict[str, Any] | None,
    check_name: bool = True,
) -> dict[str, Any]:
    """ProviderResourceMapper.ToModel plus the shared resource validators."""
    if not isinstance(body, dict):
        raise ApiError(400, {"message": "A resource object is required"})
    problems: Failures = []
    name = body.get("name")
    if check_name:
        problems += not_empty("Name", name)
        others = [item for item in store.all(provider.kind)
                  if existing is None or item["id"] != existing["id"]]
        if isinstance(name, str) and any(item["name"].lower() == name.lower()
                                         for item in others):
            problems.append(failure("Name", "Should be unique", attempted=name))
    problems += not_empty("Implementation", body.get("implementation"))
    problems += not_empty("ConfigContract", body.get("configContract"))
    if existing is None and check_name and body.get("fields") is None:
        problems.append(failure("Fields", "'Fields' must not be empty."))
    implementation = provider.implementation(body.get("implementation"))
    if implementation is None and body.get("implementation"):
        problems.append(failure("Implementation",
                                f"Unknown implementation '{body.get('implementation')}'"))
    if problems:
        raise ValidationFailed(problems)
    assert implementation is not None
    previous = existing["settings"] if existing else None
    definition: dict[str, Any] = {
        "name": name,
        "implementation": implementation.implementation,
        "implementationName": implementation.implementation_name,
        "configContract": implementation.config_contract,
        "tags": sorted({int(tag) for tag in body.get("tags") or []}),
        "settings": read_from_schema(implementation, body.get("fields"), previous),
    }
    for key, default in provider.resource_defaults.items():
        definition[key] = _enum_value(key, body.get(key, copy.deepcopy(default)))
    definition.update(copy.deepcopy(implementation.fixed))
    if existing is not None:
        definition["id"] = existing["id"]
    return definition


def _enum_value(key: str, value: Any) -> Any:
    """Enums travel as camelCase names; names match case-insensitively, numbers by index
    (System.Text.Json's JsonStringEnumConverter); anything else is a 400."""
    names = ENUMS.get(key)
    if names is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    for name in names:
        if isinstance(value, str) and value.lower() == name.lower():
            return name
    raise ApiError(400, {"message": f"The JSON value could not be converted: {key}={value!r}"})


def _validate(provider: ProviderKind, definition: dict[str, Any]) -> Failures:
    implementation = provider.implementation(definition["implementation"])
    assert implementation is not None
    return implementation.validate(definition["settings"])


def _test(provider: ProviderKind, definition: dict[str, Any], store: Store) -> Failures:
    implementation = provider.implementation(definition["implementation"])
    assert implementation is not None
    return implementation.test(definition["settings"], definition)


def _verify(failures: Failures, include_warnings: bool) -> None:
    """VerifyValidationResult: with warnings included any failure refuses; else errors do."""
    errors = [item for item in failures if not item["isWarning"]]
    if errors or (include_warnings and failures):
        raise ValidationFailed(failures if include_warnings else errors)


def _resource(provider: ProviderKind, definition: dict[str, Any]) -> dict[str, Any]:
    implementation = provider.implementation(definition["implementation"])
    assert implementation is not None
    resource = {
        "id": definition["id"],
        "name": definition["name"],
        "fields": to_schema(implementation, definition["settings"]),
        "implementationName": implementation.implementation_name,
        "implementation": implementation.implementation,
        "configContract": implementation.config_contract,
        "infoLink": implementation.info_link,
        "tags": definition["tags"],
    }
    for key in provider.resource_defaults:
        resource[key] = definition.get(key)
    return resource


def _template(provider: ProviderKind, implementation: Implementation) -> dict[str, Any]:
    template = {
        "id": 0,
        "fields": to_schema(implementation, implementation.defaults()),
        "implementationName": implementation.implementation_name,
        "implementation": implementation.implementation,
        "configContract": implementation.config_contract,
        "infoLink": implementation.info_link,
        "tags": [],
        "presets": [],
    }
    for key, default in provider.resource_defaults.items():
        template[key] = provider.template.get(key, default)
    template.update(implementation.template)
    template.update(implementation.fixed)
    return template
