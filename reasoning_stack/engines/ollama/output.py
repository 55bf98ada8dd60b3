"""What Ollama's planner adds to a plan: the environment ``ollama serve`` reads (it reads nothing else)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reasoning_stack.planning.types import EngineOutput


@dataclass(frozen=True)
class OllamaOutput(EngineOutput):
    """The server's settings, as environment variables (``OLLAMA_NUM_PARALLEL``, ``OLLAMA_CONTEXT_LENGTH``, ...)."""

    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json_defaults(cls) -> dict[str, object]:
        return {"environment": {}}

    def json_fields(self) -> dict[str, object]:
        return {"environment": dict(self.environment)}

    def command_lines(self) -> list[str]:
        return [f"    {key}={value}" for key, value in sorted(self.environment.items())]
