"""Docs from the schema: the config reference table and the commented mediastack.yaml that
``init`` writes. Both walk the same pydantic models that validate the file."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mediastack.config.schema import Config


@dataclass(frozen=True)
class ReferenceRow:
    path: str
    type: str
    default: str
    description: str


def reference_rows(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[ReferenceRow]:
    """Yield one row per key of the schema, nested sections flattened to dotted paths."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _nested_model(field.annotation)
        if nested is not None:
            yield from reference_rows(nested, f"{path}.")
            continue
        mapping = _mapping_value_model(field.annotation)
        yield ReferenceRow(
            path, _type_name(field.annotation), _default_text(field), field.description or ""
        )
        if mapping is not None:
            yield from reference_rows(mapping, f"{path}.<name>.")


def reference_markdown() -> str:
    """Return the config reference as a markdown table."""
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for row in reference_rows():
        description = row.description.replace("|", "\\|")
        lines.append(f"| `{row.path}` | {row.type} | `{row.default}` | {description} |")
    return "\n".join(lines) + "\n"


def commented_yaml(config: Config) -> str:
    """Return ``config`` as YAML with every key preceded by its schema description."""
    lines = [
        "# mediastack.yaml: the whole stack in one file.",
        "# Every key is optional; shown here with its value. Reference: `mediastack config "
        "reference`.",
        "# After editing: mediastack render && mediastack lint",
        "",
    ]
    lines += _model_lines(config, indent=0)
    return "\n".join(lines) + "\n"


def _model_lines(model: BaseModel, indent: int) -> list[str]:
    lines: list[str] = []
    pad = "  " * indent
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        for comment in textwrap.wrap(field.description or "", 96 - len(pad)):
            lines.append(f"{pad}# {comment}")
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            lines += _model_lines(value, indent + 1)
        elif isinstance(value, dict) and value:
            lines.append(f"{pad}{name}:")
            lines += _mapping_lines(value, indent + 1)
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
        if indent == 0:
            lines.append("")
    return lines


def _mapping_lines(mapping: dict[str, Any], indent: int) -> list[str]:
    pad = "  " * indent
    lines = []
    for key, value in mapping.items():
        if isinstance(value, BaseModel):
            data = value.model_dump(exclude_defaults=True, mode="json")
            lines.append(f"{pad}{key}: {_flow(data)}")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return lines


def _scalar(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, Enum):
        value = value.value
    return _flow(value)


def _flow(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=1000)
        .strip()
        .removesuffix("\n...")
        .removesuffix("...")
        .strip()
    )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _mapping_value_model(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) is dict:
        value = get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation))
    arguments = ", ".join(_type_name(argument) for argument in get_args(annotation))
    name = getattr(origin, "__name__", str(origin))
    if name in ("Union", "UnionType"):
        return " or ".join(_type_name(argument) for argument in get_args(annotation))
    if name == "Literal":
        return " or ".join(json.dumps(argument) for argument in get_args(annotation))
    if name == "Annotated":
        return _type_name(get_args(annotation)[0])
    return f"{name}[{arguments}]"


def _default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "…"
    return _scalar(value)
