"""What Open WebUI is told about the models of a host, beyond the connections: which model runs its background
tasks (chat titles, tags, follow-up suggestions), which of those tasks run, the defaults every model gets, and
the cloud APIs shown beside the local models.

Open WebUI 0.12.4 sends each chat turn's title, tags and follow-up requests to the chat's own model unless
``TASK_MODEL_EXTERNAL`` names another, with ``max_tokens`` 1000 for the title: a reasoning model spends its
thinking on them and can run out before it writes the title. ``TASK_MODEL_PARAMS`` is merged into every task
request, so a Qwen3 task model gets ``chat_template_kwargs: {"enable_thinking": false}`` and answers at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from reasoning_stack import engines
from reasoning_stack.catalogue import find_model
from reasoning_stack.planning.types import HostPlan, Instance
from reasoning_stack.settings import StackSettings
from reasoning_stack.settings.openwebui import DEFAULT_THINKING_BUDGETS

ALL_TASKS = ("title", "tags", "follow_up")
# Open WebUI's switch for each task; every one defaults to on in Open WebUI.
TASK_SWITCHES = {
    "title": "ENABLE_TITLE_GENERATION",
    "tags": "ENABLE_TAGS_GENERATION",
    "follow_up": "ENABLE_FOLLOW_UP_GENERATION",
}
QUICK_TASK_TOKENS = 512  # a title, a few tags or three follow-ups, written without thinking
THINKING_TASK_TOKENS = 4096  # room to think before the title when the task model always reasons


@dataclass(frozen=True)
class TaskConfig:
    """Open WebUI's background-task settings for one host."""

    model: str  # served model name
    ollama: bool  # reached over Ollama's API: Open WebUI's TASK_MODEL (its Ollama connection), else TASK_MODEL_EXTERNAL
    thinks: bool  # the task model reasons before it answers
    params: dict[str, object]  # merged into every task request (TASK_MODEL_PARAMS)
    tasks: tuple[str, ...]  # the tasks left on
    why: str  # one line for the plan and the README

    def env(self) -> dict[str, str]:
        """The Open WebUI environment variables for these settings."""
        env = {"TASK_MODEL" if self.ollama else "TASK_MODEL_EXTERNAL": self.model,
               "TASK_MODEL_PARAMS": json.dumps(self.params, sort_keys=True)}
        env.update({switch: str(task in self.tasks) for task, switch in TASK_SWITCHES.items()})
        env["ENABLE_AUTOCOMPLETE_GENERATION"] = "False"  # a request per keystroke pause; off in Open WebUI too
        return env


def _thinks_by_default(settings: StackSettings, instance: Instance) -> bool:
    model = find_model(instance.plan.model)
    # Only the primary model follows thinking_default; an extra Qwen3 model thinks unless a request says not to.
    return not (model.thinking_switch and not instance.name and not settings.thinking_default)


def _can_switch_thinking_off(instance: Instance) -> bool:
    """Qwen3 behind a server whose requests switch thinking (vLLM, SGLang: chat_template_kwargs)."""
    return find_model(instance.plan.model).thinking_switch and engines.get(instance.engine).thinking_off_per_request


def task_config(settings: StackSettings, host_plan: HostPlan) -> TaskConfig:
    """Choose the task model: ``openwebui_task_model`` when set, else a model that can answer without thinking
    (Qwen3, thinking switched off per request), else the smallest model of the host. Tasks: all three when the
    task model answers without thinking, only the title otherwise (``openwebui_tasks`` overrides)."""
    instances = host_plan.instances
    if settings.openwebui_task_model is not None:  # validated: one of the host's served names
        chosen = next(i for i in instances if i.served_model_name == settings.openwebui_task_model)
        why = "set by openwebui_task_model"
    else:
        switchable = [i for i in instances if _can_switch_thinking_off(i)]
        pool = switchable or list(instances)
        chosen = min(pool, key=lambda i: find_model(i.plan.model).params_b)
        why = ("answers without thinking (Qwen3, enable_thinking false)" if switchable
               else "the smallest model here; it reasons first, so only titles are made")
    quick = _can_switch_thinking_off(chosen) or not _thinks_by_default(settings, chosen)
    if quick:
        params: dict[str, object] = {"max_tokens": QUICK_TASK_TOKENS}
        if _can_switch_thinking_off(chosen):
            params["chat_template_kwargs"] = {find_model(chosen.plan.model).thinking_kwarg: False}
    else:
        params = {"max_tokens": THINKING_TASK_TOKENS}
    if settings.openwebui_tasks is not None:
        tasks = tuple(t for t in ALL_TASKS if t in settings.openwebui_tasks)
    else:
        tasks = ALL_TASKS if quick else ("title",)
    return TaskConfig(chosen.served_model_name, not engines.get(chosen.engine).openai_api, not quick, params, tasks,
                      why)


def model_defaults_env() -> dict[str, str]:
    """Defaults Open WebUI gives every model: the "usage" capability, so it asks for token counts
    (``stream_options.include_usage``) and shows them under each answer. No sampling defaults: vLLM already
    applies each model's generation_config.json (``--generation-config auto``) when a request leaves them out,
    and Open WebUI sends none of its own."""
    return {"DEFAULT_MODEL_METADATA": json.dumps({"capabilities": {"usage": True}})}


# With per-person keys on, a key reaches only what an OpenAI client uses (base URL <Open WebUI>/api); a leaked key
# cannot change the person's account, read their chats or make another key.
API_KEY_ENDPOINTS = ("/api/models", "/api/chat/completions")
USAGE_DIR = "audit"  # under Open WebUI's data folder: its record of model calls, a folder of mode 0700
USAGE_LOG = f"{USAGE_DIR}/usage.log"  # Open WebUI's audit log in it


def api_keys_env(settings: StackSettings, data_dir: str) -> dict[str, str]:
    """Open WebUI's per-person API keys (``openwebui_api_keys``) and, with them, its audit log at the METADATA level
    for chat completions only: one line per model call with the person (id, name, e-mail), the model and the
    tokens, never a prompt or an answer (``reasoning-stack usage`` sums it). ``data_dir``: Open WebUI's data folder
    as Open WebUI sees it. Nothing when keys are off (Open WebUI's own default, no key works)."""
    if settings.openwebui_api_keys == "off":
        return {}
    return {"ENABLE_API_KEYS": "True",
            "USER_PERMISSIONS_FEATURES_API_KEYS": str(settings.openwebui_api_keys == "everyone"),
            "ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS": "True",
            "API_KEYS_ALLOWED_ENDPOINTS": ",".join(API_KEY_ENDPOINTS),
            "AUDIT_LOG_LEVEL": "METADATA",
            "AUDIT_INCLUDED_PATHS": "chat/completions",
            "AUDIT_LOGS_FILE_PATH": f"{data_dir}/{USAGE_LOG}"}


def connection_configs(settings: StackSettings, local_count: int) -> str:
    """``OPENAI_API_CONFIGS`` for Open WebUI when cloud connections follow the ``local_count`` local ones: each
    cloud connection lists only its models, under its prefix (``deepseek.deepseek-reasoner``), so they stand
    apart from the local models. Empty when there is no cloud connection."""
    if not settings.openwebui_cloud:
        return ""
    configs: dict[str, dict[str, object]] = {str(i): {"enable": True} for i in range(local_count)}
    for offset, cloud in enumerate(settings.openwebui_cloud):
        configs[str(local_count + offset)] = {"enable": True, "prefix_id": cloud.model_prefix,
                                              "model_ids": list(cloud.models), "tags": [{"name": cloud.name}]}
    return json.dumps(configs, sort_keys=True)


REASONING_EFFORT = "medium"  # gpt-oss's own default; a chat's advanced params change it (low | medium | high)
REASONS_FIRST = ("deepseek-r1-distill", "deepseek-r1", "qwq")  # families that always think before answering
# DeepSeek's advice for maths (DeepSeek-R1 model card, "Usage Recommendations"); QwQ's card asks the same.
MATHS_DIRECTIVE = "Please reason step by step, and put your final answer within \\boxed{}."
THINKING_CONTROL = "thinking"  # the menus' keys in Open WebUI (a request's model_controls name them)
THINKING_BUDGET_CONTROL = "thinking_budget"
PUBLIC_READ = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]


def model_entries(host_plan: HostPlan, model_groups: dict[str, list[str]] | None = None,
                  menus: Mapping[str, dict[str, object]] | None = None) -> list[dict[str, object]]:
    """Open WebUI model entries for the host's models (created or updated by the deploy as the admin): a name
    a person understands ("DeepSeek-R1-Distill-Qwen-32B AWQ" for ``deepseek-r1-distill-qwen-32b``), the
    catalogue's prompting advice as the description (R1 family: no system prompt; maths in \\boxed{}), for
    the R1 family and QwQ a suggestion that asks for a \\boxed{} answer, gpt-oss's reasoning effort as a model
    parameter Open WebUI sends (and a chat can change), and read access for everyone. A model with no tool-call
    format (the R1 distills, QwQ) has Open WebUI's built-in tools off: its chats would otherwise send ``tools``,
    which vLLM refuses without a tool-call parser ("auto" tool choice requires --enable-auto-tool-choice), so
    every chat from the web page would fail. No system prompt and no sampling are set: vLLM applies each model's
    generation_config.json. ``model_groups`` (``openwebui_model_groups``): the models only some groups may use;
    their entries name the groups, which the host's helper turns into Open WebUI's group grants.
    ``menus`` (:func:`chat_menus`, by served name): the menus each chat of a model shows (Open WebUI's model
    controls)."""
    model_groups = model_groups or {}
    menus = menus or {}
    entries = []
    for instance in host_plan.instances:
        spec = find_model(instance.plan.model)
        quantization = instance.plan.quantization
        name = spec.name if quantization in ("", "auto", "bf16") else f"{spec.name} {quantization.upper()}"
        meta: dict[str, object] = {"description": f"{spec.prompt_advice} Its reasoning shows above the answer "
                                                  "under 'Thought for…': click to read it.".strip()}
        if spec.family in REASONS_FIRST:
            meta["suggestion_prompts"] = [{"title": ["Solve a maths problem", "final answer in \\boxed{}"],
                                           "content": f"{MATHS_DIRECTIVE}\n\nWhat is the sum of the first 50 "
                                                      "odd numbers?"}]
        # the engine's own naming and params (Ollama: the planned num_ctx, which wins over its server's setting)
        own_name, params = engines.get(instance.engine).webui_entry(spec.name, instance.plan)
        name = own_name or name
        if not spec.tool_call_parser:  # no tool calls: Open WebUI must not attach its built-in tools
            meta["capabilities"] = {"builtin_tools": False}
        if spec.reasoning_effort:  # gpt-oss: Open WebUI's "Reasoning Effort" control, sent with every chat
            params = {**params, "reasoning_effort": REASONING_EFFORT}
        if menus.get(instance.served_model_name):  # each default sends nothing: a request's own fields still win
            params = {**params, "model_controls": menus[instance.served_model_name]}
        entry = {"id": instance.served_model_name, "base_model_id": None, "name": name, "meta": meta,
                 "params": params, "access_grants": PUBLIC_READ, "is_active": True}
        groups = model_groups.get(instance.served_model_name)
        if groups:
            entry.update(access_grants=[], groups=list(groups))
        entries.append(entry)
    return entries


def model_entries_json(settings: StackSettings, host_plan: HostPlan) -> str:
    """The model entries file the deploy leaves on the host for its helper (``OPENWEBUI_MODELS_JSON``)."""
    menus = {i.served_model_name: chat_menus(settings, i) for i in host_plan.instances}
    entries = model_entries(host_plan, settings.openwebui_model_groups, menus)
    return json.dumps(entries, indent=1) + "\n"  # in the order built: a menu's options show in the file's order


def chat_menus(settings: StackSettings, instance: Instance) -> dict[str, object]:
    """The menus each chat of ``instance``'s model shows in Open WebUI (0.12.4's ``params.model_controls``, by
    key): "Thinking" (on or off) where a request switches it, "Thinking budget" where a budget holds. A person's
    choice travels as custom parameters; each menu's default is the server's own behaviour and sends nothing."""
    menus: dict[str, object] = {}
    if _can_switch_thinking_off(instance):
        menus[THINKING_CONTROL] = thinking_control(_thinks_by_default(settings, instance),
                                                   find_model(instance.plan.model).thinking_kwarg)
    budgets, _why_none = budget_offer(settings, instance)
    if budgets:
        menus[THINKING_BUDGET_CONTROL] = budget_control(budgets)
    return menus


def thinking_control(thinks_by_default: bool, kwarg: str = "enable_thinking") -> dict[str, object]:
    """The "Thinking" menu: on or off for the chat; the server's default sends nothing, the other choice sends
    ``chat_template_kwargs`` with the model's switch (``enable_thinking``; DeepSeek V4's ``thinking``)."""
    def switch(on: bool) -> dict[str, object]:
        return {} if on == thinks_by_default else {"chat_template_kwargs": {kwarg: on}}

    return {"label": "Thinking", "default": "on" if thinks_by_default else "off",
            "description": "Whether the model reasons before it answers; off answers at once.",
            "options": {"on": {"label": "On", "params": switch(True)},
                        "off": {"label": "Off", "params": switch(False)}}}


def budget_offer(settings: StackSettings, instance: Instance) -> tuple[tuple[int, ...], str]:
    """(the thinking budgets ``instance``'s chat menu offers, why none where it offers none):
    openwebui_thinking_budgets (None: the stack's ladder) where its engine's release caps the reasoning with a
    request's ``thinking_token_budget``, less those not below its max_model_len (they could never bind)."""
    problem = engines.get(instance.engine).thinking_budget_problem(settings, find_model(instance.plan.model))
    if problem:
        return (), problem
    asked = settings.openwebui_thinking_budgets
    if asked == []:
        return (), "openwebui_thinking_budgets is []"
    budgets = DEFAULT_THINKING_BUDGETS if asked is None else tuple(asked)
    offered = tuple(b for b in budgets if b < instance.plan.max_model_len)
    return offered, "" if offered else (f"openwebui_thinking_budgets offers none below max_model_len "
                                        f"{instance.plan.max_model_len:,}")


def chat_menus_text(settings: StackSettings, instance: Instance) -> list[str]:
    """What ``plan`` says of the menus ``instance``'s chats show: thinking on or off where a request switches it,
    and the thinking budgets, or why there are none."""
    lines = []
    if _can_switch_thinking_off(instance):
        first, then = ("On", "Off") if _thinks_by_default(settings, instance) else ("Off", "On")
        kwarg = find_model(instance.plan.model).thinking_kwarg
        lines.append(f"thinking per chat (Open WebUI's menu, sent as {kwarg}): {first} (the default), {then}")
    offered, why = budget_offer(settings, instance)
    if offered:
        lines.append("thinking budget per chat (Open WebUI's menu, sent as thinking_token_budget): No limit (the "
                     f"default), {', '.join(f'{b:,}' for b in offered)} tokens")
    else:
        lines.append(f"thinking budget per chat: none offered ({why})")
    return lines


def budget_control(budgets: tuple[int, ...]) -> dict[str, object]:
    """Open WebUI 0.12.4's model control (``params.model_controls``) for a thinking budget: a menu a person sets per
    chat, whose choice Open WebUI sends as custom parameters; "No limit", the default, sends none."""
    options: dict[str, object] = {"no_limit": {"label": "No limit", "params": {}}}
    for budget in budgets:
        options[f"tokens_{budget}"] = {"label": f"{budget:,} tokens",
                                       "params": {"thinking_token_budget": budget}}
    return {"label": "Thinking budget", "default": "no_limit", "options": options,
            "description": "The most tokens the model reasons before it must answer; fewer answer sooner, "
                           "more think harder."}
