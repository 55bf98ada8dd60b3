"""What vLLM's planner adds to a plan: the release it planned for and the ``vllm serve`` arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from reasoning_stack.planning.types import EngineOutput


@dataclass(frozen=True)
class VllmOutput(EngineOutput):
    """The ``vllm serve`` arguments of the plan (the model first; the service adds its port, key and node flags)."""

    args: list[str] = field(default_factory=list)
    release: str = ""  # the vLLM release planned for (its memory regime, flags and defaults)
    draft_repo: str = ""  # the drafter repo --speculative-config loads beside the model (speculative_tokens)

    @classmethod
    def json_defaults(cls) -> dict[str, object]:
        return {"vllm_args": [], "vllm_version": None, "vllm_draft_repo": None}

    def json_fields(self) -> dict[str, object]:
        return {"vllm_args": list(self.args), "vllm_version": self.release, "vllm_draft_repo": self.draft_repo or None}

    def repos_beside(self) -> list[str]:
        return [self.draft_repo] if self.draft_repo else []

    def release_text(self) -> str:
        return f"vLLM {self.release}" if self.release else ""
