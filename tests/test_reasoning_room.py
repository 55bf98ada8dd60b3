"""``plan`` says how much of the context a typical request leaves for reasoning and answer, and warns when that is
short for a reasoning model (a long trace then stops at finish_reason "length", which the ReasoningCutOff alert
counts)."""

from __future__ import annotations

import json
import subprocess
import sys


def _plan(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", *args], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_plan_shows_the_room_a_typical_request_leaves_to_reason():
    planned = json.loads(_plan("--gpu", "rtx-4090", "--model", "qwen3-8b", "--json"))["max_model_len"]
    room = next(line for line in _plan("--gpu", "rtx-4090", "--model", "qwen3-8b").splitlines() if "room to" in line)
    assert f"room to reason: {planned - 2000:,} tokens of reasoning and answer after a 2,000-token prompt" in room
    assert "ReasoningCutOff" in room and "short for a reasoning model" not in room


def test_a_short_context_is_said_to_cut_long_reasoning():
    text = _plan("--gpu", "rtx-4090", "--model", "qwen3-8b", "--context", "8192")
    room = next(line for line in text.splitlines() if "room to reason" in line)
    assert "room to reason: 6,192 tokens" in room
    assert "short for a reasoning model: long traces will be cut off" in room
