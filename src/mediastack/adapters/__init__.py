"""The only places with side effects: subprocesses (executor), ``docker compose`` (compose),
the Docker engine (engine). Everything else is pure and takes these as parameters."""

from mediastack.adapters.errors import (
    AdapterError,
    CommandError,
    EngineError,
    EngineUnreachableError,
    ToolMissingError,
)
from mediastack.adapters.executor import (
    CommandResult,
    DryRunExecutor,
    Executor,
    SubprocessExecutor,
)

__all__ = [
    "AdapterError",
    "CommandError",
    "CommandResult",
    "DryRunExecutor",
    "EngineError",
    "EngineUnreachableError",
    "Executor",
    "SubprocessExecutor",
    "ToolMissingError",
]
