"""The YAML that Bazarr's config.yaml holds, read and written without PyYAML (the stand-in is
stdlib-only): a mapping of sections, each a mapping of scalars or lists.

Reads what ``yaml.safe_dump`` writes for such data (mediastack's appconfig/bazarr.py):
``section:`` lines, indented ``key: value`` lines, ``[]``/flow lists, block lists (``- x``),
quoted or plain scalars (true/false/null/~, integers, floats, strings). Writes every value
as JSON, which is valid YAML flow style, so the file reads back the same in real YAML.
"""

from __future__ import annotations

import json
import re
from typing import Any

_INTEGER = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def load(text: str) -> dict[str, Any]:
    """Return the two-level mapping in ``text``; raise ValueError on anything else."""
    document: dict[str, Any] = {}
    section: dict[str, Any] | None = None
    last_key: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip() or line.strip() == "---":
            continue
        indent = len(line) - len(line.lstrip())
        content = line.strip()
        if indent == 0:
            name, _, rest = content.partition(":")
            section = {} if not rest.strip() else None
            document[name.strip()] = section if section is not None else scalar(rest.strip())
            last_key = None
        elif content.startswith("- ") and section is not None and last_key is not None:
            if not isinstance(section[last_key], list):
                section[last_key] = []
            section[last_key].append(scalar(content[2:].strip()))
        elif section is not None and ":" in content:
            key, _, rest = content.partition(":")
            last_key = key.strip().strip("'\"")
            section[last_key] = scalar(rest.strip()) if rest.strip() else []
        else:
            raise ValueError(f"config.yaml line {number}: not understood: {raw!r}")
    return document


def scalar(text: str) -> Any:
    """Return the value of one YAML scalar or flow sequence."""
    if text.startswith("[") or text.startswith('"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if text.startswith("["):
                return [scalar(item.strip()) for item in text[1:-1].split(",") if item.strip()]
            raise
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~", ""):
        return None
    if _INTEGER.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def dump(document: dict[str, dict[str, Any]]) -> str:
    """Return ``document`` as YAML, every value in JSON (flow) form."""
    lines = []
    for section, values in document.items():
        lines.append(f"{section}:")
        for key, value in values.items():
            lines.append(f"  {key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"
