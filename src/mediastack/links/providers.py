"""Providers (download clients, Prowlarr's applications and indexer proxies) as links: the
pure comparison and the whole-resource bodies, then ``ProviderLink`` which reads the app.

The *arr apps' rules (Sonarr 4 ``src/Sonarr.Api.V3/ProviderControllerBase.cs``, the same in
Radarr 6 and Prowlarr 2): a POST or PUT deserialises the whole resource, so a field left out
is reset to its default: bodies start from the app's own ``/schema`` template (POST) or from
the current resource (PUT) and only mediastack's fields are replaced. Secret fields come back
as ``********``: they are never compared; sending ours rewrites them. Tags are only ever
added: the user's stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mediastack.links.link import Context, Inspection, LinkStatus, broken, ok
from mediastack.links.model import MASKED, Provider, Request, Tag

NEW_TAG = "<id of the new tag {label}>"


@dataclass(frozen=True)
class ProviderSpec:
    """A provider mediastack wants in ``app`` at ``resource`` (``/api/v3/downloadclient``),
    named ``name``. ``compared`` top-level properties are checked and set; ``on_create`` ones
    are only set when it is made (the user may change them afterwards)."""

    app: str
    resource: str
    name: str
    implementation: str
    config_contract: str
    fields: Mapping[str, Any]
    compared: Mapping[str, Any] = field(default_factory=dict)
    on_create: Mapping[str, Any] = field(default_factory=dict)
    tag_labels: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)


def find_by_name(providers: Sequence[Provider], name: str) -> Provider | None:
    """Return the provider named ``name`` (case-insensitively, as the apps compare), or None."""
    wanted = name.casefold()
    return next((item for item in providers if (item.name or "").casefold() == wanted), None)


def differences(current: Provider, spec: ProviderSpec, tag_ids: Sequence[int | str]) -> list[str]:
    """Return what differs, one phrase each (empty: none). Secret fields are not compared
    (the app masks them), nor fields this app's version does not have."""
    found: list[str] = []
    fields = {entry.name: entry for entry in current.fields}
    for name, wanted in spec.fields.items():
        entry = fields.get(name)
        if entry is None or entry.is_secret or entry.value == MASKED:
            continue
        if entry.value != wanted:
            found.append(f"{name} is {entry.value!r}, not {wanted!r}")
    extra = current.model_extra or {}
    for name, wanted in spec.compared.items():
        if extra.get(name) != wanted:
            found.append(f"{name} is {extra.get(name)!r}, not {wanted!r}")
    missing_tags = [tag for tag in tag_ids if tag not in current.tags]
    if missing_tags:
        found.append(f"tag {', '.join(spec.tag_labels)} is not set")
    return found


def merged_body(
    base: Provider, spec: ProviderSpec, tag_ids: Sequence[int | str], creating: bool
) -> dict[str, Any]:
    """Return ``base``'s whole body with mediastack's name, fields, properties and tags set."""
    body = base.body()
    body["name"] = spec.name
    body["implementation"] = spec.implementation
    body["configContract"] = spec.config_contract
    for entry in body.get("fields", []):
        if entry.get("name") in spec.fields:
            entry["value"] = spec.fields[entry["name"]]
    body.update(spec.compared)
    if creating:
        body.update(spec.on_create)
        body.pop("id", None)
    tags = list(body.get("tags") or [])
    body["tags"] = tags + [tag for tag in tag_ids if tag not in tags]
    return body


def tag_ids(context: Context, app: str, tag_path: str, labels: Sequence[str]) -> list[int | str]:
    """Return each label's tag id in ``app`` (a placeholder for one not made yet: dry run)."""
    if not labels:
        return []
    tags = [Tag.model_validate(item) for item in context.api(app).get(tag_path)]
    by_label = {tag.label.casefold(): tag.id for tag in tags}
    return [by_label.get(label.casefold(), NEW_TAG.format(label=label)) for label in labels]


@dataclass(frozen=True)
class ProviderLink:
    """``spec`` in its app: made from the schema when missing, PUT whole when it drifted."""

    spec: ProviderSpec
    title: str
    needs: tuple[str, ...] = ()
    tag_path: str = "/api/v3/tag"

    @property
    def app(self) -> str:
        return self.spec.app

    @property
    def key(self) -> str:
        return f"{self.spec.app}:{self.spec.resource}:{self.spec.name}"

    def inspect(self, context: Context) -> Inspection:
        api = context.api(self.app)
        current = [Provider.model_validate(item) for item in api.get(self.spec.resource)]
        tags = tag_ids(context, self.app, self.tag_path, self.spec.tag_labels)
        found = find_by_name(current, self.spec.name)
        if found is None:
            return self._create(context, tags)
        if found.implementation != self.spec.implementation:
            return broken(
                f"{self.spec.name!r} in {self.app} is a {found.implementation or 'different'} "
                f"one, not mediastack's {self.spec.implementation} (yours? it is left alone): "
                f"rename it in {self.app} and mediastack adds its own"
            )
        drift = differences(found, self.spec, tags)
        if self.spec.secrets and context.secrets.differs(self.key, self.spec.secrets):
            drift.append("its password or API key in .env changed")
        if not drift:
            context.secrets.remember(self.key, self.spec.secrets)
            return ok()
        body = merged_body(found, self.spec, tags, creating=False)
        request = self._request("PUT", f"{self.spec.resource}/{found.id}", body)
        return Inspection(LinkStatus.DRIFTED, "; ".join(drift), (request,))

    def _create(self, context: Context, tags: Sequence[int | str]) -> Inspection:
        schema = context.api(self.app).get(f"{self.spec.resource}/schema")
        templates = [Provider.model_validate(item) for item in schema]
        template = next(
            (item for item in templates if item.implementation == self.spec.implementation), None
        )
        if template is None:
            return broken(
                f"{self.app} offers no {self.spec.implementation} "
                f"(its {self.spec.resource}/schema lists "
                f"{', '.join(sorted({item.implementation for item in templates})) or 'nothing'})"
            )
        body = merged_body(template, self.spec, tags, creating=True)
        request = self._request("POST", self.spec.resource, body)
        return Inspection(LinkStatus.MISSING, f"no {self.spec.name}", (request,))

    def _request(self, method: str, path: str, body: dict[str, Any]) -> Request:
        return Request(self.app, method, path, body, secrets=self.spec.secrets)
