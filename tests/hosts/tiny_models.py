"""Tiny reasoning models made in the tests, with no download: a real checkpoint (``config.json``, safetensors
weights, a ``tokenizers`` tokenizer with the family's special tokens and chat template) that the real vLLM and
the real MLX-LM load like any other, and that answers every prompt with one fixed reasoning text, the
family's end-of-thinking marker and a short answer.

How it stays deterministic: every layer's output projections (attention ``o_proj``, MLP ``down_proj``) are zero,
so the residual stream is the current token's embedding; embeddings are one-hot (hidden size = vocabulary), and
the LM head maps each token of the fixed reply to the next one with a logit of 30 (every other logit 0). Any
other last prompt token leads to the reply's first token. At the temperatures reasoning models are sampled with
(0.6) the next token's probability is 1 - 1e-19: sampling cannot leave the reply. The attention and MLP still
run on real (small, seeded) weights and a real KV cache.

A second path, for structured output: from the end-of-thinking marker and the "\\n\\n" after it, the next-best
token (logit 15, half the reply's) starts ``{"answer":391}``. Unconstrained, the reply always wins (at 0.6 the
second path's odds are e^-25); under a JSON grammar, which masks the reply's answer, the model writes that object,
so a ``response_format`` request gets one fixed, parseable answer with the reasoning before it.

The same path holds a forced tool call (``tool_choice`` naming ``submit_answer``, a strict tool whose parameters
are that object's schema). vLLM 0.17.1 applies the parameters' schema after the reasoning, as for
``response_format``; 0.32.0 forces the family's own format (Qwen3's ``<tool_call>\\n{"name": "submit_answer",
"arguments": ``), so the space that ends it forks to the object too, and the object's ``}`` is followed, second
best, by the ``}`` that closes the call. Unconstrained, the reply still always wins.

A third path, for tool calls at the model's own choice (families with a tool format): where the prompt offers the
get_weather tool, the model calls it for Paris in its family's format instead of answering (``_tools_signal``: one
attention head finds the tool's name, one token, among the listed tools; one MLP row fires where the answer would
start). A prompt without that tool never takes it (Open WebUI's built-in tools, which its chat page attaches to a
model with a tool format, get the prose), so every other request gets the reply above.

Families:
- ``r1``: DeepSeek-R1 distills (``Qwen2ForCausalLM``): the template opens ``<think>\\n`` in the prompt, the model
  writes reasoning, ``</think>``, the answer, ``<｜end▁of▁sentence｜>``.
- ``qwen3``: Qwen3 (``Qwen3ForCausalLM``) with the ``enable_thinking`` switch: thinking on, the model writes
  ``<think>`` itself; thinking off, the template closes an empty think block and the model writes the answer only.
- ``gemma4``: Gemma 4 (``Gemma4ForCausalLM``, ``gemma4_text``): sliding and full attention layers with their own
  head sizes (64 and 128 here; 256 and 512 in the real ones), the last two reading the first two's KV (E2B/E4B's
  ``num_kv_shared_layers``), no per-layer embeddings; the model writes
  ``<|channel>thought\\n`` (``<|channel>`` and ``thought`` one token each, as in Gemma's vocabulary, where MLX-LM
  finds the channel; no ``<think>`` tokens, which it would take instead), its reasoning, ``<channel|>`` and the
  answer, then ``<turn|>``. Thinking off, the
  template closes an empty channel (the tiny model's choice: it cannot tell the switch from the prompt).
- ``glm47``: GLM-4.7-Flash (``Glm4MoeLiteForCausalLM``): multi-head latent attention (DeepSeek's latent of 512 and
  rotary key of 64, which vLLM's CPU MLA kernel requires) and dense MLPs; the template (``[gMASK]<sop>``, GLM's
  turns) opens ``<think>`` in the prompt, or closes it there with thinking off; the model writes its reasoning,
  ``</think>`` and the answer, then ``<|user|>``; a call is GLM's XML-like one, ended by ``<|observation|>``.
- ``nemotron3``: Nemotron 3 Nano (``NemotronHForCausalLM``): a Mamba-2 layer, an attention layer and a dense
  squared-ReLU MLP (``_nemotron3`` says why not experts); ChatML, ``<think>`` opened in the prompt (or closed
  there with thinking off); a call is Qwen3-Coder's XML. Its Mamba chunks are the real one's 128 tokens.
- ``kimi_k2``: Kimi-K2-Thinking (``DeepseekV3ForCausalLM``, model type ``kimi_k2``): GLM-4.7-Flash's tensors in
  small (they are DeepSeek-V3's) with DeepSeek-V3's routing (``_kimi_k2``); Kimi's ``<|im_…|>`` turns, the tools in
  a tool_declare turn; the model writes ``<think>``, its reasoning, ``</think>`` and the answer, then
  ``<|im_end|>``; a call is Kimi's tool-call section.
- ``minimax_m2``: MiniMax-M2 (``MiniMaxM2ForCausalLM``): full attention with q and k normed over all heads, partial
  rotary embedding, every MLP a mixture of gated experts (``_minimax_m2`` says how they stay one MLP); MiniMax's
  ``]~b]`` turns, ``<think>`` opened in the prompt (thinking only: no switch); the model writes its reasoning,
  ``</think>``, a blank line and the answer, then ``[e~[``; a call is ``<minimax:tool_call>`` with an ``<invoke>``.

    python tiny_models.py FAMILY DEST                   a model folder
    python tiny_models.py cache FAMILY HF_HOME REPO     the model under REPO in a Hugging Face cache
(needs numpy, safetensors and tokenizers: the engines' venvs have them)
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

REASONING = ["17 * 23", " = 17 * 20 + 17 * 3", " = 340 + 51", " = 391", ", checked: 391 / 23 = 17."]
ANSWER = ["The answer is", " \\boxed{391}", "."]
REASONING_TEXT = "".join(REASONING)
ANSWER_TEXT = "".join(ANSWER)
JSON_ANSWER = ['{"answer":', "391", "}"]  # no spaces: a grammar's byte-level vocabulary reads these as written
JSON_ANSWER_TEXT = "".join(JSON_ANSWER)
JSON_SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
# a tool whose arguments are the structured-output object: a request that forces it gets {"answer": 391} back.
# strict, as OpenAI's API defines it: vLLM 0.32 holds a named call's arguments to the tool's schema only then (at
# its default --tool-strict-level auto; a non-strict tool gets its name forced and the model's own arguments)
SUBMIT_TOOL = {"type": "function", "function": {"name": "submit_answer", "description": "Hand in the answer.",
                                                "parameters": JSON_SCHEMA, "strict": True}}
# a tool a request may offer (the R1 distill has no tool format: vLLM refuses it at the model's choice)
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                        "required": ["city"]}}}
# the tool a model with a tool format calls by itself when the prompt offers it (its name one token: the tools
# signal's marker, so Open WebUI's own built-in tools, which a chat page attaches, are answered in prose)
TOOL_NAME = "get_weather"
# the call a model with a tool format makes by itself when the prompt offers get_weather (each family's pieces below: a
# real model writes a call in several tokens, and a streaming parser is made for that; none is a piece of a forced
# call's opening, which the grammar writes)
TOOL_CALL_ARGUMENTS = {"city": "Paris"}
CHOSEN_CALL = (TOOL_NAME, TOOL_CALL_ARGUMENTS)  # that call as a parsed one's name and arguments
HIDDEN = 384  # = vocabulary size: one-hot embeddings
LOGIT = 30.0

# Chat templates: the families' own structure, cut to what a chat needs (system, user, assistant turns with
# earlier reasoning dropped, the generation prompt and, for Qwen3, the enable_thinking switch). Tools are listed by
# name alone: this byte-level vocabulary spends a token a character, and Open WebUI's built-in tools' whole JSON
# would make a chat page's prompt some 26,000 tokens (minutes of prefill on two cores).
R1_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}{% endif %}{% endfor %}"
    "{% for m in messages %}{% if m['role'] == 'user' %}{{ '<｜User｜>' + m['content'] }}"
    "{% elif m['role'] == 'assistant' %}{% set c = m['content'] %}{% if '</think>' in c %}"
    "{% set c = c.split('</think>')[-1] %}{% endif %}{{ '<｜Assistant｜>' + c + '<｜end▁of▁sentence｜>' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}")
QWEN3_TOOLS = (  # Qwen3's own tools block, its system turn's opening
    "{% if tools %}{{ '<|im_start|>system\\n' }}{% if messages[0]['role'] == 'system' %}"
    "{{ messages[0]['content'] + '\\n\\n' }}{% endif %}"
    "{{ '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with"
    " function signatures within <tools></tools> XML tags:\\n<tools>' }}"
    "{% for t in tools %}{{ '\\n{\"name\": \"' + t['function']['name'] + '\"}' }}"
    "{% endfor %}{{ '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments"
    " within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\":"
    " <args-json-object>}\\n</tool_call><|im_end|>\\n' }}{% endif %}")
QWEN3_TEMPLATE = QWEN3_TOOLS + (
    "{% for m in messages %}{% set c = m['content'] or '' %}{% if m['role'] == 'assistant' and '</think>' in c %}"
    "{% set c = c.split('</think>')[-1].lstrip('\\n') %}{% endif %}"
    "{% if m['role'] == 'tool' %}{{ '<|im_start|>user\\n<tool_response>\\n' + c + '\\n</tool_response><|im_end|>\\n' }}"
    "{% elif not (tools and loop.first and m['role'] == 'system') %}{{ '<|im_start|>' + m['role'] + '\\n' + c }}"
    "{% if m['role'] == 'assistant' and m['tool_calls'] %}{% for tool_call in m['tool_calls'] %}"
    "{% if tool_call.function %}{% set tool_call = tool_call.function %}{% endif %}"
    "{{ '<tool_call>\\n{\"name\": \"' + tool_call.name + '\", \"arguments\": ' }}"
    "{% if tool_call.arguments is string %}{{ tool_call.arguments }}{% else %}{{ tool_call.arguments | tojson }}"
    "{% endif %}{{ '}\\n</tool_call>' }}{% endfor %}{% endif %}{{ '<|im_end|>\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}"
    "{% endif %}")
GEMMA4_TEMPLATE = (  # tools declared in the system turn as Gemma 4's own template does, each in <|tool>...<tool|>
    "{{ bos_token }}{% if tools %}{{ '<|turn>system\\n' }}{% if messages[0]['role'] == 'system' %}"
    "{{ messages[0]['content'] }}{% endif %}{% for t in tools %}{{ '<|tool>declaration:' + t['function']['name'] }}"
    "{{ '{}<tool|>' }}{% endfor %}{{ '<turn|>\\n' }}{% endif %}"
    "{% for m in messages %}{% set c = m['content'] or '' %}{% set r = m['role'] %}"
    "{% if r == 'assistant' %}{% set r = 'model' %}{% if '<channel|>' in c %}{% set c = c.split('<channel|>')[-1] %}"
    "{% endif %}{% endif %}{% if r == 'tool' %}{{ '<|tool_response>' + c + '<tool_response|>' }}"
    "{% elif not (tools and loop.first and r == 'system') %}{{ '<|turn>' + r + '\\n' + c }}"
    "{% if r == 'model' and m['tool_calls'] %}{% for call in m['tool_calls'] %}"
    "{{ '<|tool_call>call:' + call['function']['name'] + (call['function']['arguments'] | tojson) + '<tool_call|>' }}"
    "{% endfor %}{% endif %}{{ '<turn|>\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|turn>model\\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<|channel>thought\\n<channel|>' }}{% endif %}"
    "{% endif %}")


GLM47_TEMPLATE = (  # GLM-4.7's structure: [gMASK]<sop>, its tools block, <think> opened in the prompt
    "[gMASK]<sop>{% if tools %}{{ '<|system|>\\n# Tools\\n\\nYou may call one or more functions to assist with the"
    " user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\\n' }}"
    "{% for t in tools %}{{ '{\"name\": \"' + t['function']['name'] + '\"}\\n' }}{% endfor %}"
    "{{ '</tools>\\n\\nFor each function call, output the"
    " function name and arguments within the following XML format:\\n<tool_call>{function-name}<arg_key>{arg-key-1}"
    "</arg_key><arg_value>{arg-value-1}</arg_value>...</tool_call>' }}{% endif %}"
    "{% for m in messages %}{% set c = m['content'] or '' %}{% if m['role'] == 'system' %}{{ '<|system|>' + c }}"
    "{% elif m['role'] == 'user' %}{{ '<|user|>' + c }}{% elif m['role'] == 'tool' %}"
    "{{ '<|observation|><tool_response>' + c + '</tool_response>' }}{% elif m['role'] == 'assistant' %}"
    "{% if '</think>' in c %}{% set c = c.split('</think>')[-1] %}{% endif %}{{ '<|assistant|></think>' + c }}"
    "{% for tool_call in m['tool_calls'] or [] %}{% if tool_call.function %}{% set tool_call = tool_call.function %}"
    "{% endif %}{{ '<tool_call>' + tool_call.name }}{% set args = tool_call.arguments %}"
    "{% if args is mapping %}{% for k, v in args.items() %}"  # (vLLM hands templates the arguments as a mapping)
    "{{ '<arg_key>' + k + '</arg_key><arg_value>' + (v if v is string else v | tojson) + '</arg_value>' }}{% endfor %}"
    "{% endif %}"
    "{{ '</tool_call>' }}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}"
    "{{ '</think>' if (enable_thinking is defined and not enable_thinking) else '<think>' }}{% endif %}")


NEMOTRON3_TEMPLATE = (  # Nemotron 3's structure: ChatML, tools as XML in the system turn, <think> opened in the
    # prompt (or closed there with thinking off), calls in Qwen3-Coder's XML
    "{% if tools %}{{ '<|im_start|>system\\n' }}{% if messages[0]['role'] == 'system' %}"
    "{{ messages[0]['content'] + '\\n\\n' }}{% endif %}{{ '# Tools\\n\\nYou have access to the following functions:"
    "\\n\\n<tools>' }}{% for t in tools %}{{ '\\n<function>\\n<name>' + t['function']['name'] + '</name>\\n' }}"
    "{{ '</function>' }}{% endfor %}"
    "{{ '\\n</tools>\\n\\nIf you choose to call a function ONLY reply in the following format:\\n<tool_call>\\n"
    "<function=example_function_name>\\n<parameter=example_parameter_1>\\nvalue_1\\n</parameter>\\n</function>\\n"
    "</tool_call><|im_end|>\\n' }}{% endif %}"
    "{% for m in messages %}{% set c = m['content'] or '' %}{% if m['role'] == 'assistant' and '</think>' in c %}"
    "{% set c = c.split('</think>')[-1] %}{% endif %}"
    "{% if m['role'] == 'tool' %}{{ '<|im_start|>user\\n<tool_response>\\n' + c + '\\n</tool_response><|im_end|>\\n' }}"
    "{% elif m['role'] == 'assistant' %}{{ '<|im_start|>assistant\\n<think></think>' + c }}"
    "{% for tool_call in m['tool_calls'] or [] %}{% if tool_call.function %}{% set tool_call = tool_call.function %}"
    "{% endif %}{{ '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}{% if tool_call.arguments is mapping %}"
    "{% for k, v in tool_call.arguments.items() %}{{ '<parameter=' + k + '>\\n' + (v if v is string else v | tojson) }}"
    "{{ '\\n</parameter>\\n' }}{% endfor %}{% endif %}{{ '</function>\\n</tool_call>' }}{% endfor %}"
    "{{ '<|im_end|>\\n' }}{% elif not (tools and loop.first and m['role'] == 'system') %}"
    "{{ '<|im_start|>' + m['role'] + '\\n' + c + '<|im_end|>\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{{ '<think></think>' if (enable_thinking is defined and not enable_thinking) else '<think>\\n' }}{% endif %}")


MINIMAX_M2_TEMPLATE = (  # MiniMax-M2's structure: ]~!b[ and ]~b]ROLE turns ended by [e~[, its tools block in the
    # system turn, <think> opened in the prompt (a thinking-only family: no switch), calls as <minimax:tool_call>
    "{{ ']~!b[]~b]system\\n' }}{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}"
    "{% else %}{{ 'You are a helpful assistant.' }}{% endif %}"
    "{% if tools %}{{ '\\n\\n# Tools\\nYou may call one or more tools to assist with the user query.\\nHere are the"
    " tools available:\\n\\n<tools>' }}{% for t in tools %}{{ '\\n<tool>' + t['function']['name'] + '</tool>' }}"
    "{% endfor %}{{ '\\n</tools>\\n\\nWhen making tool calls, use XML format to invoke tools and pass parameters:"
    "\\n\\n<minimax:tool_call>\\n<invoke name=\\\"tool-name-1\\\">\\n<parameter name=\\\"param-key-1\\\">"
    "param-value-1</parameter>\\n</invoke>\\n</minimax:tool_call>' }}{% endif %}{{ '[e~[\\n' }}"
    "{% for m in messages %}{% set c = m['content'] or '' %}{% if m['role'] == 'user' %}"
    "{{ ']~b]user\\n' + c + '[e~[\\n' }}{% elif m['role'] == 'tool' %}"
    "{{ ']~b]tool\\n<response>' + c + '</response>[e~[\\n' }}{% elif m['role'] == 'assistant' %}"
    "{% if '</think>' in c %}{% set c = c.split('</think>')[-1].lstrip('\\n') %}{% endif %}{{ ']~b]ai\\n' + c }}"
    "{% for tool_call in m['tool_calls'] or [] %}{% if tool_call.function %}{% set tool_call = tool_call.function %}"
    "{% endif %}{{ '<minimax:tool_call>\\n<invoke name=\\\"' + tool_call.name + '\\\">\\n' }}"
    "{% if tool_call.arguments is mapping %}{% for k, v in tool_call.arguments.items() %}"
    "{{ '<parameter name=\\\"' + k + '\\\">' + (v if v is string else v | tojson) + '</parameter>\\n' }}"
    "{% endfor %}{% endif %}{{ '</invoke>\\n</minimax:tool_call>' }}{% endfor %}{{ '[e~[\\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ ']~b]ai\\n<think>\\n' }}{% endif %}")


KIMI_K2_TEMPLATE = (  # Kimi K2's structure: <|im_ROLE|>ROLE<|im_middle|>…<|im_end|>, the tools declared in a
    # tool_declare system turn; the model opens <think> itself (Kimi-K2-Thinking: thinking only, no switch)
    "{% if tools %}{{ '<|im_system|>tool_declare<|im_middle|>[' }}{% for t in tools %}"
    "{{ '{\"name\": \"' + t['function']['name'] + '\"}' }}{% if not loop.last %}{{ ', ' }}{% endif %}{% endfor %}"
    "{{ ']<|im_end|>' }}{% endif %}{% for m in messages %}{% set c = m['content'] or '' %}"
    "{% if m['role'] == 'system' %}{{ '<|im_system|>system<|im_middle|>' + c + '<|im_end|>' }}"
    "{% elif m['role'] == 'user' %}{{ '<|im_user|>user<|im_middle|>' + c + '<|im_end|>' }}"
    "{% elif m['role'] == 'tool' %}{{ '<|im_system|>tool<|im_middle|>' + c + '<|im_end|>' }}"
    "{% elif m['role'] == 'assistant' %}{% if '</think>' in c %}{% set c = c.split('</think>')[-1] %}{% endif %}"
    "{{ '<|im_assistant|>assistant<|im_middle|>' + c }}{% if m['tool_calls'] %}"
    "{{ '<|tool_calls_section_begin|>' }}{% for tool_call in m['tool_calls'] %}"
    "{{ '<|tool_call_begin|>' + (tool_call['id'] or 'functions.' + tool_call['function']['name'] + ':0') }}"
    "{{ '<|tool_call_argument_begin|>' }}{% set args = tool_call['function']['arguments'] %}"
    "{{ args if args is string else args | tojson }}{{ '<|tool_call_end|>' }}{% endfor %}"
    "{{ '<|tool_calls_section_end|>' }}{% endif %}{{ '<|im_end|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_assistant|>assistant<|im_middle|>' }}{% endif %}")


@dataclass(frozen=True)
class Family:
    """What differs between the families: architecture, special tokens, template, the reply's token pieces."""

    architecture: str
    model_type: str
    specials: tuple[str, ...]  # special tokens (dropped from text), bos first when the family has one
    bos: str | None
    eos: str
    template: str
    reply: tuple[str, ...]  # the reply's pieces, one token each, in order; the eos follows
    max_position_embeddings: int
    generation: dict
    think_end: str = "</think>"  # where the reasoning ends: the structured-output path forks from it
    tools_marker: str | None = None  # the token whose presence in the prompt makes the model call (one token)
    tool_call: tuple[str, ...] = ()  # the call the model writes by itself, in the family's format, after the
    # reasoning, when the prompt offers the tool; one token each, the eos follows
    call_eos: str | None = None  # the token that ends a turn with a call, where it is not the eos (GLM's)
    more_eos: tuple[str, ...] = ()  # the generation config's other eos tokens


FAMILIES = {
    "r1": Family("Qwen2ForCausalLM", "qwen2",
                 ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"),
                 "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", R1_TEMPLATE,
                 (*REASONING, "</think>", "\n\n", *ANSWER), 131072,
                 {"do_sample": True, "temperature": 0.6, "top_p": 0.95}),
    "qwen3": Family("Qwen3ForCausalLM", "qwen3", ("<|endoftext|>", "<|im_start|>", "<|im_end|>"), None,
                    "<|im_end|>", QWEN3_TEMPLATE, ("<think>", *REASONING, "</think>", "\n\n", *ANSWER), 40960,
                    {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 20},
                    tools_marker=TOOL_NAME, tool_call=("<tool_call>", '\n{"name": "get_weather", ',
                                                       '"arguments": {"city": ', '"Paris"}', "}\n", "</tool_call>")),
    "gemma4": Family("Gemma4ForCausalLM", "gemma4_text",
                     ("<bos>", "<turn|>", "<|turn>", "<|channel>", "<channel|>", "<|tool>", "<tool|>",
                      "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>", '<|"|>'),
                     "<bos>", "<turn|>",
                     GEMMA4_TEMPLATE, ("<|channel>", "thought", "\n" + REASONING[0], *REASONING[1:], "<channel|>",
                                      *ANSWER), 131072,
                     {"do_sample": True, "temperature": 1.0, "top_p": 0.95, "top_k": 64}, think_end="<channel|>",
                     # Gemma's own call: strings between <|"|> (one token); the closing one here with the brace,
                     # as a chain of single tokens cannot write the same token twice
                     tools_marker=TOOL_NAME, tool_call=("<|tool_call>", "call:get_weather{city:", '<|"|>', "Paris",
                                                        '<|"|>}', "<tool_call|>")),
    "glm47": Family("Glm4MoeLiteForCausalLM", "glm4_moe_lite",
                    ("<|endoftext|>", "[gMASK]", "<sop>", "<|system|>", "<|user|>", "<|assistant|>",
                     "<|observation|>"), None, "<|user|>", GLM47_TEMPLATE,
                    (*REASONING, "</think>", *ANSWER), 202752, {"do_sample": True, "temperature": 1.0, "top_p": 0.95},
                    tools_marker=TOOL_NAME, tool_call=("<tool_call>", "get_weather", "<arg_key>", "city", "</arg_key>",
                                                       "<arg_value>", "Paris", "</arg_value>", "</tool_call>"),
                    call_eos="<|observation|>", more_eos=("<|endoftext|>", "<|observation|>")),
    "nemotron3": Family("NemotronHForCausalLM", "nemotron_h", ("<s>", "</s>", "<|im_start|>", "<|im_end|>"), None,
                        "<|im_end|>", NEMOTRON3_TEMPLATE, (*REASONING, "</think>", *ANSWER), 262144,
                        {"do_sample": True, "temperature": 1.0, "top_p": 1.0},
                        tools_marker=TOOL_NAME, tool_call=("<tool_call>", "\n<function=get_weather>\n",
                                                           "<parameter=city>\n", "Paris\n", "</parameter>\n",
                                                           "</function>\n", "</tool_call>")),
    "kimi_k2": Family("DeepseekV3ForCausalLM", "kimi_k2", ("[BOS]", "[EOS]", "<|im_end|>", "<|im_user|>",
                                                          "<|im_assistant|>", "<|im_system|>", "<|im_middle|>"),
                      "[BOS]", "<|im_end|>", KIMI_K2_TEMPLATE, ("<think>", *REASONING, "</think>", *ANSWER), 262144,
                      {"do_sample": True, "temperature": 1.0},
                      tools_marker=TOOL_NAME, tool_call=("<|tool_calls_section_begin|>", "<|tool_call_begin|>",
                                                         "functions.get_weather:0", "<|tool_call_argument_begin|>",
                                                         '{"city": ', '"Paris"}', "<|tool_call_end|>",
                                                         "<|tool_calls_section_end|>")),
    "minimax_m2": Family("MiniMaxM2ForCausalLM", "minimax_m2", ("]~!b[", "]~b]", "[e~["), "]~!b[", "[e~[",
                         MINIMAX_M2_TEMPLATE, (*REASONING, "</think>", "\n\n", *ANSWER), 196608,
                         {"do_sample": True, "temperature": 1.0, "top_p": 0.95, "top_k": 40},
                         tools_marker=TOOL_NAME, tool_call=("<minimax:tool_call>", '\n<invoke name="get_weather">\n',
                                                            '<parameter name="city">', "Paris", "</parameter>\n",
                                                            "</invoke>\n", "</minimax:tool_call>")),
}


def _byte_alphabet() -> list[str]:
    """The 256 characters GPT-2's byte-level BPE writes bytes as (``tokenizers``' ByteLevel alphabet, in order)."""
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def build_tokenizer(family: Family):
    """A byte-level BPE tokenizer (any text encodes) whose added tokens are the family's specials, the think
    markers and the reply's pieces; "\\n\\n" is one token, as in the families' own vocabularies."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(_byte_alphabet())}
    vocab["ĊĊ"] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[("Ċ", "Ċ")]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in family.specials])
    markers = ["<think>", "</think>"] if family.think_end == "</think>" else []  # Gemma's vocabulary has neither
    pieces = [*markers, *[p for p in family.reply if p not in ("<think>", "</think>", "\n\n")], *JSON_ANSWER,
              *([family.tools_marker] if family.tools_marker else []), *family.tool_call]
    pieces = [p for p in pieces if p not in family.specials]
    tokenizer.add_tokens([AddedToken(p, special=False, normalized=False) for p in dict.fromkeys(pieces)])
    return tokenizer


def reply_ids(tokenizer, family: Family) -> list[int]:
    """The token ids of the fixed reply, the eos last."""
    ids = [tokenizer.token_to_id("ĊĊ" if p == "\n\n" else p) for p in family.reply]
    ids.append(tokenizer.token_to_id(family.eos))
    if None in ids or len(set(ids)) != len(ids):
        raise ValueError(f"the reply's pieces must be distinct single tokens: {ids}")
    return ids


def weights(family: Family, tokenizer) -> dict:
    """The checkpoint's tensors (numpy float32, Hugging Face names)."""
    import numpy as np

    rng = np.random.default_rng(23)
    heads, kv_heads, head_dim, inter, layers = 6, 2, 64, 128, 2
    vocab = HIDDEN

    def small(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    chain = reply_ids(tokenizer, family)
    head = np.zeros((vocab, HIDDEN), np.float32)
    scale = LOGIT / np.sqrt(HIDDEN)  # the final RMSNorm scales a one-hot row by sqrt(hidden)
    head[chain[0], :] = scale  # any token outside the reply leads to its first token
    for here, after in zip(chain, chain[1:], strict=False):
        head[:, here] = 0.0
        head[after, here] = scale
    head[:, chain[-1]] = 0.0
    head[chain[0], chain[-1]] = scale
    # the structured-output path: second best after the end of thinking, then the JSON object and the eos
    json_chain = [tokenizer.token_to_id(p) for p in JSON_ANSWER]
    for here, after in zip(json_chain, [*json_chain[1:], chain[-1]], strict=True):
        head[:, here] = 0.0
        head[after, here] = scale
    for fork in (tokenizer.token_to_id(family.think_end), tokenizer.token_to_id("ĊĊ"), tokenizer.token_to_id("Ġ")):
        head[json_chain[0], fork] = scale / 2  # "Ġ": the space a forced tool call's '"arguments": ' ends with
    head[json_chain[-1], json_chain[-1]] = scale / 2  # where the eos may not follow "}", the call's own "}" does
    tensors = {"model.embed_tokens.weight": np.eye(vocab, HIDDEN, dtype=np.float32),
               "model.norm.weight": np.ones(HIDDEN, np.float32), "lm_head.weight": head}
    if family.model_type == "gemma4_text":
        return _gemma4(tensors, tokenizer, family, small, heads, kv_heads, inter, layers)
    if family.model_type == "glm4_moe_lite":
        return _glm47(tensors, tokenizer, family, small, heads, inter, layers)
    if family.model_type == "kimi_k2":
        return _kimi_k2(_glm47(tensors, tokenizer, family, small, heads, inter, layers), tokenizer, family)
    if family.model_type == "nemotron_h":
        return _nemotron3(tensors, tokenizer, family, small, heads, kv_heads, head_dim)
    if family.model_type == "minimax_m2":
        return _minimax_m2(tensors, tokenizer, family, small, heads, kv_heads, head_dim, inter, layers)
    for n in range(layers):
        p = f"model.layers.{n}."
        tensors.update(_dense_layer(p, small, heads, kv_heads, head_dim, inter))
        if family.model_type == "qwen2":  # Qwen2 has q/k/v biases
            tensors.update({p + "self_attn.q_proj.bias": np.zeros(heads * head_dim, np.float32),
                            p + "self_attn.k_proj.bias": np.zeros(kv_heads * head_dim, np.float32),
                            p + "self_attn.v_proj.bias": np.zeros(kv_heads * head_dim, np.float32)})
        else:  # Qwen3 normalises q and k per head
            tensors.update({p + "self_attn.q_norm.weight": np.ones(head_dim, np.float32),
                            p + "self_attn.k_norm.weight": np.ones(head_dim, np.float32)})
    if family.tool_call:
        _tools_signal(tensors, tokenizer, family, "model.layers.0.", head_dim, norm=2.0, activation=SILU_4)
    config = {"architectures": [family.architecture], "model_type": family.model_type, "hidden_size": HIDDEN,
              "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": head_dim, "vocab_size": vocab,
              "max_position_embeddings": family.max_position_embeddings, "rms_norm_eps": 1e-6,
              "rope_theta": 1000000.0, "hidden_act": "silu", "tie_word_embeddings": False,
              "torch_dtype": "bfloat16", "bos_token_id": tokenizer.token_to_id(family.bos or family.eos),
              "eos_token_id": tokenizer.token_to_id(family.eos), "attention_dropout": 0.0,
              "use_sliding_window": False, "sliding_window": None, "max_window_layers": layers}
    return {"tensors": tensors, "config": config}


def _dense_layer(p: str, small, heads: int, kv_heads: int, head_dim: int, inter: int) -> dict:
    """A Llama-style layer's tensors under prefix ``p``: its norms, q/k/v (small, seeded), o_proj zero, and a gated
    MLP whose down projection is zero, so the layer adds nothing to the residual."""
    import numpy as np

    return {p + "input_layernorm.weight": np.ones(HIDDEN, np.float32),
            p + "post_attention_layernorm.weight": np.ones(HIDDEN, np.float32),
            p + "self_attn.q_proj.weight": small(heads * head_dim, HIDDEN),
            p + "self_attn.k_proj.weight": small(kv_heads * head_dim, HIDDEN),
            p + "self_attn.v_proj.weight": small(kv_heads * head_dim, HIDDEN),
            p + "self_attn.o_proj.weight": np.zeros((HIDDEN, heads * head_dim), np.float32),
            p + "mlp.gate_proj.weight": small(inter, HIDDEN),
            p + "mlp.up_proj.weight": small(inter, HIDDEN),
            p + "mlp.down_proj.weight": np.zeros((HIDDEN, inter), np.float32)}


LISTED, CALL = HIDDEN - 1, HIDDEN - 2  # residual dimensions no token's embedding uses


SILU_4, GELU_4 = 4.0 / (1.0 + 2.718281828459045 ** -4.0), 3.99987  # the MLP activations at 4


def _tools_signal(tensors: dict, tokenizer, family: Family, layer: str, head_dim: int, norm: float,
                  activation: float) -> None:
    """Let the model call get_weather by itself when, and only when, the prompt offers it.

    The first attention head of ``layer`` (a full-attention one) attends to the tools marker (the offered tool's
    name) alone: its
    query is the same for every token and its key is zero for every token but the marker, both in the head's last
    dimension, whose rotary frequency is 0 or so low (rope theta 1e6) that the score stays the same at any
    distance. Where the prompt offers the tool, the head finds the marker and writes into the residual's LISTED
    dimension as much as a token's embedding; where it does not, every score is 0, every value zero, and so is the
    output. Then ``_call_where_listed``."""
    import numpy as np

    hidden = np.sqrt(HIDDEN)
    last, marker = head_dim - 1, tokenizer.token_to_id(family.tools_marker)
    q, k, v = (tensors[f"{layer}self_attn.{n}_proj.weight"] for n in "qkv")
    q[:head_dim] = 0.0
    q[last] = 1.0 / hidden  # every (RMS-normed, one-hot) token asks the same
    k[:head_dim] = 0.0
    k[last, marker] = 1.0 / hidden  # only the marker answers; a zero key stays zero through k_norm
    v[:head_dim] = 0.0
    v[0, marker] = 1.0 / hidden
    for name in ("q_norm", "k_norm"):  # the marker's score: q and k normed per head, scaled by `norm`
        tensors[f"{layer}self_attn.{name}.weight"][last] = norm
    tensors[f"{layer}self_attn.o_proj.weight"][LISTED, 0] = 1.0
    _call_where_listed(tensors, tokenizer, family, layer, activation)


def _call_where_listed(tensors: dict, tokenizer, family: Family, layer: str, activation: float) -> None:
    """The layer's first MLP row is an AND: its gate reads LISTED (the activation is 0 at 0) and its up
    projection the token after which the answer starts ("\\n\\n" after Qwen's ``</think>``, Gemma's ``<channel|>``,
    GLM's ``</think>``), so only there, and only with tools listed, it writes into the CALL dimension, which the
    LM head maps to the call's first token at twice the reply's logit. The call's tokens then chain to the eos as
    the reply's do."""
    import numpy as np

    trigger = family.reply[family.reply.index(ANSWER[0]) - 1]
    trigger = tokenizer.token_to_id("ĊĊ" if trigger == "\n\n" else trigger)
    normed = np.sqrt(HIDDEN / 2)  # the MLP's input: one-hot plus LISTED, RMS-normed
    gate, up = tensors[f"{layer}mlp.gate_proj.weight"], tensors[f"{layer}mlp.up_proj.weight"]
    gate[0], up[0] = 0.0, 0.0
    gate[0, LISTED] = 4.0 / normed
    up[0, trigger] = 1.0 / normed
    tensors[f"{layer}mlp.down_proj.weight"][CALL, 0] = 1.0 / activation
    _chain_the_call(tensors, tokenizer, family)


def _chain_the_call(tensors: dict, tokenizer, family: Family) -> None:
    """The LM head's part of the tools signal: CALL leads to the call's first token at twice the reply's logit, and
    the call's tokens chain to the eos as the reply's do."""
    import numpy as np

    head = tensors["lm_head.weight"]
    head[:, [LISTED, CALL]] = 0.0  # (the reply's first token was every column's default)
    scale = LOGIT / np.sqrt(HIDDEN)
    calls = [tokenizer.token_to_id(p) for p in (*family.tool_call, family.call_eos or family.eos)]
    head[calls[0], CALL] = 2 * scale
    for here, after in zip(calls, calls[1:], strict=False):
        head[:, here] = 0.0
        head[after, here] = scale


# GLM-4.7-Flash's attention (MLA) in small: vLLM's CPU MLA kernel takes only DeepSeek's latent of 512 + 64
GLM47_DENSE, GLM47_EXPERTS, GLM47_EXPERT_WIDTH = 1, 4, 64  # dense layers first, then MoE: experts and their width
MLA = {"kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 64, "v_head_dim": 64, "q_lora_rank": 64}


def _glm47(tensors: dict, tokenizer, family: Family, small, heads: int, inter: int, layers: int) -> dict:
    """GLM-4.7-Flash's layers (``Glm4MoeLiteForCausalLM``): multi-head latent attention (a query latent, one
    latent and one rotary key per token for all heads, the heads' keys and values drawn from the latent), a dense
    MLP in layer 0 and mixtures of experts after it (``first_k_dense_replace`` 1, as in the real config; vLLM
    refuses the architecture without one): a router with its score-correction bias, routed experts and a shared
    one, each with a zero down projection, so the layer adds nothing while vLLM's CPU MoE runs. Layer 0 also
    holds the tools signal: its first head's query (constant, from a constant query latent) and key (the marker's
    latent alone is nonzero) meet in the head's last unrotated ("nope") dimension, so the score holds at any
    distance; its value writes LISTED through ``o_proj``, then ``_call_where_listed``."""
    import numpy as np

    rank, rope, nope, v_dim, q_rank = (MLA[k] for k in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
                                                          "v_head_dim", "q_lora_rank"))
    for n in range(layers):
        p = f"model.layers.{n}."
        tensors.update({
            p + "input_layernorm.weight": np.ones(HIDDEN, np.float32),
            p + "post_attention_layernorm.weight": np.ones(HIDDEN, np.float32),
            p + "self_attn.q_a_proj.weight": small(q_rank, HIDDEN),
            p + "self_attn.q_a_layernorm.weight": np.ones(q_rank, np.float32),
            p + "self_attn.q_b_proj.weight": small(heads * (nope + rope), q_rank),
            p + "self_attn.kv_a_proj_with_mqa.weight": small(rank + rope, HIDDEN),
            p + "self_attn.kv_a_layernorm.weight": np.ones(rank, np.float32),
            p + "self_attn.kv_b_proj.weight": small(heads * (nope + v_dim), rank),
            p + "self_attn.o_proj.weight": np.zeros((HIDDEN, heads * v_dim), np.float32),
        })
        if n < GLM47_DENSE:
            tensors.update({p + "mlp.gate_proj.weight": small(inter, HIDDEN),
                            p + "mlp.up_proj.weight": small(inter, HIDDEN),
                            p + "mlp.down_proj.weight": np.zeros((HIDDEN, inter), np.float32)})
            continue
        tensors.update({p + "mlp.gate.weight": small(GLM47_EXPERTS, HIDDEN),
                        p + "mlp.gate.e_score_correction_bias": np.zeros(GLM47_EXPERTS, np.float32)})
        for expert in [f"experts.{e}" for e in range(GLM47_EXPERTS)] + ["shared_experts"]:
            tensors.update({f"{p}mlp.{expert}.gate_proj.weight": small(GLM47_EXPERT_WIDTH, HIDDEN),
                            f"{p}mlp.{expert}.up_proj.weight": small(GLM47_EXPERT_WIDTH, HIDDEN),
                            f"{p}mlp.{expert}.down_proj.weight": np.zeros((HIDDEN, GLM47_EXPERT_WIDTH), np.float32)})
    if family.tool_call:
        p, hidden, marker = "model.layers.0.self_attn.", np.sqrt(HIDDEN), tokenizer.token_to_id(family.tools_marker)
        q_a, q_b = tensors[p + "q_a_proj.weight"], tensors[p + "q_b_proj.weight"]
        q_a[:] = 0.0
        q_a[0] = 1.0 / hidden  # every token's query latent is e0, normed to sqrt(q_rank) = 8
        q_b[:, 0] = 0.0
        q_b[nope - 1, 0] = 2.0  # head 0's last nope dimension: 16
        kv_a, kv_b = tensors[p + "kv_a_proj_with_mqa.weight"], tensors[p + "kv_b_proj.weight"]
        kv_a[:] = 0.0
        kv_a[0, marker] = 1.0 / hidden  # only the marker has a latent (normed: sqrt(512)); no token a rotary key
        kv_b[:, 0] = 0.0
        kv_b[nope - 1, 0] = 1.0  # head 0's key, last nope dimension; score 16 * 22.6 / sqrt(128) = 32
        kv_b[nope, 0] = 1.0 / np.sqrt(rank)  # head 0's value, first dimension: 1
        tensors[p + "o_proj.weight"][LISTED, 0] = 1.0
        _call_where_listed(tensors, tokenizer, family, "model.layers.0.", SILU_4)
    config = {"architectures": [family.architecture], "model_type": family.model_type, "hidden_size": HIDDEN,
              "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": heads, **MLA, "head_dim": MLA["qk_rope_head_dim"], "vocab_size": HIDDEN,
              "n_routed_experts": GLM47_EXPERTS, "n_shared_experts": 1, "num_experts_per_tok": 2,
              "moe_intermediate_size": GLM47_EXPERT_WIDTH, "first_k_dense_replace": GLM47_DENSE,
              "mlp_layer_types": ["dense"] * GLM47_DENSE + ["sparse"] * (layers - GLM47_DENSE), "n_group": 1,
              "topk_group": 1, "norm_topk_prob": True, "routed_scaling_factor": 1.8, "hidden_act": "silu",
              "max_position_embeddings": family.max_position_embeddings, "rms_norm_eps": 1e-5,
              "rope_theta": 1000000.0, "rope_interleave": True, "attention_bias": False,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16", "num_nextn_predict_layers": 0,
              "eos_token_id": [tokenizer.token_to_id(t) for t in (family.eos, *family.more_eos)],
              "pad_token_id": tokenizer.token_to_id("<|endoftext|>"), "attention_dropout": 0.0}
    return {"tensors": tensors, "config": config}


def _kimi_k2(built: dict, tokenizer, family: Family) -> dict:
    """Kimi-K2's layers are DeepSeek-V3's (``DeepseekV3ForCausalLM``, model type ``kimi_k2``, which vLLM reads as
    DeepSeek-V3's config): GLM-4.7-Flash's in small have the same tensors (MLA, a dense layer, then a router with its
    score-correction bias, routed experts and a shared one), so only the config differs: DeepSeek-V3's sigmoid
    routing with its bias, in one group of experts (as Kimi's ``n_group`` 1), which vLLM's CPU MoE runs."""
    config = {k: v for k, v in built["config"].items() if k not in ("mlp_layer_types", "pad_token_id")}
    config.update({"architectures": [family.architecture], "model_type": family.model_type,
                   "scoring_func": "sigmoid", "topk_method": "noaux_tc", "n_group": 1, "topk_group": 1,
                   "moe_layer_freq": 1, "rope_scaling": None, "bos_token_id": tokenizer.token_to_id(family.bos),
                   "eos_token_id": tokenizer.token_to_id(family.eos), "pad_token_id": tokenizer.token_to_id("[EOS]")})
    return {"tensors": built["tensors"], "config": config}


# Nemotron 3 Nano's layers in small: Mamba-2, attention (no positions: Nemotron-H's attention has no rotary
# embedding) and, in place of its mixtures of experts, Nemotron-H's dense MLP ("-"): the same squared-ReLU expert
# without a gate projection, which vLLM's CPU MoE refuses ("is_act_and_mul=False is supported only for CUDA, XPU
# and ROCm"); the experts' memory is the planner's, checked against NVIDIA's configs
NEMOTRON3_PATTERN = "M*-"
NEMOTRON3_MAMBA = {"mamba_num_heads": 4, "mamba_head_dim": 16, "n_groups": 1, "ssm_state_size": 16, "conv_kernel": 4,
                   "chunk_size": 128}
NEMOTRON3_EXPERTS, NEMOTRON3_EXPERT_WIDTH, NEMOTRON3_MLP = 4, 64, 128


def _nemotron3(tensors: dict, tokenizer, family: Family, small, heads: int, kv_heads: int, head_dim: int) -> dict:
    """Nemotron 3's hybrid layers (``NemotronHForCausalLM``, Hugging Face's ``backbone.*`` names): each layer one
    mixer after an RMSNorm, its output projection zero (the Mamba-2 mixer's ``out_proj``, the experts' and the
    shared expert's ``down_proj``), so the residual stays the token's embedding while vLLM's CPU Mamba and MoE run.

    The tools signal needs no MLP here: the attention layer's first head asks only from the token after which the
    answer starts (``</think>``), and only the tools marker answers; so there, with tools listed, the head writes
    into CALL itself. Everywhere else its query is zero: it averages the values evenly, which leaks at most the
    marker's value over the tokens so far into CALL (a few hundredths of the call's logit), never enough to call."""
    import numpy as np

    hidden = np.sqrt(HIDDEN)
    m = NEMOTRON3_MAMBA
    inner, groups, state, kernel = m["mamba_num_heads"] * m["mamba_head_dim"], m["n_groups"], m["ssm_state_size"], \
        m["conv_kernel"]
    conv_dim = inner + 2 * groups * state
    renamed = {"model.embed_tokens.weight": "backbone.embeddings.weight", "model.norm.weight": "backbone.norm_f.weight"}
    tensors = {renamed.get(k, k): v for k, v in tensors.items()}
    for n, kind in enumerate(NEMOTRON3_PATTERN):
        p = f"backbone.layers.{n}."
        tensors[p + "norm.weight"] = np.ones(HIDDEN, np.float32)
        if kind == "M":
            heads_m = m["mamba_num_heads"]
            tensors.update({
                p + "mixer.in_proj.weight": small(2 * inner + 2 * groups * state + heads_m, HIDDEN),
                p + "mixer.conv1d.weight": small(conv_dim, 1, kernel), p + "mixer.conv1d.bias": np.zeros(conv_dim,
                                                                                                        np.float32),
                p + "mixer.dt_bias": np.zeros(heads_m, np.float32),
                p + "mixer.A_log": np.log(np.arange(1, heads_m + 1, dtype=np.float32)),
                p + "mixer.D": np.ones(heads_m, np.float32), p + "mixer.norm.weight": np.ones(inner, np.float32),
                p + "mixer.out_proj.weight": np.zeros((HIDDEN, inner), np.float32)})
        elif kind == "*":
            tensors.update({p + "mixer.q_proj.weight": small(heads * head_dim, HIDDEN),
                            p + "mixer.k_proj.weight": small(kv_heads * head_dim, HIDDEN),
                            p + "mixer.v_proj.weight": small(kv_heads * head_dim, HIDDEN),
                            p + "mixer.o_proj.weight": np.zeros((HIDDEN, heads * head_dim), np.float32)})
            if family.tool_call:
                trigger = family.reply[family.reply.index(ANSWER[0]) - 1]
                trigger, marker = tokenizer.token_to_id(trigger), tokenizer.token_to_id(family.tools_marker)
                q, k, v = (tensors[f"{p}mixer.{x}_proj.weight"] for x in "qkv")
                q[:head_dim] = k[:head_dim] = v[:head_dim] = 0.0
                q[0, trigger] = k[0, marker] = 0.8  # normed one-hots are 19.6: a score of 15.7 squared / 8 = 30.7
                v[0, marker] = 1.0 / hidden
                tensors[p + "mixer.o_proj.weight"][CALL, 0] = 1.0
        elif kind == "-":
            tensors.update({p + "mixer.up_proj.weight": small(NEMOTRON3_MLP, HIDDEN),
                            p + "mixer.down_proj.weight": np.zeros((HIDDEN, NEMOTRON3_MLP), np.float32)})
        else:
            tensors.update({p + "mixer.gate.weight": small(NEMOTRON3_EXPERTS, HIDDEN),
                            p + "mixer.gate.e_score_correction_bias": np.zeros(NEMOTRON3_EXPERTS, np.float32)})
            for expert in [f"experts.{e}" for e in range(NEMOTRON3_EXPERTS)] + ["shared_experts"]:
                tensors.update({f"{p}mixer.{expert}.up_proj.weight": small(NEMOTRON3_EXPERT_WIDTH, HIDDEN),
                                f"{p}mixer.{expert}.down_proj.weight": np.zeros((HIDDEN, NEMOTRON3_EXPERT_WIDTH),
                                                                                np.float32)})
    if family.tool_call:
        _chain_the_call(tensors, tokenizer, family)
    config = {"architectures": [family.architecture], "model_type": family.model_type, "hidden_size": HIDDEN,
              "hybrid_override_pattern": NEMOTRON3_PATTERN, "num_hidden_layers": len(NEMOTRON3_PATTERN),
              "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": head_dim, **m,
              "mamba_hidden_act": "silu", "use_conv_bias": True, "use_bias": False, "mamba_proj_bias": False,
              "time_step_limit": [0.0, float("inf")], "time_step_min": 0.001, "time_step_max": 0.1,
              "time_step_floor": 1e-4, "mamba_ssm_cache_dtype": "float32", "residual_in_fp32": False,
              "n_routed_experts": NEMOTRON3_EXPERTS, "n_shared_experts": 1, "num_experts_per_tok": 2,
              "moe_intermediate_size": NEMOTRON3_EXPERT_WIDTH,
              "moe_shared_expert_intermediate_size": NEMOTRON3_EXPERT_WIDTH, "intermediate_size": NEMOTRON3_MLP,
              "routed_scaling_factor": 2.5, "n_group": 1, "topk_group": 1, "norm_topk_prob": True,
              "mlp_hidden_act": "relu2", "mlp_bias": False, "attention_bias": False, "vocab_size": HIDDEN,
              "max_position_embeddings": family.max_position_embeddings, "layer_norm_epsilon": 1e-5,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16",
              "bos_token_id": tokenizer.token_to_id("<s>"), "eos_token_id": tokenizer.token_to_id(family.eos),
              "pad_token_id": tokenizer.token_to_id("</s>")}
    return {"tensors": tensors, "config": config}


MINIMAX_EXPERTS, MINIMAX_ROTARY = 4, 32  # experts a layer; rotary dimensions of each 64-wide head (the real: 64 of 128)


def _minimax_m2(tensors: dict, tokenizer, family: Family, small, heads: int, kv_heads: int, head_dim: int,
                inter: int, layers: int) -> dict:
    """MiniMax-M2's layers (``MiniMaxM2ForCausalLM``): full attention with its q and k each RMS-normed over all
    heads at once (``qk_norm_type`` per_layer), rotary embedding on part of each head (``rotary_dim``), and every
    MLP a mixture of gated experts (``block_sparse_moe``: w1, w3 and w2; a sigmoid router with its score-correction
    bias), which vLLM's CPU MoE runs. The experts are alike and the router's weights zero, so whichever two it
    picks the layer computes one gated MLP (the routing weights are renormalised to sum to 1); its w2 is zero but
    for the tools signal's row (``_call_where_listed``).

    The tools signal's head: normed over every head, a query or key would depend on the other heads' values, so
    layer 0's queries and keys are zero but for head 0's last dimension (past ``rotary_dim``: never rotated); the
    norms' weights there give the marker the score Qwen3's head gives it (16 x 16 / 8 = 32)."""
    import numpy as np

    for n in range(layers):
        p = f"model.layers.{n}."
        tensors.update({**_dense_layer(p, small, heads, kv_heads, head_dim, inter),
                        p + "self_attn.q_norm.weight": np.ones(heads * head_dim, np.float32),
                        p + "self_attn.k_norm.weight": np.ones(kv_heads * head_dim, np.float32)})
    if family.tool_call:
        p, last = "model.layers.0.self_attn.", head_dim - 1
        tensors[p + "q_proj.weight"][head_dim:] = 0.0
        tensors[p + "k_proj.weight"][head_dim:] = 0.0
        _tools_signal(tensors, tokenizer, family, "model.layers.0.", head_dim, norm=1.0, activation=SILU_4)
        tensors[p + "q_norm.weight"][last] = 16.0 / np.sqrt(heads * head_dim)  # one nonzero of 384: normed to 19.6
        tensors[p + "k_norm.weight"][last] = 16.0 / np.sqrt(kv_heads * head_dim)  # one of 128: normed to 11.3
    for n in range(layers):  # each dense MLP becomes the layer's experts, all alike
        p = f"model.layers.{n}."
        gate, up, down = (tensors.pop(f"{p}mlp.{x}_proj.weight") for x in ("gate", "up", "down"))
        tensors.update({p + "block_sparse_moe.gate.weight": np.zeros((MINIMAX_EXPERTS, HIDDEN), np.float32),
                        p + "block_sparse_moe.e_score_correction_bias": np.zeros(MINIMAX_EXPERTS, np.float32)})
        for e in range(MINIMAX_EXPERTS):
            tensors.update({f"{p}block_sparse_moe.experts.{e}.w1.weight": gate.copy(),
                            f"{p}block_sparse_moe.experts.{e}.w3.weight": up.copy(),
                            f"{p}block_sparse_moe.experts.{e}.w2.weight": down.copy()})
    config = {"architectures": [family.architecture], "model_type": family.model_type, "hidden_size": HIDDEN,
              "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": head_dim, "rotary_dim": MINIMAX_ROTARY,
              "rope_theta": 5000000.0, "num_local_experts": MINIMAX_EXPERTS, "num_experts_per_tok": 2,
              "scoring_func": "softmax", "use_routing_bias": True, "use_qk_norm": True, "qk_norm_type": "per_layer",
              "attn_type_list": [1] * layers, "hidden_act": "silu", "vocab_size": HIDDEN,
              "max_position_embeddings": family.max_position_embeddings, "rms_norm_eps": 1e-6,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16", "use_mtp": False,
              "bos_token_id": tokenizer.token_to_id(family.bos), "eos_token_id": tokenizer.token_to_id(family.eos),
              "attention_dropout": 0.0}
    return {"tensors": tensors, "config": config}


# each kind twice, a full one last (as Gemma 4 requires); the second pair reads the first pair's KV, as Gemma 4
# E2B/E4B's last layers do (num_kv_shared_layers), so the real server runs vLLM's KV sharing too
GEMMA4_LAYERS = ("sliding_attention", "full_attention") * 2
GEMMA4_KV_SHARED = 2
GEMMA4_HEAD_DIMS = {"sliding_attention": 64, "full_attention": 128}


def _gemma4(tensors: dict, tokenizer, family: Family, small, heads: int, kv_heads: int, inter: int,
            layers: int) -> dict:
    """Gemma 4's layers: its four norms per layer (each ``norm(x) * weight``; a zero attention or MLP output stays
    zero through them), q and k normed per head, a head size per layer kind, the last layers with a query only
    (they read an earlier layer's K and V); no per-layer embeddings, no MoE."""
    import numpy as np

    first_shared = len(GEMMA4_LAYERS) - GEMMA4_KV_SHARED
    for n, kind in enumerate(GEMMA4_LAYERS):
        p, head_dim = f"model.layers.{n}.", GEMMA4_HEAD_DIMS[kind]
        tensors.update({
            **{p + f"{norm}.weight": np.ones(HIDDEN, np.float32) for norm in (
                "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                "post_feedforward_layernorm")},
            p + "self_attn.q_proj.weight": small(heads * head_dim, HIDDEN),
            p + "self_attn.o_proj.weight": np.zeros((HIDDEN, heads * head_dim), np.float32),
            p + "self_attn.q_norm.weight": np.ones(head_dim, np.float32),
            p + "mlp.gate_proj.weight": small(inter, HIDDEN),
            p + "mlp.up_proj.weight": small(inter, HIDDEN),
            p + "mlp.down_proj.weight": np.zeros((HIDDEN, inter), np.float32),
            p + "layer_scalar": np.ones(1, np.float32),  # each layer's output scale, as the checkpoints ship it
        })
        if n < first_shared:
            tensors.update({p + "self_attn.k_proj.weight": small(kv_heads * head_dim, HIDDEN),
                            p + "self_attn.v_proj.weight": small(kv_heads * head_dim, HIDDEN),
                            p + "self_attn.k_norm.weight": np.ones(head_dim, np.float32)})
    if family.tool_call:  # on the first full-attention layer (a sliding one would lose the marker past its window)
        full = GEMMA4_LAYERS.index("full_attention")
        _tools_signal(tensors, tokenizer, family, f"model.layers.{full}.", GEMMA4_HEAD_DIMS["full_attention"],
                      norm=0.5, activation=GELU_4)
    config = {"architectures": [family.architecture], "model_type": family.model_type, "hidden_size": HIDDEN,
              "intermediate_size": inter, "num_hidden_layers": len(GEMMA4_LAYERS), "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": GEMMA4_HEAD_DIMS["sliding_attention"],
              "global_head_dim": GEMMA4_HEAD_DIMS["full_attention"], "layer_types": list(GEMMA4_LAYERS),
              "sliding_window": 64, "vocab_size": HIDDEN, "vocab_size_per_layer_input": HIDDEN,
              "hidden_size_per_layer_input": 0, "attention_k_eq_v": False, "enable_moe_block": False,
              "num_kv_shared_layers": GEMMA4_KV_SHARED, "use_double_wide_mlp": False, "final_logit_softcapping": None,
              "hidden_activation": "gelu_pytorch_tanh",
              "max_position_embeddings": family.max_position_embeddings, "rms_norm_eps": 1e-6,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16",
              "bos_token_id": tokenizer.token_to_id(family.bos), "eos_token_id": tokenizer.token_to_id(family.eos),
              "pad_token_id": tokenizer.token_to_id(family.eos), "attention_dropout": 0.0}
    return {"tensors": tensors, "config": config}


def write(family_name: str, dest: Path) -> Path:
    """Write the tiny model of ``family_name`` into ``dest`` (a folder, created) and return it."""
    from safetensors.numpy import save_file

    family = FAMILIES[family_name]
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(family)
    if tokenizer.get_vocab_size() > CALL:  # the last two dimensions carry the tools signal
        raise ValueError(f"vocabulary {tokenizer.get_vocab_size()} leaves no room for the tools signal ({CALL})")
    built = weights(family, tokenizer)
    save_file(built["tensors"], str(dest / "model.safetensors"), metadata={"format": "pt"})
    (dest / "config.json").write_text(json.dumps(built["config"], indent=1))
    eos = built["config"]["eos_token_id"]
    (dest / "generation_config.json").write_text(json.dumps(
        {"bos_token_id": built["config"].get("bos_token_id"), "eos_token_id": eos, **family.generation}, indent=1))
    tokenizer.save(str(dest / "tokenizer.json"))
    (dest / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": family.template,
        "bos_token": family.bos, "eos_token": family.eos, "pad_token": family.eos,
        "add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False,
        "model_max_length": family.max_position_embeddings}, indent=1))
    (dest / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": family.bos, "eos_token": family.eos, "pad_token": family.eos}, indent=1))
    return dest


def cache_folder(folder: Path, hf_home: Path, repo: str, revision: str = "0" * 40) -> Path:
    """Move the files of ``folder`` under ``repo`` into the Hugging Face cache ``hf_home``, laid out as
    ``hf download`` leaves it (``hub/models--org--name/{blobs,refs/main,snapshots/REV}``, snapshot files linked to
    their blobs); returns the snapshot folder."""
    import hashlib
    import os

    base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = base / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    (base / "blobs").mkdir(exist_ok=True)
    for item in sorted(folder.iterdir()):
        if not item.is_file():
            continue
        blob = base / "blobs" / hashlib.sha256(item.read_bytes()).hexdigest()
        item.replace(blob)
        link = snapshot / item.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, snapshot))
    (base / "refs").mkdir(exist_ok=True)
    (base / "refs" / "main").write_text(revision)
    return snapshot


def write_hf_cache(family_name: str, hf_home: Path, repo: str, revision: str = "0" * 40) -> Path:
    """The tiny model of ``family_name`` under ``repo`` in the Hugging Face cache ``hf_home``."""
    staging = write(family_name, hf_home / f".staging-{repo.replace('/', '--')}")
    snapshot = cache_folder(staging, hf_home, repo, revision)
    staging.rmdir()
    return snapshot


USAGE = ("usage: tiny_models.py FAMILY DEST | cache FAMILY HF_HOME REPO | cache-folder FOLDER HF_HOME REPO"
         f"   (FAMILY: {', '.join(FAMILIES)})")

if __name__ == "__main__":
    argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] in FAMILIES:
        print(write(argv[0], Path(argv[1])))
    elif len(argv) == 4 and argv[0] == "cache" and argv[1] in FAMILIES:
        print(write_hf_cache(argv[1], Path(argv[2]), argv[3]))
    elif len(argv) == 4 and argv[0] == "cache-folder":
        print(cache_folder(Path(argv[1]), Path(argv[2]), argv[3]))
    else:
        sys.exit(USAGE)
