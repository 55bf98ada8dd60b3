"""The 'Reply cut off' filter the stack keeps in Open WebUI (templates/openwebui-cut-off-notice.py.j2), run on the
bodies Open WebUI 0.12.4 hands a filter's outlet after a chat turn (its ``messages``, the turn's reply carrying
``finish_reason``), and the file the deploy writes for it. The real Open WebUI runs it in
tests/test_real_vllm.py (a browser) and keeps it through the helper in tests/test_openwebui_real.py."""

from __future__ import annotations

import asyncio
import json

from reasoning_stack.openwebui.functions import CUT_OFF_NOTICE, functions_json, functions_text
from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings


def _filter():
    namespace: dict = {}
    exec(compile(render(CUT_OFF_NOTICE.template), CUT_OFF_NOTICE.template, "exec"), namespace)  # as Open WebUI does
    return namespace


def _outlet(messages: list[dict]) -> tuple[list[dict], list[dict]]:
    source, events = _filter(), []

    async def emit(event: dict) -> None:
        events.append(event)

    body = asyncio.run(source["Filter"]().outlet({"messages": messages}, __event_emitter__=emit))
    return body["messages"], events


def _reply(content: str, finish_reason: str | None, output: list | None = None) -> dict:
    reply = {"id": "m2", "role": "assistant", "content": content, "output": output or []}
    return {**reply, "finish_reason": finish_reason} if finish_reason else reply


def test_a_reply_cut_off_while_reasoning_gets_a_note_where_its_answer_would_be():
    reasoning = {"type": "reasoning", "content": [{"type": "output_text", "text": "17 * 23 = 340 + 51"}]}
    (question, reply), events = _outlet([{"id": "m1", "role": "user", "content": "What is 17 * 23?"},
                                         _reply("", "length", [reasoning])])
    note = _filter()["STILL_REASONING"]
    assert reply["content"] == note and "Cut off while reasoning" in note
    assert reply["output"][0] == reasoning  # the reasoning so far is kept, under "Thought for…"
    assert reply["output"][1]["type"] == "message" and reply["output"][1]["content"][0]["text"] == note
    assert question["content"] == "What is 17 * 23?" and events == []
    again, events = _outlet([reply])  # run twice, it marks once
    assert again == [reply] and len(reply["output"]) == 2 and events == []


def test_the_note_never_goes_back_to_the_model_in_a_later_turn():
    """Open WebUI sends the chat's earlier turns with the next question; the filter's inlet empties a reply that is
    only the note, so the model does not read it as something it said. Other replies go as they are."""
    note = _filter()["STILL_REASONING"]
    body = {"messages": [{"role": "user", "content": "What is 17 * 23?"}, {"role": "assistant", "content": note},
                         {"role": "assistant", "content": "The answer is 391."},
                         {"role": "user", "content": note}, {"role": "user", "content": "Try again."}]}
    sent = _filter()["Filter"]().inlet(body)["messages"]
    assert [m["content"] for m in sent] == ["What is 17 * 23?", "", "The answer is 391.", note, "Try again."]


def test_an_answer_cut_off_midway_keeps_its_text_and_gets_a_line_above_it():
    (reply,), events = _outlet([_reply("The answer is", "length")])
    assert reply["content"] == "The answer is"  # Continue Response carries on from the text as written
    assert events == [{"type": "status", "data": {"description": _filter()["IN_THE_ANSWER"], "done": True}}]


def test_a_whole_reply_and_earlier_turns_are_left_alone():
    earlier = {"id": "m0", "role": "assistant", "content": ""}  # Open WebUI gives finish_reason to this turn's only
    whole = _reply("The answer is 391.", "stop")
    messages, events = _outlet([earlier, whole])
    assert messages == [earlier, whole] and events == []


def test_the_deploy_keeps_it_on_for_every_model_unless_switched_off():
    on = StackSettings(model="qwen3-8b")
    off = StackSettings(model="qwen3-8b", openwebui_cut_off_notice=False)
    (kept,) = json.loads(functions_json(on))
    assert kept["id"].isidentifier() and kept["active"] is True  # Open WebUI takes only identifiers as ids
    assert kept["content"] == render(CUT_OFF_NOTICE.template) and "class Filter" in kept["content"]
    assert json.loads(functions_json(off))[0]["active"] is False
    assert functions_text(on) == ["a reply of any model cut off at its token limit: says so in the chat, even "
                                  "while still reasoning (Open WebUI filter 'Reply cut off', "
                                  "openwebui_cut_off_notice)"]
    assert "shows as written" in functions_text(off)[0]


def test_plan_says_it_once_a_host_however_many_models_it_serves(tmp_path):
    import subprocess
    import sys

    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventory.py").write_text('boxes = [("gpu-box", {"ssh_hostname": "192.0.2.10"})]\n')
    (tmp_path / "group_data" / "boxes.py").write_text(
        'gpu_profile = "rtx-4090"\ngpu_count = 2\nmodel = "deepseek-r1-distill-qwen-7b"\n'
        'extra_models = [{"name": "fast", "model": "qwen3-8b", "port": 8001}]\n')
    out = subprocess.run([sys.executable, "-m", "reasoning_stack.cli", "plan", "inventory.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "gpu-box/fast:" in out.stdout and out.stdout.count("Open WebUI filter 'Reply cut off'") == 1, out.stdout
