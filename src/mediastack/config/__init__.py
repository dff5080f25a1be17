"""The config file: one pydantic schema, loaded with every problem reported at once."""

from mediastack.config.errors import ConfigError, ConfigProblem
from mediastack.config.load import (
    CONFIG_ENVIRONMENT_VARIABLE,
    DEFAULT_CONFIG_NAME,
    LoadedConfig,
    default_config_path,
    load_config,
    parse_config,
)
from mediastack.config.schema import Config

__all__ = [
    "CONFIG_ENVIRONMENT_VARIABLE",
    "DEFAULT_CONFIG_NAME",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "LoadedConfig",
    "default_config_path",
    "load_config",
    "parse_config",
]
