"""What SGLang's planner adds to a plan: its share of the GPU memory for weights and KV cache."""

from __future__ import annotations

from dataclasses import dataclass

from reasoning_stack.planning.types import EngineOutput


@dataclass(frozen=True)
class SglangOutput(EngineOutput):
    """``--mem-fraction-static``: the share of each GPU SGLang keeps for weights and KV cache (its own rule)."""

    mem_fraction_static: float

    @classmethod
    def json_defaults(cls) -> dict[str, object]:
        return {"mem_fraction_static": None}

    def json_fields(self) -> dict[str, object]:
        return {"mem_fraction_static": self.mem_fraction_static}
