"""What the planner is asked and what it answers, for every engine: the request of one instance, its plan, and a
host's instances. Engines build these (``reasoning_stack.engines``); the rest of the stack reads them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

from reasoning_stack.cuda import default_utilization
from reasoning_stack.gpus import Gpu
from reasoning_stack.kv_pool import KvPool, PackedKvPool
from reasoning_stack.layout import Layout

CONTEXT_STEP = 1024  # planned contexts are whole multiples of this many tokens
UNIT_PREFIX = "reasoning-"  # every engine's units: reasoning-<engine>[-<name>]


TYPICAL_PROMPT_TOKENS = 2000  # a question with some context: what "room to reason" is counted after
SHORT_REASONING_ROOM = 8192  # below this, a long reasoning trace runs out of context (finish_reason "length")

@dataclass(frozen=True)
class PlanRequest:
    """What the planner is asked: the GPUs of one node, how many nodes, and the user's wishes."""

    gpus: tuple[Gpu, ...]
    model: str = "auto"
    quantization: str = "auto"
    max_model_len: int | None = None
    min_context: int = 16384
    gpu_memory_utilization: float | None = None  # None: 0.90, or 0.80 on unified memory (memory.default_utilization)
    kv_cache_dtype: str = "auto"
    enforce_eager: bool | None = None
    tensor_parallel_size: int | None = None
    data_parallel_size: int | None = None
    nodes: int = 1
    cluster_backend: str = "mp"  # how vLLM spans nodes: mp (--nnodes, added per node) or ray
    served_model_name: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8000
    enable_prefix_caching: bool = True
    enable_chunked_prefill: bool = True
    extra_args: tuple[str, ...] = ()
    thinking_default: bool = True
    sampling_overrides: tuple[tuple[str, float], ...] = ()
    colocated: int = 1  # vLLM instances sharing these GPUs (each with this gpu_memory_utilization)
    max_num_seqs: int | None = None  # fixed by the caller; None = vLLM's default, fewer only if needed
    max_num_batched_tokens: int | None = None  # fixed by the caller; None = the engine's default for the GPU
    speculative_tokens: int = 0  # tokens the model's MTP head drafts a step (0: none)
    engine: str = "vllm"  # a registered engine's name, or auto: whose memory model and command line
    wired_limit_mib: int = 0  # a Mac's raised iogpu.wired_limit_mb (0: Metal's default working set)
    release: str = ""  # the engine release planned for ("": the engine's default; vLLM: the vllm_version setting)

    # gpu_memory_utilization an engine release takes when none is set, on GPUs of their own memory, as each engine
    # registers it: (engine, release) -> share ("" : the engine's default release). Unified memory keeps the
    # stack's 0.80 whatever the release.
    DEFAULT_UTILIZATION: ClassVar[dict[tuple[str, str], float]] = {}

    def __post_init__(self) -> None:
        if self.gpu_memory_utilization is None:
            object.__setattr__(self, "gpu_memory_utilization", self._default_utilization(self.engine, self.release))

    def _default_utilization(self, engine: str, release: str) -> float:
        util = default_utilization(self.gpus)
        if not any(g.unified for g in self.gpus):
            util = self.DEFAULT_UTILIZATION.get((engine, release), util)
        return util

    def for_engine(self, engine: str, **changes: Any) -> PlanRequest:
        """The same request for another engine: a gpu_memory_utilization left at this engine's default takes that
        engine's own (vLLM 0.34 plans the whole GPU where Ollama's request held 0.90)."""
        util = self.gpu_memory_utilization
        if util == self._default_utilization(self.engine, self.release):
            util = None
        return replace(self, engine=engine, gpu_memory_utilization=util, **changes)


@dataclass(frozen=True)
class EngineOutput:
    """What one engine's planner adds to a plan beyond the shared fields, in that engine's own small frozen type (vLLM's
    argument list, SGLang's memory fraction, Ollama's environment), the way vLLM's ``kv_cache_interface.py`` gives
    each layer kind its own spec. An engine with nothing to add leaves this base: empty."""

    kinds: ClassVar[list[type[EngineOutput]]] = []  # every engine's type, as each engine module defines it

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        EngineOutput.kinds.append(cls)

    @classmethod
    def json_defaults(cls) -> dict[str, object]:
        """Its keys in ``plan --json`` when the plan is another engine's (every plan lists every engine's keys)."""
        return {}

    def json_fields(self) -> dict[str, object]:
        """Its keys in ``plan --json``."""
        return {}

    def command_lines(self) -> list[str]:
        """What ``plan`` prints after the command line (an environment the server reads)."""
        return []

    def release_text(self) -> str:
        """The engine release the plan is for, as ``status`` shows it ('' when the engine plans no release)."""
        return ""

    def repos_beside(self) -> list[str]:
        """Hugging Face repos the server loads beside the model's own (vLLM's drafter), downloaded before it starts."""
        return []


@dataclass
class ServingPlan:
    """The planner's answer. ``fits`` False means: refuse, with ``reason`` and ``suggestions``."""

    fits: bool
    reason: str
    suggestions: list[str] = field(default_factory=list)
    model: str = ""
    model_repo: str = ""
    quantization: str = ""
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1
    layout_reason: str = ""  # why this layout (TP x PP x DP) over the others that use the GPUs
    nodes: int = 1
    gpu_memory_utilization: float = 0.9
    kv_cache_dtype: str = "auto"
    enforce_eager: bool = False
    max_num_seqs: int | None = None  # None = vLLM's default for the GPU
    max_model_len: int = 0
    weights_gib_per_gpu: float = 0.0
    kv_bytes_per_token: int = 0
    reserve_gib_per_gpu: float = 0.0  # profiling peak + non-torch memory, inside the budget
    activation_gib_per_gpu: float = 0.0  # the profiling peak (sampler pass over max_num_seqs rows)
    non_torch_gib_per_gpu: float = 0.0
    cuda_graph_gib_per_gpu: float = 0.0  # estimated pool, outside the budget; 0 with enforce_eager
    headroom_gib_per_gpu: float = 0.0  # memory beside the budget(s) ...
    headroom_needed_gib_per_gpu: float = 0.0  # ... and what CUDA context, NCCL and CUDA graphs need of it
    kv_cache_gib_per_gpu: float = 0.0
    kv_cache_tokens: int = 0  # per replica: the longest request its KV cache holds (each replica has its own)
    kv_cache_blocks: int = 0  # vLLM's num_gpu_blocks (0 where the engine plans no block pool)
    kv_block_size: int = 0  # tokens per block (vLLM raises it for linear-attention models)
    kv_blocks_per_request: int = 0  # blocks one request of max_model_len holds, over every layer kind
    max_concurrent_full_context: float = 0.0  # over all replicas
    gpu_name: str = ""
    gpu_memory_gib: float = 0.0
    gpus_used: list[int] = field(default_factory=list)
    gpus_idle: list[int] = field(default_factory=list)
    decode_tokens_per_s: float | None = None  # one request, short context (estimate)
    decode_tokens_per_s_at_context: float | None = None  # one request with max_model_len in its KV cache
    decode_bound_tokens_per_s: float | None = None  # the bandwidth bound the estimate sits under
    trace_seconds: float | None = None  # a 2,000-token reasoning trace, one request
    decode_efficiency: float = 0.0
    interconnect: str = "none"  # what tensor parallel talks over: nvlink | pcie | none
    speed_caveat: str = ""  # where no published figure checks the speed estimate
    memory_bandwidth_gb_s: float | None = None
    reasoning_parser: str = ""
    engine: str = "vllm"
    output: EngineOutput = field(default_factory=EngineOutput)  # the engine's own part (its type: the engine's)
    command: list[str] = field(default_factory=list)  # the exact command line the service runs
    alternatives: list[dict[str, object]] = field(default_factory=list)
    decode_rank_s: float = field(default=0.0, repr=False)  # layout ranking, also for unknown GPUs; not shown
    kv_pool: KvPool | PackedKvPool | None = field(default=None, repr=False)  # how blocks divide among requests

    def requests_at(self, context: int) -> float:
        """Requests of ``context`` tokens one replica's KV cache holds at once (before any max_num_seqs cap)."""
        if self.kv_pool is not None:
            return self.kv_pool.concurrency(self.kv_cache_blocks, context)
        return self.kv_cache_tokens / context if context else 0.0

    @property
    def reasoning_room(self) -> int:
        """Tokens a typical request (a TYPICAL_PROMPT_TOKENS prompt) leaves for its reasoning and answer."""
        return max(0, self.max_model_len - TYPICAL_PROMPT_TOKENS)

    @property
    def layout(self) -> Layout:
        return Layout(self.tensor_parallel_size, self.pipeline_parallel_size, self.data_parallel_size)

    def to_json(self) -> dict[str, object]:
        """The JSON document of ``reasoning-stack plan --json``."""
        data = asdict(self)
        for key in ("weights_gib_per_gpu", "kv_cache_gib_per_gpu", "reserve_gib_per_gpu", "gpu_memory_gib",
                    "headroom_gib_per_gpu", "headroom_needed_gib_per_gpu", "activation_gib_per_gpu",
                    "non_torch_gib_per_gpu", "cuda_graph_gib_per_gpu"):
            data[key] = round(data[key], 2)
        data["max_concurrent_full_context"] = round(self.max_concurrent_full_context, 2)
        for key in ("decode_tokens_per_s", "decode_tokens_per_s_at_context", "decode_bound_tokens_per_s",
                    "trace_seconds"):
            data[key] = None if data[key] is None else round(data[key], 1)
        data["layout"] = self.layout.label
        data.pop("output")
        for kind in EngineOutput.kinds:
            data.update(kind.json_defaults())
        data.update(self.output.json_fields())
        data.pop("decode_rank_s")
        data.pop("kv_pool")
        return data


def unit_name(engine: str, name: str = "") -> str:
    """The systemd unit of an instance: ``reasoning-<engine>`` for the primary model, ``-<name>`` for extras.
    The engine is in the name, so switching an instance's engine retires the old unit."""
    return f"{UNIT_PREFIX}{engine}" + (f"-{name}" if name else "")


@dataclass(frozen=True)
class Instance:
    """One serving instance of a host (an engine's server) and its plan."""

    name: str  # "" for the primary model
    plan: ServingPlan
    port: int
    served_model_name: str

    @property
    def engine(self) -> str:
        return self.plan.engine

    @property
    def unit(self) -> str:
        return unit_name(self.engine, self.name)

    @property
    def container(self) -> str:
        return self.engine if not self.name else f"{self.engine}-{self.name}"


@dataclass(frozen=True)
class HostPlan:
    """Every instance of a host, or why they cannot run together."""

    fits: bool
    reason: str
    instances: tuple[Instance, ...] = ()
    layout: str = "single"  # single | split (own GPUs each) | shared (all GPUs shared)


def indices_text(indices: list[int]) -> str:
    """GPU indices for messages: ``0,1``."""
    return ",".join(str(i) for i in indices)
