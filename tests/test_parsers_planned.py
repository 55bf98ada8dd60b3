"""Every preset's planned vLLM command line carries its reasoning parser, and, where the model has a tool format,
its tool parser with auto tool choice: the recipe's "tool-call JSON carries reasoning" and "reasoning leaks into
the answer" start with a parser left out."""

from __future__ import annotations

import pytest

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.models import resolve
from reasoning_stack.models.presets import PRESETS
from reasoning_stack.plan import PlanRequest, make_plan

SLUGS = [p["slug"] for p in PRESETS]


@pytest.mark.parametrize("slug", SLUGS)
def test_the_planned_command_line_carries_the_models_parsers(slug: str):
    spec = resolve(slug)
    plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("b200", 8)), model=slug))
    if not plan.fits:  # a model too large for one 8-GPU box plans on a cluster; its parsers are the same code
        plan = make_plan(PlanRequest(gpus=tuple(gpus_from_profile("b200", 8)), model=slug, nodes=2))
    assert plan.fits, plan.reason
    args = plan.output.args
    assert args[args.index("--reasoning-parser") + 1] == spec.reasoning_parser
    if spec.tool_call_parser:
        assert args[args.index("--tool-call-parser") + 1] == spec.tool_call_parser
        assert "--enable-auto-tool-choice" in args
    else:
        assert "--tool-call-parser" not in args and "--enable-auto-tool-choice" not in args
