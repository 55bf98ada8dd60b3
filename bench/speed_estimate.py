"""The planner's single-request decode estimate beside published vLLM figures, and how long planning takes.

Prints one line per published figure (the ones tests/test_known_answers.py asserts within 30%, plus the one
it does not: a 1.5B model on one RTX 4090, bound by per-step overhead rather than bandwidth), then the time
`reasoning-stack plan` needs for an 8-GPU what-if with its alternatives.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from reasoning_stack.gpus import gpus_from_profile  # noqa: E402
from reasoning_stack.plan import PlanRequest, make_plan  # noqa: E402
from reasoning_stack.tradeoffs import alternatives  # noqa: E402
from tests.test_known_answers import IOG, SPEEDS, Measured, _estimate  # noqa: E402

OUTLIER = Measured(IOG, "deepseek-r1-distill-qwen-1.5b", "NVIDIA GeForce RTX 4090", 1, 1000 / 11.42)


def main() -> None:
    print(f"{'model':32} {'GPU':24} {'TP':>2} {'measured':>9} {'estimate':>9} {'error':>7} {'bound':>7}")
    errors = []
    for case in [*SPEEDS, OUTLIER]:
        speed = _estimate(case)
        error = speed.tokens_per_s / case.tokens_per_s - 1
        if case is not OUTLIER:
            errors.append(abs(error))
        note = "  (not asserted: overhead-bound)" if case is OUTLIER else ""
        print(f"{case.model:32} {case.gpu_name.removeprefix('NVIDIA '):24} {case.tp:>2} {case.tokens_per_s:9.1f} "
              f"{speed.tokens_per_s:9.1f} {error:+7.1%} {speed.bound_tokens_per_s:7.1f}{note}")
    print(f"asserted cases: {len(errors)}, mean |error| {sum(errors) / len(errors):.1%}, worst {max(errors):.1%}")
    req = PlanRequest(gpus=tuple(gpus_from_profile("h100", 8)), model="auto")
    start = time.perf_counter()
    for _ in range(20):
        alternatives(req, make_plan(req))
    print(f"plan + alternatives, 8x H100, model auto: {(time.perf_counter() - start) / 20 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
