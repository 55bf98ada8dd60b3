"""The model and its serving plan: engine, model, context, memory, layout, thinking and sampling, extra models."""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reasoning_stack import engines
from reasoning_stack.catalogue import find_model
from reasoning_stack.layout import tp_problem, valid_tp_sizes
from reasoning_stack.models.quantization import FORMATS
from reasoning_stack.settings.common import NAME_RE, check_engine, check_model

# Sampling defaults vLLM honours, with the values it accepts.
_SAMPLING_RANGES = {
    "temperature": (0.0, None, False, "0 or more"), "top_p": (0.0, 1.0, False, "above 0, at most 1"),
    "top_k": (-1, None, True, "a whole number, -1 (off) or more"), "min_p": (0.0, 1.0, False, "0 to 1"),
    "repetition_penalty": (0.0, None, False, "above 0"), "max_new_tokens": (1, None, True, "a whole number, 1 or more"),
    # honoured from vLLM 0.32 (the engine checks the chosen release); vLLM's own range, SamplingParams
    "presence_penalty": (-2.0, 2.0, False, "-2 to 2"), "frequency_penalty": (-2.0, 2.0, False, "-2 to 2"),
}


class ExtraModel(BaseModel):
    """One more model on the same host: its own unit (reasoning-<engine>-<name>) and port."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short name: the unit is reasoning-<engine>-<name>, e.g. 'fast'.")
    model: str = Field(description="Catalogue slug, Hugging Face repo id or folder of the model.")
    port: int = Field(ge=1, le=65535, description="Port of this instance's OpenAI-compatible API.")
    quantization: Literal[("auto", *FORMATS)] = "auto"  # type: ignore[valid-type]  # the formats, written once
    max_model_len: int | None = Field(None, ge=1024)
    kv_cache_dtype: Literal["auto", "fp8"] = "auto"
    served_model_name: str | None = None
    engine: str = Field("vllm", description="Serving engine of this instance (see the host's engine setting).")

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        return check_engine(value)

    @field_validator("name")
    @classmethod
    def _unit_name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError("must be lower-case letters, digits and '-', e.g. 'fast'")
        return value

    @field_validator("model")
    @classmethod
    def _catalogue_model(cls, value: str) -> str:
        return check_model(value, allow_auto=False)



class ServingSettings(BaseModel):
    """Model and serving plan"""

    engine: str = Field(
        "vllm",
        description="Serving engine of the primary model: vllm; sglang (RadixAttention shares the KV cache of "
        "common prompt prefixes: many reasoning queries with one system prompt); ollama (4-bit GGUF models from "
        "Ollama's library: small cards, quick starts; no API key, so loopback only); mlx (MLX-LM on an Apple "
        "Silicon Mac; loopback only, one model); auto (vLLM where it serves a reasoning model at min_context, else "
        "Ollama). Each of extra_models has its own.",
    )

    model: str = Field(
        "auto",
        description="Catalogue slug or preset (gpt-oss-20b, qwen3-30b-a3b-thinking-2507, qwq-32b, ...), its "
        "Hugging Face repo id (openai/gpt-oss-20b), any other repo id (read from the Hub with HF_TOKEN, kept in the "
        "user cache), a folder holding a model, or 'auto' for the strongest preset that fits.",
    )

    model_revision: str | None = Field(
        None, description="Branch, tag or commit of a Hugging Face repo model (None = main); pins what is "
        "planned and downloaded."
    )

    quantization: Literal[engines.quantization_values()] = Field(  # type: ignore[valid-type]
        "auto", description="Weights format; 'auto' picks the best one that fits the GPUs (mlx-8bit and mlx-4bit: "
        "the mlx-community quantizations, engine mlx only)."
    )

    max_num_seqs: int | None = Field(
        None, ge=1, le=4096, description="Requests one instance decodes at once (vLLM --max-num-seqs); None = "
        "vLLM's default for the GPU (256, or 1024 on 70 GiB+ GPUs), fewer only when the KV cache needs it."
    )

    max_num_batched_tokens: int | None = Field(
        None, ge=256, le=1048576, description="Tokens one scheduler step processes (vLLM --max-num-batched-tokens); "
        "None = vLLM's default for the GPU (2048, or 8192 on 70 GiB+ GPUs). It sizes the profiling pass and what a "
        "sliding-window layer holds per request."
    )

    max_model_len: int | None = Field(
        None, ge=1024, description="Context length in tokens; None = the longest that fits (at least min_context)."
    )

    speculative_tokens: int = Field(
        0, ge=0, le=8, description="Tokens the model's own multi-token-prediction (MTP) head drafts each step, "
        "checked by the model in one pass (vLLM --speculative-config, method 'mtp'): faster decoding for one "
        "request; 0 = off. Only models whose checkpoint ships an MTP head (Qwen3.5/3.6/3.8, GLM, DeepSeek-R1 and "
        "V4; the head's weights and KV cache are planned) and Gemma 4 31B (its published drafter repo, downloaded "
        "beside it; its weights are planned). The primary model only."
    )

    min_context: int = Field(
        16384, ge=1024, description="Shortest context the planner accepts; reasoning traces need room."
    )

    gpu_memory_utilization: float | None = Field(
        None, ge=0.05, le=0.98, description="Share of each GPU's memory vLLM may use (vLLM's own flag); None = the "
        "release's own (0.90 on 0.17.1, 0.92 on 0.32.0; on 0.34.0 the whole GPU less a margin, no flag), or 0.80 "
        "where the GPU shares the system's memory (DGX Spark), leaving the system room."
    )

    kv_cache_dtype: Literal["auto", "fp8"] = Field(
        "auto", description="KV-cache dtype; 'auto' uses the model dtype and falls back to fp8 only if needed."
    )

    enforce_eager: bool | None = Field(
        None, description="Skip CUDA graphs; None = only when their pool does not fit beside vLLM's memory budget."
    )

    tensor_parallel_size: int | None = Field(
        None, ge=1, le=16,
        description="GPUs one model replica is split across; None = the planner compares the layouts that use "
        "every GPU (more tensor parallel or more replicas) and says why it picked one.",
    )

    data_parallel_size: int | None = Field(
        None, ge=1, le=16,
        description="Replicas of the model in one vLLM server (--data-parallel-size), each on its own "
        "tensor_parallel_size GPUs; None = chosen with the layout.",
    )

    served_model_name: str | None = Field(
        None, description="Model name clients send; None = the catalogue slug."
    )

    enable_prefix_caching: bool = Field(True, description="vLLM automatic prefix caching.")

    enable_chunked_prefill: bool = Field(True, description="vLLM chunked prefill.")

    thinking_default: bool = Field(
        True, description="Models with a thinking switch (Qwen3, Gemma 4): think unless a request sends "
        "enable_thinking false; False flips the default."
    )

    sampling_overrides: dict[str, float] = Field(
        {},
        description="Server-side sampling defaults (temperature, top_p, top_k, min_p, repetition_penalty, "
        "max_new_tokens; from vLLM 0.32 also presence_penalty, frequency_penalty); the model's own generation config "
        "applies otherwise.",
    )

    extra_models: list[ExtraModel] = Field(
        [],
        description="More models on the same host, each its own unit and port: one per GPU, or (vLLM only) "
        "sharing the GPUs when all fit (keys: name, model, port, quantization, max_model_len, kv_cache_dtype, "
        "served_model_name, engine).",
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return check_model(value)

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        return check_engine(value)

    @field_validator("served_model_name")
    @classmethod
    def _served_name(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", value):
            raise ValueError("must be letters, digits and . _ / - only")
        return value

    @field_validator("sampling_overrides")
    @classmethod
    def _sampling_keys(cls, value: dict[str, float]) -> dict[str, float]:
        # the keys some supported vLLM's --override-generation-config honours (others are ignored silently); whether
        # the chosen release honours each is the engine's check (engines/vllm: release.sampling_keys)
        allowed = tuple(_SAMPLING_RANGES)
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(f"{key!r} is not honoured by vLLM; {hint}valid: {', '.join(allowed)}")
            low, high, whole, words = _SAMPLING_RANGES[key]
            number = value[key]
            exclusive = key in ("top_p", "repetition_penalty")
            if (whole and number != int(number)) or number < low or (exclusive and number <= low) or (
                    high is not None and number > high):
                raise ValueError(f"{key} {number!r} is out of range: must be {words}")
        return value

    def served_model_names(self) -> list[str]:
        """The names this host's instances serve under: the primary model first, then extra_models (each as its
        engine names it: an Ollama instance's is its library tag)."""

        def name(engine: str, model: str, served: str | None) -> str:
            return engines.candidates(engine)[0].served_name(model, served)

        return [name(self.engine, self.model, self.served_model_name)] + [
            name(e.engine, e.model, e.served_model_name) for e in self.extra_models]

    def serving_images(self) -> list[str]:
        """The images of the engines this host's instances run, the primary model's first."""
        names = [self.engine, *(e.engine for e in self.extra_models)]
        return list(dict.fromkeys(image for n in names for e in engines.candidates(n) for image in e.images(self)))

    def extra_args_for(self, engine: str) -> list[str]:
        """The user's extra arguments for an instance of ``engine``."""
        return engines.candidates(engine)[0].extra_args(self)

    def engine_names(self) -> set[str]:
        """The engine settings of this host's instances (auto included as it is set)."""
        return {self.engine, *(e.engine for e in self.extra_models)}

    def _engines_used(self) -> list[engines.Engine]:
        uses = engines.uses(self)
        return [engines.get(name) for name, use in uses.items() if use.any]

    def _check_engines(self) -> None:
        """What the engines in use cannot do by their capabilities (a cluster, listening beyond loopback without a
        key, server-side sampling), then what each engine refuses itself (the engines no instance uses may refuse
        their own settings being set)."""
        uses = engines.uses(self)
        used = [engines.get(name) for name, use in uses.items() if use.any]
        if self.cluster is not None and not all(e.multi_node for e in engines.candidates(self.engine)):
            able = " or ".join(f"{e.title} (engine {e.name!r})" for e in engines.registered() if e.multi_node)
            raise ValueError(f"engine: {self.engine!r} is planned on one host; a cluster serves with {able}")
        keyless = [e for e in used if not e.takes_api_key]
        if keyless and not ipaddress.ip_address(self.api_listen).is_loopback:
            keyed = " or ".join(repr(e.name) for e in engines.registered()
                                if e.takes_api_key and e.platform == keyless[0].platform)
            raise ValueError(f"api_listen {self.api_listen}: {keyless[0].title} has no API key, so its server "
                             "listens on 127.0.0.1 only (Open WebUI on this host reaches it)"
                             + (f"; use engine {keyed} to serve other machines" if keyed else ""))
        fixed = [e for e in used if not e.server_sampling]
        if self.sampling_overrides and fixed:
            raise ValueError(f"sampling_overrides: {fixed[0].title} has no server-side sampling override (it "
                             f"{fixed[0].sampling_source}); remove them or serve with engine 'vllm'")
        refusal = engines.drafting_refusal(self.engine)
        if self.speculative_tokens and refusal:
            able = " or ".join(f"engine {e.name!r}" for e in engines.registered() if e.mtp_drafts)
            raise ValueError(f"speculative_tokens {self.speculative_tokens}: {refusal}; set speculative_tokens = 0, "
                             f"or serve with {able}")
        if self.openwebui_enabled and self.openwebui_thinking_budgets:  # asked for: every model must honour them
            for engine in used:
                problem = engine.thinking_budget_problem(self)
                if problem:
                    able = [repr(e.name) for e in engines.registered()
                            if e.platform == engine.platform and not e.thinking_budget_problem(self)]
                    instead = f"; serve with engine {' or '.join(able)}" if able else ""
                    raise ValueError(f"openwebui_thinking_budgets: {problem}{instead}; or leave "
                                     "openwebui_thinking_budgets unset (None offers them only where they hold)")
        for name, use in uses.items():
            engines.get(name).check_settings(self, use)

    def _check_context(self) -> None:
        """A min_context longer than max_model_len can never be met."""
        if self.max_model_len is not None and self.min_context > self.max_model_len:
            raise ValueError(f"min_context {self.min_context} is longer than max_model_len {self.max_model_len}: "
                             f"lower min_context to {self.max_model_len} or less, or raise max_model_len")

    def _check_model_files(self) -> None:
        """A Hugging Face repo or folder model read now (``models.resolve``): a repo that cannot be read or an
        architecture the planner does not know is refused here, before any host is touched."""
        from reasoning_stack.models import ModelError, needs_reading, resolve

        for key, name, revision in [("model", self.model, self.model_revision),
                                    *((f"extra_models[{e.name}].model", e.model, None) for e in self.extra_models)]:
            if needs_reading(name):
                try:
                    resolve(name, revision)
                except ModelError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        if self.model_revision and not needs_reading(self.model):
            raise ValueError(f"model_revision {self.model_revision!r} pins a Hugging Face repo model; model "
                             f"{self.model!r} is a catalogue model (its repos are fixed): remove model_revision")

    def model_name(self) -> str:
        """The planner's name of the primary model (a repo read at a revision carries it: ``org/name@rev``)."""
        from reasoning_stack.models import needs_reading

        return f"{self.model}@{self.model_revision}" if self.model_revision and needs_reading(self.model) else (
            self.model)

    def _check_parallel_sizes(self) -> None:
        """Parallel sizes that cannot work on the declared GPUs or with the named model."""
        usable = None
        if self.gpu_indices is not None:
            if not self.gpu_indices or len(set(self.gpu_indices)) != len(self.gpu_indices) or min(self.gpu_indices) < 0:
                raise ValueError(f"gpu_indices {self.gpu_indices}: list each GPU index (0, 1, ...) once, or leave "
                                 "it unset to use every GPU")
            usable = len(self.gpu_indices)
        if self.gpu_profile is not None or self.gpu_memory_gib is not None:
            count = self.gpu_count or 1
            outside = [i for i in self.gpu_indices or [] if i >= count]
            if outside:
                raise ValueError(f"gpu_indices {outside} name GPUs a {count}-GPU "
                                 f"{self.gpu_profile or f'{self.gpu_memory_gib:g} GiB'} host lacks; "
                                 f"valid indices: 0-{count - 1}")
            usable = usable or count
        wanted = (self.tensor_parallel_size or 1) * (self.data_parallel_size or 1)
        if usable is not None and wanted > usable:
            raise ValueError(f"tensor_parallel_size {self.tensor_parallel_size or 1} x data_parallel_size "
                             f"{self.data_parallel_size or 1} needs {wanted} GPUs; this host may use {usable}")
        if self.tensor_parallel_size and self.model != "auto":
            model = find_model(self.model_name())
            quants = list(model.repos) if self.quantization == "auto" else [self.quantization]
            problems = [tp_problem(model, self.tensor_parallel_size, q) for q in quants if q in model.repos]
            if problems and all(problems):
                sizes = sorted({t for q in quants if q in model.repos for t in valid_tp_sizes(model, q, 16)})
                raise ValueError(f"tensor_parallel_size {self.tensor_parallel_size}: {problems[0]}; sizes that suit "
                                 f"it: {', '.join(map(str, sizes))}")
