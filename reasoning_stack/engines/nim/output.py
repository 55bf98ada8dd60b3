"""What NIM's planner adds to a plan: the vLLM flags it passes to the vLLM inside NIM (vLLM's own output type, the
release being the one inside the image), the NIM release and where NIM reads the model from."""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.engines.vllm.output import VllmOutput


@dataclass(frozen=True)
class NimOutput(VllmOutput):
    """The image's arguments (vLLM flags, no model: NIM reads ``model_path``), the vLLM release inside the image
    and the NIM LLM release."""

    nim_release: str = ""
    model_path: str = ""  # NIM_MODEL_PATH: hf://org/name, or a folder on the host

    @classmethod
    def json_defaults(cls) -> dict[str, object]:
        return {"nim_release": None, "nim_model_path": None}

    def json_fields(self) -> dict[str, object]:
        return {**super().json_fields(), "nim_release": self.nim_release, "nim_model_path": self.model_path}

    def command_lines(self) -> list[str]:
        return [f"    NIM_MODEL_PATH={self.model_path}"]

    def release_text(self) -> str:
        return f"NIM {self.nim_release} (vLLM {self.release})"
