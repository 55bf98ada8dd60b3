"""The contract's own rules (tests/hosts/contract.py), on recorded chunks: what counts as the same shape and
what does not. The live comparisons are in tests/test_real_vllm.py and tests/test_real_mlx.py."""

from __future__ import annotations

import contract


def _chunk(delta: dict, finish: str | None = None, **choice: object) -> dict:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish, **choice}]}


ROLE = _chunk({"role": "assistant", "content": ""})
END = _chunk({"content": ""}, "stop", stop_reason=None, token_ids=None)
USAGE = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
         "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}


def _tokens(field: str, *texts: str) -> list[dict]:
    return [_chunk({field: t}, token_ids=None) for t in texts]


def test_runs_of_one_shape_fold_whatever_the_token_count():
    few = [ROLE, *_tokens("reasoning", "a"), *_tokens("content", "b"), END, USAGE, "[DONE]"]
    many = [ROLE, *_tokens("reasoning", "a", "b", "c"), *_tokens("content", "d", "e"), END, USAGE, "[DONE]"]
    assert contract.stream_layout(few) == contract.stream_layout(many)
    assert len(contract.stream_layout(many)) == 6


def test_tokens_sent_together_count_as_the_chunks_they_would_have_been():
    apart = [ROLE, *_tokens("reasoning", "a"), *_tokens("content", "b"), END, "[DONE]"]
    together = [ROLE, _chunk({"reasoning": "a", "content": "b"}, token_ids=None),
                _chunk({"content": "c"}, "stop", stop_reason=None, token_ids=None), "[DONE]"]
    assert contract.differences(contract.stream_layout(apart), contract.stream_layout(together)) == []
    assert contract.delta_texts(together) == {"reasoning": "a", "content": "bc"}


def test_a_renamed_reasoning_field_or_a_changed_order_differs():
    real = contract.stream_layout([ROLE, *_tokens("reasoning", "a"), *_tokens("content", "b"), END, "[DONE]"])
    renamed = contract.stream_layout([ROLE, *_tokens("reasoning_content", "a"), *_tokens("content", "b"), END,
                                      "[DONE]"])
    swapped = contract.stream_layout([ROLE, *_tokens("content", "b"), *_tokens("reasoning", "a"), END, "[DONE]"])
    assert any("reasoning_content" in line for line in contract.differences(real, renamed))
    assert contract.differences(real, swapped)
    assert contract.differences(real, real[:-1])  # a missing [DONE] or usage chunk is a difference too


def test_a_shape_keeps_field_names_types_and_the_literal_values():
    assert contract.layout({"object": "list", "data": [{"id": "x", "n": 1, "p": None}]}) == {
        "data": [{"id": "str", "n": "int", "p": "null"}], "object": "list"}
    found = contract.differences(contract.layout({"finish_reason": "stop"}),
                                 contract.layout({"finish_reason": "length"}))
    assert found == [".finish_reason: real 'stop', stand-in 'length'"]
