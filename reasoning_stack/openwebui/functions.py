"""The Open WebUI functions the stack keeps: filters that run inside Open WebUI on every model's chats. One today,
"Reply cut off" (``templates/openwebui-cut-off-notice.py.j2``, switched by ``openwebui_cut_off_notice``): Open WebUI
0.12.4 shows a reply that stopped at its token limit while the model was still reasoning as an empty answer under
"Thought for…"; the filter puts a note there instead, and a line above an answer cut off midway.

The deploy writes them as one JSON file beside the model entries; the ``openwebui-models`` helper creates each
function through Open WebUI's admin API, updates its code when it differs, and switches it on for every model (or
off, when the setting says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from reasoning_stack.render import render
from reasoning_stack.settings import StackSettings


@dataclass(frozen=True)
class WebuiFunction:
    """One Open WebUI function the stack keeps: its id (a Python identifier), the name and description the admin
    panel shows, its source's template, the setting that switches it, and what ``plan`` says of it on and off."""

    id: str
    name: str
    description: str
    template: str
    setting: str
    said_on: str
    said_off: str


CUT_OFF_NOTICE = WebuiFunction(
    id="reasoning_stack_cut_off", name="Reply cut off",
    description="Says so when a reply stopped at its token limit, above all while the model was still reasoning "
                "(managed by reasoning-stack: openwebui_cut_off_notice)",
    template="openwebui-cut-off-notice.py.j2", setting="openwebui_cut_off_notice",
    said_on="a reply of any model cut off at its token limit: says so in the chat, even while still reasoning",
    said_off="a reply cut off at its token limit: shows as written (an empty answer while still reasoning)")
FUNCTIONS = (CUT_OFF_NOTICE,)


def functions_json(settings: StackSettings) -> str:
    """The functions file the helper applies: each function's id, name, description, code and whether it is on."""
    return json.dumps([{"id": f.id, "name": f.name, "meta": {"description": f.description},
                        "content": render(f.template), "active": bool(getattr(settings, f.setting))}
                       for f in FUNCTIONS], indent=1)


def functions_text(settings: StackSettings) -> list[str]:
    """What ``plan`` says of them, a line each: what a person sees, and the setting that switches it."""
    return [f"{f.said_on if getattr(settings, f.setting) else f.said_off} (Open WebUI filter {f.name!r}, {f.setting})"
            for f in FUNCTIONS]
