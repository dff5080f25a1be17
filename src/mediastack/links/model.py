"""The apps' API objects, parsed where they enter (``extra="allow"``: each release adds fields,
and a PUT must send back every field it got), and the requests ``wire`` sends.

Shapes read from Sonarr's sources (v4.0 branch ``develop``, ``src/Sonarr.Http/ClientSchema/
Field.cs``, ``src/Sonarr.Api.V3/ProviderResource.cs``, ``RootFolders/RootFolderResource.cs``,
``Tags/TagResource.cs``); Radarr 6 and Prowlarr 2 share them (their ``ProviderResource.cs``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MASKED = "********"
"""What the *arr apps answer for a field whose ``privacy`` is password or apiKey; sent back,
it keeps the stored value (``ProviderControllerBase``: ``GetDefinition`` skips it)."""
SECRET_PRIVACY = frozenset({"password", "apiKey"})


class ApiObject(BaseModel):
    """Any object an app answers: unknown fields are kept, to be sent back unchanged."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ProviderField(ApiObject):
    """One ``fields`` entry of a provider (download client, application, indexer proxy)."""

    name: str
    value: Any = None
    privacy: str = "normal"

    @property
    def is_secret(self) -> bool:
        return self.privacy in SECRET_PRIVACY


class Provider(ApiObject):
    """A provider resource: ``{id, name, implementation, configContract, fields, tags, ...}``."""

    id: int = 0
    name: str | None = None
    implementation: str = ""
    config_contract: str = Field("", alias="configContract")
    fields: list[ProviderField] = []
    tags: list[int] = []

    def field_values(self) -> dict[str, Any]:
        return {entry.name: entry.value for entry in self.fields}

    def body(self) -> dict[str, Any]:
        """Return the whole resource as the API takes it back (every field it sent)."""
        return self.model_dump(mode="json", by_alias=True)


class RootFolder(ApiObject):
    id: int = 0
    path: str
    accessible: bool = True


class Tag(ApiObject):
    id: int
    label: str


class QualityProfile(ApiObject):
    id: int = 0
    name: str


@dataclass(frozen=True)
class Request:
    """One API request ``wire`` sends (or, in a dry run, would send). ``secrets`` are the
    values to mask wherever the request is shown; the body is sent exactly as held here."""

    app: str
    method: str
    path: str
    body: Any = None
    form: bool = False  # True: the body is sent as a form (Bazarr's settings), not JSON
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    def shown(self) -> dict[str, Any]:
        """Return ``{"app", "method", "path", "body"}`` with every secret masked: the values
        named in ``secrets``, and whatever the body holds under a secret-looking key (the apps
        answer some in clear: ``config/host``'s ``apiKey``, ``proxyPassword``...) or in a
        provider field whose privacy is password or apiKey."""
        body = _masked(self.body)
        if self.secrets and body is not None:
            text = json.dumps(body)
            for secret in sorted(self.secrets, key=len, reverse=True):
                if secret:
                    text = text.replace(json.dumps(secret)[1:-1], MASKED)
            body = json.loads(text)
        return {"app": self.app, "method": self.method, "path": self.path, "body": body}


SECRET_KEY = re.compile(r"pass(word)?|api_?key|secret|token", re.IGNORECASE)


def _masked(value: Any) -> Any:
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if not isinstance(value, dict):
        return value
    secret_field = value.get("privacy") in SECRET_PRIVACY or (
        isinstance(value.get("name"), str) and SECRET_KEY.search(value["name"]) is not None
    )
    shown: dict[str, Any] = {}
    for key, item in value.items():
        hide = SECRET_KEY.search(key) is not None or (secret_field and key == "value")
        shown[key] = MASKED if hide and isinstance(item, str) and item else _masked(item)
    return shown
