"""Provider settings as the Servarr apps expose them: a list of fields built from the settings
class, read back by field name.

Follows Sonarr v4.0.19.2979 ``src/Sonarr.Http/ClientSchema/SchemaBuilder.cs`` (Radarr 6 and
Prowlarr 2 carry the same file):
- ToSchema: every field of the settings class, ordered, with its value; a non-empty value of a
  field whose privacy is ``apiKey`` or ``password`` is shown as ``********``.
- ReadFromSchema: a NEW settings object (so every default), then each field found BY NAME in
  the request sets its property; a field left out keeps the class default, not the stored
  value; a private field sent as ``********`` takes the stored value. Unknown names are
  ignored. Values are converted per property type (int: ``ParseInt32`` or 0; lists of int: a
  JSON array or a comma-separated string).
Simplified: a value the real System.Text.Json converter would throw on (a number for a string,
a string for a bool) is refused here with a 400 validation failure rather than a 500.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .web import ValidationFailed, failure

PRIVATE_VALUE = "********"
PRIVATE_LEVELS = ("apiKey", "password")


@dataclass(frozen=True)
class FieldSpec:
    """One ``[FieldDefinition]`` property: ``kind`` is the C# type (string, int, bool, ints,
    float); ``type`` the UI field type (textbox, password, checkbox, select, number)."""

    name: str
    label: str
    kind: str
    default: Any
    type: str = "textbox"
    privacy: str = "normal"
    advanced: bool = False
    help_text: str | None = None
    select_options: tuple[tuple[int, str], ...] | None = None
    unit: str | None = None

    @property
    def property_name(self) -> str:
        """The C# property name FluentValidation reports (``tvCategory`` -> ``TvCategory``)."""
        return self.name[:1].upper() + self.name[1:]


Failures = list[dict[str, Any]]
Validator = Callable[[dict[str, Any]], Failures]


@dataclass(frozen=True)
class Implementation:
    """One provider implementation: its schema, its settings validator and its test."""

    implementation: str
    implementation_name: str
    config_contract: str
    fields: tuple[FieldSpec, ...]
    validate: Validator
    test: Callable[[dict[str, Any], dict[str, Any]], Failures]
    info_link: str
    template: dict[str, Any] = field(default_factory=dict)
    # Resource keys the app sets from the implementation, whatever the request says
    # (a download client's or indexer's protocol).
    fixed: dict[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {spec.name: copy.deepcopy(spec.default) for spec in self.fields}


def to_schema(implementation: Implementation, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the ``fields`` list of a resource, private values masked."""
    fields = []
    for order, spec in enumerate(implementation.fields):
        value = settings.get(spec.name, spec.default)
        if spec.privacy in PRIVATE_LEVELS and value not in (None, ""):
            value = PRIVATE_VALUE
        item: dict[str, Any] = {
            "order": order,
            "name": spec.name,
            "label": spec.label,
            "helpText": spec.help_text,
            "value": value,
            "type": spec.type,
            "advanced": spec.advanced,
            "privacy": spec.privacy,
            "isFloat": spec.kind in ("float", "nfloat"),
        }
        if spec.unit:
            item["unit"] = spec.unit
        if spec.select_options is not None:
            item["selectOptions"] = [
                {"value": value, "name": name, "order": value}
                for value, name in spec.select_options
            ]
        fields.append(item)
    return fields


def read_from_schema(
    implementation: Implementation, fields: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    """Return the settings a request's ``fields`` give (see the module docstring); raise
    ValidationFailed when a value cannot be converted."""
    settings = implementation.defaults()
    by_name = {item.get("name"): item for item in fields or [] if isinstance(item, dict)}
    problems: Failures = []
    for spec in implementation.fields:
        if spec.name not in by_name:
            continue
        value = by_name[spec.name].get("value")
        if spec.privacy in PRIVATE_LEVELS and value == PRIVATE_VALUE and existing is not None:
            settings[spec.name] = copy.deepcopy(existing.get(spec.name))
            continue
        try:
            settings[spec.name] = convert(spec.kind, value)
        except (TypeError, ValueError):
            problems.append(
                failure(spec.property_name, f"'{value}' is not a valid {spec.kind} value",
                        attempted=value)
            )
    if problems:
        raise ValidationFailed(problems)
    return settings


def convert(kind: str, value: Any) -> Any:
    """Convert a JSON field value to the property type, as SchemaBuilder's converters do."""
    if kind == "int":
        return _parse_int(value)
    if kind == "float":
        return 0.0 if value is None else float(value)
    if kind in ("nint", "nfloat"):  # int? / double?: null stays null
        if value in (None, ""):
            return None
        return int(value) if kind == "nint" else float(value)
    if kind == "ints":
        if value is None:
            return []
        if isinstance(value, list):
            return [int(item) for item in value]
        return [int(item) for item in str(value).split(",") if item.strip()]
    if kind == "bool":
        if value is None or isinstance(value, bool):
            return bool(value)
        raise TypeError(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(value)


def _parse_int(value: Any) -> int:
    """``fieldValue?.ToString().ParseInt32() ?? 0``: unparseable text is 0, not an error."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(str(value).strip()) if value is not None else 0
    except ValueError:
        return 0


# FluentValidation's default messages (FluentValidation 9, as the Servarr apps ship it).
def not_empty(property_name: str, value: Any) -> Failures:
    if value in (None, "", []) or (isinstance(value, str) and not value.strip()):
        return [failure(property_name, f"'{_display(property_name)}' must not be empty.",
                        attempted=value)]
    return []


def between(property_name: str, value: int, low: int, high: int) -> Failures:
    if low <= value <= high:
        return []
    message = (
        f"'{_display(property_name)}' must be between {low} and {high}. You entered {value}."
    )
    return [failure(property_name, message, attempted=value)]


def matches(property_name: str, value: str | None, pattern: str, message: str,
            flags: int = 0) -> Failures:
    """A ``.Matches(regex)`` rule: a null value passes (FluentValidation skips nulls)."""
    if value is None or re.search(pattern, value, flags):
        return []
    return [failure(property_name, message, attempted=value)]


def _display(property_name: str) -> str:
    """FluentValidation's display name: ``TvCategory`` -> ``Tv Category``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", property_name)
