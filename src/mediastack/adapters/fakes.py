"""In-memory stand-ins for the adapters, for unit tests of everything built on them.

They follow the same contracts as the real adapters (errors included) so a test exercises the
caller's real error handling; nothing here touches a process, a socket or /proc.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mediastack.adapters.engine import ContainerInfo, Filters, NetworkInfo
from mediastack.adapters.engine_images import LocalImage
from mediastack.adapters.errors import CommandError, ToolMissingError
from mediastack.adapters.executor import DEFAULT_TIMEOUT_SECONDS, CommandResult, combined_output


@dataclass(frozen=True)
class RecordedCall:
    """One command a RecordingExecutor was asked to run."""

    arguments: tuple[str, ...]
    streamed: bool
    input: str | None = None


@dataclass(frozen=True)
class _Response:
    tokens: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class RecordingExecutor:
    """Records every command and answers from scripted responses.

    ``respond(*tokens, ...)`` answers every later command that contains all ``tokens``; the
    most recent matching response wins. Unmatched commands succeed with empty output. A tool
    in ``missing_tools`` raises ToolMissingError, as a real missing binary would.
    """

    missing_tools: set[str] = field(default_factory=set)
    calls: list[RecordedCall] = field(default_factory=list)
    _responses: list[_Response] = field(default_factory=list)

    def respond(self, *tokens: str, stdout: str = "", stderr: str = "", exit_code: int = 0) -> None:
        self._responses.append(_Response(tokens, exit_code, stdout, stderr))

    def run(
        self,
        arguments: Sequence[str],
        *,
        secrets: Sequence[str] = (),
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        input: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        result = self._answer(arguments, streamed=False, input=input)
        if check and result.exit_code != 0:
            raise CommandError(
                result.arguments, result.exit_code, combined_output(result.stdout, result.stderr)
            )
        return result

    def stream(self, arguments: Sequence[str], *, secrets: Sequence[str] = ()) -> int:
        return self._answer(arguments, streamed=True, input=None).exit_code

    @property
    def commands(self) -> list[tuple[str, ...]]:
        return [call.arguments for call in self.calls]

    def _answer(
        self, arguments: Sequence[str], *, streamed: bool, input: str | None
    ) -> CommandResult:
        command = tuple(arguments)
        self.calls.append(RecordedCall(command, streamed, input))
        if command[0] in self.missing_tools:
            raise ToolMissingError(command[0], f"install {command[0]}", command)
        for response in reversed(self._responses):
            if all(token in command for token in response.tokens):
                return CommandResult(command, response.exit_code, response.stdout, response.stderr)
        return CommandResult(command, 0, "", "")


@dataclass
class FakeEngine:
    """Containers, namespaces and networks held in memory. Filters supported: ``label``
    (``key=value`` or ``key``) and ``name`` (substring, as the engine does)."""

    containers: list[ContainerInfo] = field(default_factory=list)
    namespaces: dict[int, str] = field(default_factory=dict)
    networks: dict[str, NetworkInfo] = field(default_factory=dict)
    builds: list[tuple[str, dict[str, str], list[str]]] = field(default_factory=list)
    built: dict[str, Mapping[str, str]] = field(default_factory=dict)

    def inspect_containers(self, filters: Filters) -> list[ContainerInfo]:
        return [container for container in self.containers if _matches(container, filters)]

    def network_namespace(self, pid: int) -> str | None:
        return self.namespaces.get(pid)

    def inspect_network(self, name: str) -> NetworkInfo | None:
        return self.networks.get(name)

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> bool:
        if name in self.networks:
            return False
        self.networks[name] = NetworkInfo(f"id-{name}", name, "bridge", dict(labels))
        return True

    def remove_network(self, name: str) -> bool:
        return self.networks.pop(name, None) is not None

    def build_image(
        self,
        context: Path,
        tag: str,
        build_arguments: Mapping[str, str],
        labels: Mapping[str, str],
        on_line: Callable[[str], None],
    ) -> None:
        """Record the build (with the context's file names); the image, with ``labels``, is
        then in ``built``, which a FakeImages given this engine reads."""
        names = sorted(path.name for path in context.iterdir())
        self.builds.append((tag, dict(build_arguments), names))
        on_line(f"Successfully tagged {tag}")
        self.built[tag] = dict(labels)


@dataclass
class FakeImages:
    """The image store as ``EngineImages`` reads it (``inspect_images``), for ``up``'s image
    decision: ``missing`` tags are absent, images the ``engine`` built carry their labels, and
    any other tag exists, built from the current code."""

    engine: FakeEngine
    missing: set[str] = field(default_factory=set)

    def inspect_images(self, references: Sequence[str]) -> dict[str, LocalImage]:
        from mediastack.supervisor_image.build import SOURCE_LABEL
        from mediastack.supervisor_image.context import source_hash

        found = {}
        for reference in references:
            if reference in self.engine.built:
                labels = self.engine.built[reference]
            elif reference in self.missing:
                continue
            else:
                labels = {SOURCE_LABEL: source_hash()}
            found[reference] = LocalImage(f"sha256:{reference}", (), (reference,), labels)
        return found


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(container: ContainerInfo, filters: Filters) -> bool:
    for wanted in _as_list(filters.get("label", [])):
        key, has_value, value = wanted.partition("=")
        if key not in container.labels or (has_value and container.labels[key] != value):
            return False
    return all(name in container.name for name in _as_list(filters.get("name", [])))
