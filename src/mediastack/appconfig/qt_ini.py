"""Set keys in a Qt INI file (QSettings IniFormat: what qBittorrent writes), line by line.

Hand-written rather than ``configparser``: configparser re-serialises every line (it drops
comment lines, re-spaces ``=``, reads indented lines as continuations, and has no notion of
Qt's value quoting), while this edits only the lines of the keys we set, so the rest of the
app's own file stays byte for byte as the app wrote it.

Keys are Qt's on-disk form: ``[Preferences]`` + ``WebUI\\Username`` is the setting
``Preferences/WebUI/Username``. Values are given already in Qt's INI form (see
:func:`quote_string`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Unquoted, Qt reads these characters literally as one string (no list, no escape, no
# variant prefix); anything else is written quoted.
_PLAIN_STRING = re.compile(r"^[A-Za-z0-9_./:+-]+$")


@dataclass
class _Section:
    name: str | None  # None: the lines before the first [section]
    lines: list[str] = field(default_factory=list)


def quote_string(value: str) -> str:
    """Return ``value`` as Qt's INI writer stores a QString, for a plain printable ASCII
    string; raise ValueError for control or non-ASCII characters (Qt escapes those in ways
    this module does not reproduce)."""
    if not value.isascii() or not value.isprintable():
        raise ValueError(f"{value!r}: only printable ASCII can be written to qBittorrent.conf")
    if _PLAIN_STRING.match(value):
        return value
    # Quoted, Qt takes commas and '=' literally; inside quotes \\ and \" are its escapes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def read_value(text: str, section: str, key: str) -> str | None:
    """Return the raw value of ``key`` in ``[section]`` (as written, quotes included), or
    None when the file has no such key."""
    for parsed in _parse(text):
        if parsed.name == section:
            for line in parsed.lines:
                if _key_of(line) == key:
                    return line.split("=", 1)[1].strip()
    return None


def set_values(text: str, values: Mapping[tuple[str, str], str]) -> str:
    """Given INI text and ``{(section, key): raw value}``, return the text with each key set:
    an existing line is replaced in place, a missing key is added at the end of its section,
    a missing section at the end of the file. Text that already holds every value comes back
    unchanged, byte for byte."""
    sections = _parse(text)
    changed = False
    for (section_name, key), value in values.items():
        section = _find_or_add(sections, section_name)
        changed |= _set_in_section(section, key, value)
    return _join(sections) if changed else text


def _set_in_section(section: _Section, key: str, value: str) -> bool:
    wanted = f"{key}={value}"
    for index, line in enumerate(section.lines):
        if _key_of(line) == key:
            if line == wanted:
                return False
            section.lines[index] = wanted
            return True
    # After the section's last setting, before the blank line that separates sections.
    position = len(section.lines)
    while position > 0 and not section.lines[position - 1].strip():
        position -= 1
    section.lines.insert(position, wanted)
    return True


def _find_or_add(sections: list[_Section], name: str) -> _Section:
    for section in sections:
        if section.name == name:
            return section
    if sections and sections[-1].lines and sections[-1].lines[-1].strip():
        sections[-1].lines.append("")
    added = _Section(name)
    sections.append(added)
    return added


def _key_of(line: str) -> str | None:
    stripped = line.strip()
    if "=" not in stripped or stripped.startswith((";", "#", "[")):
        return None
    return stripped.split("=", 1)[0].strip()


def _parse(text: str) -> list[_Section]:
    sections = [_Section(None)]
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            sections.append(_Section(stripped[1:-1]))
        else:
            sections[-1].lines.append(line)
    return sections


def _join(sections: list[_Section]) -> str:
    lines: list[str] = []
    for section in sections:
        if section.name is not None:
            lines.append(f"[{section.name}]")
        lines += section.lines
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n"
