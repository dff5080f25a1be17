"""Read mediastack.yaml into a validated ``Config``; report every problem at once.

Control flow: read text -> parse YAML -> pydantic validation (types, ranges, unknown keys) ->
cross-field checks that need the catalogue -> ``LoadedConfig`` with absolute folders.
Nothing is written or touched on the way.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mediastack.catalogue import CATALOGUE, ServiceDefinition, Stack
from mediastack.config.errors import ConfigError, ConfigProblem
from mediastack.config.schema import Config

DEFAULT_CONFIG_NAME = "mediastack.yaml"
CONFIG_ENVIRONMENT_VARIABLE = "MEDIASTACK_CONFIG"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus where it came from, with every folder made absolute."""

    config: Config
    path: Path

    @property
    def root(self) -> Path:
        return self.path.parent

    def folder(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else (self.root / relative).resolve()

    @property
    def data_folder(self) -> Path:
        return self.folder(self.config.folders.data)

    @property
    def config_folder(self) -> Path:
        return self.folder(self.config.folders.config)

    @property
    def backups_folder(self) -> Path:
        return self.folder(self.config.folders.backups)

    @property
    def stacks_folder(self) -> Path:
        return self.folder(self.config.folders.stacks)

    @property
    def env_file(self) -> Path:
        return self.root / ".env"

    def project_name(self, stack: Stack) -> str:
        return f"{self.config.name}-{stack.value}"

    def compose_file(self, stack: Stack) -> Path:
        return self.stacks_folder / stack.value / "compose.yaml"

    def is_enabled(self, definition: ServiceDefinition) -> bool:
        settings = self.config.services.get(definition.name)
        if settings is not None and settings.enabled is not None:
            return settings.enabled
        if definition.name in ("plex", "jellyfin"):
            return definition.name == self.config.media_server
        if definition.enabled_with is not None:
            return self.is_enabled(CATALOGUE[definition.enabled_with])
        return definition.enabled_by_default

    def enabled_services(self, stack: Stack | None = None) -> list[ServiceDefinition]:
        """Return enabled catalogue entries in catalogue order, optionally of one stack."""
        return [
            definition
            for definition in CATALOGUE.values()
            if self.is_enabled(definition) and (stack is None or definition.stack == stack)
        ]


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENVIRONMENT_VARIABLE, DEFAULT_CONFIG_NAME))


def load_config(path: Path) -> LoadedConfig:
    """Given a path to mediastack.yaml, return the validated config; raise ConfigError with
    every problem found when the file is missing, not YAML, or not valid."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source,
            [ConfigProblem("", "file not found", "run `mediastack init DIR`, or pass -c PATH")],
        ) from None
    except OSError as error:
        raise ConfigError(
            source, [ConfigProblem("", f"cannot read: {error.strerror}", "check permissions")]
        ) from None
    config = parse_config(text, source)
    return LoadedConfig(config=config, path=path.resolve())


def parse_config(text: str, source: str = "<config>") -> Config:
    """Given YAML text, return a Config; raise ConfigError listing every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            source,
            [ConfigProblem("", f"not valid YAML: {where}{problem}", "fix the YAML syntax there")],
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            source,
            [ConfigProblem("", "the file must be a mapping of keys", "start from `init`")],
        )
    problems: list[ConfigProblem] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        problems += [_problem_from(detail) for detail in error.errors()]
    # Cross-field checks read the raw mapping so they are reported together with type errors.
    problems += cross_field_problems(raw)
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def cross_field_problems(raw: dict[str, Any]) -> Iterator[ConfigProblem]:
    """Given the raw config mapping, yield problems that involve more than one field or the
    catalogue (type errors are pydantic's job and are skipped here)."""
    services = raw.get("services")
    if not isinstance(services, dict):
        return
    for name, settings in services.items():
        if name in CATALOGUE and isinstance(settings, dict):
            yield from _service_problems(CATALOGUE[name], settings)


def _service_problems(
    definition: ServiceDefinition, settings: dict[str, Any]
) -> Iterator[ConfigProblem]:
    base = f"services.{definition.name}"
    if settings.get("image") is not None and settings.get("tag") is not None:
        yield ConfigProblem(
            base, "both `image` and `tag` are set", "keep one: `image` already names a tag"
        )
    known_ports = {port.name for port in definition.ports}
    ports = settings.get("ports")
    for port_name in ports if isinstance(ports, dict) else {}:
        if port_name not in known_ports:
            yield ConfigProblem(
                f"{base}.ports.{port_name}",
                f"{definition.name} has no port named '{port_name}'",
                f"use one of: {', '.join(sorted(known_ports)) or '(none: it has no ports)'}",
            )
    if definition.name == "gluetun" and settings.get("enabled") is False:
        yield ConfigProblem(
            f"{base}.enabled",
            "gluetun cannot be switched off: every download service lives in its namespace",
            "remove `enabled: false`",
        )


def _problem_from(detail: ErrorDetails) -> ConfigProblem:
    location = [str(part) for part in detail["loc"]]
    # A dict key that failed validation shows up as "[key-error]"; show the key itself.
    if "[key]" in location:
        location.remove("[key]")
    path = ".".join(location)
    error_type = detail["type"]
    message = detail["msg"].removeprefix("Value error, ")
    return ConfigProblem(path, _describe(message, detail), _fix_for(error_type, detail))


def _describe(message: str, detail: ErrorDetails) -> str:
    given = detail.get("input")
    if detail["type"] in ("missing", "extra_forbidden") or isinstance(given, dict | list):
        return message
    return f"{message} (got {given!r})"


def _fix_for(error_type: str, detail: ErrorDetails) -> str:
    location = detail["loc"]
    if error_type == "extra_forbidden":
        return _unknown_key_fix(location)
    fixes = {
        "missing": "add this key",
        "int_parsing": "write a whole number",
        "int_type": "write a whole number",
        "bool_parsing": "write true or false",
        "bool_type": "write true or false",
        "string_type": "write text (quote it if it looks like a number)",
        "string_pattern_mismatch": "see `mediastack config reference` for the allowed form",
        "literal_error": "use one of the values listed",
        "greater_than_equal": "use a larger value",
        "less_than_equal": "use a smaller value",
        "dict_type": "write a mapping (key: value lines indented below)",
        "list_type": "write a list ([a, b] or '- a' lines)",
        "model_type": "write a mapping (key: value lines indented below)",
        "value_error": "correct the value as the message says",
    }
    return fixes.get(error_type, "see `mediastack config reference` for this key")


def _unknown_key_fix(location: Sequence[int | str]) -> str:
    key = str(location[-1])
    fields = _fields_at(location[:-1])
    close = difflib.get_close_matches(key, fields, n=1)
    if close:
        return f"did you mean '{close[0]}'? Otherwise remove it"
    return f"remove it; allowed here: {', '.join(fields)}" if fields else "remove it"


def _fields_at(location: Sequence[int | str]) -> list[str]:
    """Return the allowed keys of the model at ``location`` (for spelling suggestions)."""
    model: Any = Config
    for part in location:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            if model is _settings_model():
                continue
            # dict entries (services.<name>) hold ServiceSettings
            model = _settings_model()
            continue
        annotation = field.annotation
        model = _dict_value_model(annotation) or annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _settings_model() -> type[BaseModel]:
    from mediastack.config.schema import ServiceSettings

    return ServiceSettings


def _dict_value_model(annotation: Any) -> type[BaseModel] | None:
    arguments: tuple[Any, ...] = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is dict and len(arguments) == 2:
        value = arguments[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None
