"""Compose short and long syntax -> the typed model, one small function per key.

Hand-written on purpose: compose's own normaliser (``docker compose config``) is the Go binary,
and lint must run where Docker is not installed. Only what the rules read is normalised;
variables (``${X}``) are left as written, since lint never reads the secrets in ``.env``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import Path

from mediastack.lint.model import (
    Dependency,
    EnvironmentVariable,
    Healthcheck,
    Mount,
    MountKind,
    NamespaceReference,
    PortBinding,
)

_PORT_PATTERN = re.compile(r"^(\d+(-\d+)?|.*\$.*)$")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_KNOWN_MOUNT_KINDS = {kind.value: kind for kind in MountKind}


class ComposeSyntaxError(ValueError):
    """A compose key holds something compose itself would refuse."""

    def __init__(self, key_path: str, message: str) -> None:
        self.key_path = key_path
        super().__init__(f"{key_path}: {message}")


def repository_name(image: str | None) -> str:
    """Given an image reference, return the last component of its repository, lower-cased:
    ``lscr.io/linuxserver/qbittorrent:latest@sha256:...`` -> ``qbittorrent``."""
    if not image:
        return ""
    without_digest = image.split("@", 1)[0]
    last_component = without_digest.rsplit("/", 1)[-1]
    return last_component.split(":", 1)[0].lower()


def split_outside_variables(text: str, separator: str) -> list[str]:
    """Split ``text`` at ``separator`` except inside ``${...}``: ``${DATA:-/srv}:/data`` is
    two parts, not three."""
    masked = _VARIABLE.sub(lambda match: "\0" * len(match.group()), text)
    parts, start = [], 0
    for index, character in enumerate(masked):
        if character == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def parse_flag(value: object, where: str) -> bool:
    """Return a compose boolean; YAML 1.1 words (yes/on) count, as a person meant them."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str | int):
        return str(value).lower() in _TRUE_WORDS
    raise ComposeSyntaxError(where, f"expected true or false, got {value!r}")


def parse_ports(value: object, where: str) -> tuple[PortBinding, ...]:
    """Given a ``ports`` list (short strings, bare numbers or long mappings), return bindings."""
    return tuple(
        _parse_port(entry, f"{where}[{index}]")
        for index, entry in enumerate(_as_list(value, where))
    )


def _parse_port(entry: object, where: str) -> PortBinding:
    if isinstance(entry, int) and not isinstance(entry, bool):
        return PortBinding(str(entry), None, "", "tcp", str(entry))
    if isinstance(entry, str):
        return _short_port(entry.strip(), where)
    if isinstance(entry, Mapping):
        return _long_port(entry, where)
    raise ComposeSyntaxError(where, f"a port is a string or a mapping, got {entry!r}")


def _short_port(text: str, where: str) -> PortBinding:
    """``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]``; an IPv6 host IP may be bracketed."""
    pieces = split_outside_variables(text, "/")
    if len(pieces) > 2:
        raise ComposeSyntaxError(where, f"'{text}' is not a port mapping such as 8080:80/udp")
    protocol = pieces[1] if len(pieces) == 2 else "tcp"
    parts = split_outside_variables(pieces[0], ":")
    container_port = parts[-1]
    host_port = parts[-2] if len(parts) >= 2 else ""
    host_ip = ":".join(parts[:-2]).strip("[]")
    _check_port(container_port, where, text)
    if host_port:
        _check_port(host_port, where, text)
    return PortBinding(container_port, host_port or None, host_ip, protocol or "tcp", text)


def _long_port(entry: Mapping[object, object], where: str) -> PortBinding:
    if entry.get("target") is None:
        raise ComposeSyntaxError(where, "a long-syntax port needs `target`")
    container_port = str(entry["target"])
    published = entry.get("published")
    host_port = None if published in (None, "") else str(published)
    host_ip = str(entry.get("host_ip") or "")
    protocol = str(entry.get("protocol") or "tcp")
    _check_port(container_port, where, container_port)
    if host_port is not None:
        _check_port(host_port, where, host_port)
    address = f"[{host_ip}]" if ":" in host_ip else host_ip
    prefix = f"{address}:{host_port or ''}:" if host_ip else (f"{host_port}:" if host_port else "")
    written = f"{prefix}{container_port}" + ("" if protocol == "tcp" else f"/{protocol}")
    return PortBinding(container_port, host_port, host_ip, protocol, written)


def _check_port(port: str, where: str, written: str) -> None:
    if not _PORT_PATTERN.match(port):
        raise ComposeSyntaxError(where, f"'{written}' is not a port mapping such as 8080:80")


def parse_volumes(value: object, base_folder: Path, where: str) -> tuple[Mount, ...]:
    """Given a ``volumes`` list, return mounts; relative bind sources are resolved against
    ``base_folder`` (the compose file's folder), as compose does."""
    return tuple(
        _parse_volume(entry, base_folder, f"{where}[{index}]")
        for index, entry in enumerate(_as_list(value, where))
    )


def _parse_volume(entry: object, base_folder: Path, where: str) -> Mount:
    if isinstance(entry, str):
        return _short_volume(entry, base_folder, where)
    if isinstance(entry, Mapping):
        return _long_volume(entry, base_folder, where)
    raise ComposeSyntaxError(where, f"a volume is a string or a mapping, got {entry!r}")


def _short_volume(text: str, base_folder: Path, where: str) -> Mount:
    """``[SOURCE:]TARGET[:MODE]``: a source that looks like a path is a bind mount."""
    parts = split_outside_variables(text, ":")
    if len(parts) > 3 or not all(parts[:2]):
        raise ComposeSyntaxError(where, f"'{text}' is not a volume such as /host/path:/target")
    if len(parts) == 1:
        return Mount(MountKind.VOLUME, None, _container_path(parts[0]), False)
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    read_only = "ro" in options
    if _looks_like_path(source):
        return Mount(
            MountKind.BIND, host_path(source, base_folder), _container_path(target), read_only
        )
    return Mount(MountKind.VOLUME, source, _container_path(target), read_only)


def _long_volume(entry: Mapping[object, object], base_folder: Path, where: str) -> Mount:
    kind = _KNOWN_MOUNT_KINDS.get(str(entry.get("type", "volume")), MountKind.OTHER)
    target = entry.get("target")
    if not isinstance(target, str) or not target:
        raise ComposeSyntaxError(where, "a long-syntax volume needs `target`")
    raw_source = entry.get("source")
    source = str(raw_source) if raw_source else None
    if kind == MountKind.BIND and source is not None:
        source = host_path(source, base_folder)
    if kind == MountKind.TMPFS:
        source = None
    read_only = parse_flag(entry.get("read_only"), f"{where}.read_only")
    return Mount(kind, source, _container_path(target), read_only)


def _looks_like_path(source: str) -> bool:
    # An unresolved ${VARIABLE} source is almost always a host folder.
    return source.startswith(("/", ".", "~", "$"))


def host_path(source: str, base_folder: Path) -> str:
    """Return a bind source as compose resolves it: ``~`` expanded, relative paths joined to
    ``base_folder``, normalised lexically (symlinks are not followed: lint reads no host)."""
    if source.startswith("$"):
        return source.rstrip("/") or source
    path = Path(source).expanduser()
    if not path.is_absolute():
        path = base_folder / path
    return posixpath.normpath(path.as_posix())


def _container_path(target: str) -> str:
    return posixpath.normpath(target) if target.startswith("/") else target


def parse_environment(value: object, where: str) -> tuple[EnvironmentVariable, ...]:
    """Given ``environment`` as a ``KEY=value`` list or a mapping, return its variables;
    a name without a value (``- KEY``, ``KEY:``) passes the shell's value through."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(
            EnvironmentVariable(str(name), _scalar_text(text)) for name, text in value.items()
        )
    variables = []
    for index, entry in enumerate(_as_list(value, where)):
        if not isinstance(entry, str):
            raise ComposeSyntaxError(f"{where}[{index}]", f"expected KEY=value, got {entry!r}")
        name, separator, text = entry.partition("=")
        variables.append(EnvironmentVariable(name.strip(), text if separator else None))
    return tuple(variables)


def _scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_depends_on(value: object, where: str) -> tuple[Dependency, ...]:
    """Given ``depends_on`` as a list of names or a mapping of name -> options, return it."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(
            _long_dependency(str(name), options, f"{where}.{name}")
            for name, options in value.items()
        )
    return tuple(Dependency(str(name), "service_started", True) for name in _as_list(value, where))


def _long_dependency(name: str, options: object, where: str) -> Dependency:
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise ComposeSyntaxError(where, "expected a mapping such as {condition: service_healthy}")
    condition = str(options.get("condition", "service_started"))
    required = options.get("required", True)
    return Dependency(name, condition, parse_flag(required, f"{where}.required"))


def parse_healthcheck(value: object, where: str) -> Healthcheck | None:
    """Given ``healthcheck``, return it; None when the file defines none. A string ``test``
    is shorthand for ``CMD-SHELL``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ComposeSyntaxError(where, "expected a mapping with `test`")
    test = value.get("test")
    if isinstance(test, str):
        command: tuple[str, ...] = ("CMD-SHELL", test)
    elif isinstance(test, list):
        command = tuple(str(part) for part in test)
    elif test is None:
        command = ()
    else:
        raise ComposeSyntaxError(f"{where}.test", "expected a string or a list")
    return Healthcheck(command, parse_flag(value.get("disable"), f"{where}.disable"))


def parse_namespace(network_mode: str | None) -> NamespaceReference | None:
    """Return the namespace owner of ``service:X`` / ``container:X``; None for other modes."""
    if network_mode is None:
        return None
    kind, separator, name = network_mode.partition(":")
    if separator and kind in ("service", "container") and name:
        return NamespaceReference(kind, name)
    return None


def parse_capabilities(value: object, where: str) -> frozenset[str]:
    """Return ``cap_add`` upper-cased without the ``CAP_`` prefix (Docker accepts both)."""
    return frozenset(
        str(capability).upper().removeprefix("CAP_") for capability in _as_list(value, where)
    )


def parse_devices(value: object, where: str) -> tuple[str, ...]:
    """Return the host paths of ``devices`` (``SOURCE[:TARGET[:PERMISSIONS]]`` or mappings)."""
    sources = []
    for entry in _as_list(value, where):
        if isinstance(entry, Mapping):
            sources.append(str(entry.get("source", "")))
        else:
            sources.append(str(entry).split(":", 1)[0])
    return tuple(sources)


def parse_text(value: object, where: str) -> str | None:
    """Return a scalar key as text (numbers are fine), None when absent."""
    if value is None:
        return None
    if isinstance(value, Mapping | list):
        raise ComposeSyntaxError(where, f"expected a single value, got {value!r}")
    return str(value)


def _as_list(value: object, where: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ComposeSyntaxError(where, f"expected a list, got {type(value).__name__}")
    return value
