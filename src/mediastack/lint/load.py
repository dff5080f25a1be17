"""Find the compose files under a stacks folder, read them, and normalise them once into the
typed model (``mediastack.lint.model``) that every rule reads.

Control flow: stacks folder -> one compose file per stack folder (compose's own lookup order)
-> YAML (a safe loader with YAML 1.2 scalars, as compose reads them) -> ``ComposeProject``.
Nothing is written; no Docker is needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from mediastack.catalogue import Stack
from mediastack.lint.model import ComposeProject, Service
from mediastack.lint.syntax import (
    ComposeSyntaxError,
    parse_capabilities,
    parse_depends_on,
    parse_devices,
    parse_environment,
    parse_flag,
    parse_healthcheck,
    parse_namespace,
    parse_ports,
    parse_text,
    parse_volumes,
    repository_name,
)

# Compose's lookup order: the first of these in a folder is the project file.
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILE_NAMES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)
_STACK_ORDER = [stack.value for stack in Stack]
_PROJECT_NAME_INVALID = re.compile(r"[^a-z0-9_-]")


class ComposeFileError(Exception):
    """A compose file cannot be read or is not a compose file; names the path and the spot."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class ComposeYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 scalars, as compose (Go, yaml.v3) reads them:
    ``22:22`` stays a string (YAML 1.1 reads it as 1342, base 60) and ``on``/``yes`` stay
    words. Anything else is exactly ``yaml.safe_load``."""


_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
ComposeYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern) for tag, pattern in resolvers if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG)
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ComposeYamlLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
ComposeYamlLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
ComposeYamlLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
        r"|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def find_compose_files(stacks_folder: Path) -> list[Path]:
    """Given a stacks folder, return the compose file of each stack folder below it (and of the
    folder itself, if it holds one), vpn/media/ops first, then the others by name. Raise
    ComposeFileError when the folder cannot be listed."""
    try:
        subfolders = sorted(
            entry
            for entry in stacks_folder.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )
    except OSError as error:
        raise ComposeFileError(stacks_folder, f"cannot list the folder: {error.strerror}") from None
    found = [path for path in map(_project_file, [stacks_folder, *subfolders]) if path]
    return sorted(found, key=lambda path: _stack_sort_key(path.parent.name))


def _project_file(folder: Path) -> Path | None:
    return next((folder / name for name in COMPOSE_FILE_NAMES if (folder / name).is_file()), None)


def _stack_sort_key(stack: str) -> tuple[int, str]:
    position = _STACK_ORDER.index(stack) if stack in _STACK_ORDER else len(_STACK_ORDER)
    return position, stack


def load_projects(stacks_folder: Path) -> list[ComposeProject]:
    """Return every compose project under ``stacks_folder`` (see ``find_compose_files``);
    raise ComposeFileError for the first file that cannot be read or parsed."""
    return [load_project(path) for path in find_compose_files(stacks_folder)]


def load_project(path: Path) -> ComposeProject:
    """Read and normalise one compose file; raise ComposeFileError naming ``path`` when it
    cannot be read, is not YAML, or holds something compose would refuse."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ComposeFileError(path, f"cannot read: {reason}") from None
    overrides = tuple(
        path.parent / name for name in OVERRIDE_FILE_NAMES if (path.parent / name).is_file()
    )
    return parse_project(text, path, overrides)


def parse_project(text: str, path: Path, override_paths: tuple[Path, ...] = ()) -> ComposeProject:
    """Given compose YAML and the path it came from, return the project; raise
    ComposeFileError when the text is not YAML or not a compose file."""
    document = _parse_yaml(text, path)
    stack = path.parent.name
    services = document.get("services") or {}
    if not isinstance(services, Mapping):
        raise ComposeFileError(path, "`services` must be a mapping of service name -> settings")
    try:
        name = parse_text(document.get("name"), "name") or _default_project_name(stack)
        parsed = tuple(
            _parse_service(str(service_name), settings, path.parent.absolute())
            for service_name, settings in services.items()
        )
    except ComposeSyntaxError as error:
        raise ComposeFileError(path, str(error)) from None
    return ComposeProject(name, stack, path, parsed, override_paths)


def _parse_yaml(text: str, path: Path) -> Mapping[str, object]:
    try:
        document = yaml.load(text, Loader=ComposeYamlLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ComposeFileError(path, f"not valid YAML: {where}{problem}") from None
    if not isinstance(document, Mapping):
        raise ComposeFileError(path, "not a compose file: the top level must be a mapping")
    return document


def _default_project_name(folder_name: str) -> str:
    return _PROJECT_NAME_INVALID.sub("", folder_name.lower())


def _parse_service(name: str, settings: object, base_folder: Path) -> Service:
    where = f"services.{name}"
    if settings is None:
        settings = {}
    if not isinstance(settings, Mapping):
        raise ComposeSyntaxError(where, "a service must be a mapping of settings")
    image = parse_text(settings.get("image"), f"{where}.image")
    network_mode = parse_text(settings.get("network_mode"), f"{where}.network_mode")
    return Service(
        name=name,
        image=image,
        image_name=repository_name(image),
        container_name=parse_text(settings.get("container_name"), f"{where}.container_name"),
        network_mode=network_mode,
        namespace=parse_namespace(network_mode),
        ports=parse_ports(settings.get("ports"), f"{where}.ports"),
        volumes=parse_volumes(settings.get("volumes"), base_folder, f"{where}.volumes"),
        environment=parse_environment(settings.get("environment"), f"{where}.environment"),
        depends_on=parse_depends_on(settings.get("depends_on"), f"{where}.depends_on"),
        healthcheck=parse_healthcheck(settings.get("healthcheck"), f"{where}.healthcheck"),
        cap_add=parse_capabilities(settings.get("cap_add"), f"{where}.cap_add"),
        devices=parse_devices(settings.get("devices"), f"{where}.devices"),
        privileged=parse_flag(settings.get("privileged"), f"{where}.privileged"),
    )
