"""Serving engines: one module per engine, beside the others.

An engine module says how its server divides GPU memory (``gpu_budget``, the planner's memory model), the
exact command line it runs (``command``) and, in ``reasoning_stack.services``, its unit. vLLM's modules
(``reasoning_stack.memory`` and ``reasoning_stack.plan.vllm_args``) stay where they are; the planner asks
:func:`budget_for` and :func:`command_for` for the engine of each instance.
"""

from __future__ import annotations

from typing import Literal

Engine = Literal["vllm", "sglang", "ollama", "mlx"]
# "auto" (a setting value) resolves to vllm or ollama on NVIDIA GPUs, to mlx on a Mac
ENGINES: tuple[str, ...] = ("vllm", "sglang", "ollama", "mlx")
