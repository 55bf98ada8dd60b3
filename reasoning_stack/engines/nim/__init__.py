"""NVIDIA NIM: NIM LLM's model-free vLLM image, serving any model the stack plans from ``NIM_MODEL_PATH=hf://...``.
NIM LLM 2.x wraps vLLM, so a NIM instance is planned as the vLLM release inside its image (``releases``: one entry
per NIM release), its vLLM flags passed to the image as arguments; its service (``service``), its settings
(``settings``: the image, the profile, the NGC API key) and the registry login the deploy does with that key
(``registry_login``). No API key the stack relies on, so loopback only; GPUs of compute capability 7.5 or higher."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reasoning_stack.catalogue import ModelSpec
from reasoning_stack.driver import planned_branch
from reasoning_stack.engines.base import RegistryLogin, Uses
from reasoning_stack.engines.nim.output import NimOutput
from reasoning_stack.engines.nim.releases import (
    DEFAULT_RELEASE,
    MIN_COMPUTE_CAPABILITY,
    RELEASES,
    read_image,
)
from reasoning_stack.engines.nim.service import HEALTH_PATH, METRICS_PATH, cache_dir, nim_service
from reasoning_stack.engines.nim.settings import SECRETS, NimSettings
from reasoning_stack.engines.vllm import Vllm
from reasoning_stack.engines.vllm.releases import RELEASES as VLLM_RELEASES
from reasoning_stack.engines.vllm.releases import VllmRelease
from reasoning_stack.gpus import Gpu
from reasoning_stack.planning.types import Instance, PlanRequest, ServingPlan
from reasoning_stack.service_files import ServiceFiles
from reasoning_stack.topology import ClusterNode

NGC_USER = "$oauthtoken"  # the user name NGC takes with an API key as the password


class Nim(Vllm):
    """NIM LLM's model-free vLLM image: planned as the vLLM inside it, on one host."""

    name = "nim"
    title = "NVIDIA NIM"
    shares_gpus = False  # NIM sizes its own memory guardrails: GPUs of its own
    multi_node = False
    mtp_drafts = False
    takes_api_key = False
    health_path = HEALTH_PATH
    metrics_path = METRICS_PATH
    startup = "none"  # NIM downloads the weights itself while the health wait shows its progress
    offered_instead = False  # vLLM packaged: another engine's refusal names vLLM, not NIM as well
    extra_args_setting = None
    release_setting = None  # its image's NIM release sets the vLLM inside it
    settings_group = NimSettings
    secret_settings = SECRETS

    def release_for(self, req: PlanRequest) -> str:
        """The vLLM release inside the NIM release the stack runs (the nim_image check keeps the image to it)."""
        return RELEASES[DEFAULT_RELEASE].vllm

    def first_release(self, version: str) -> str | None:
        return None  # a newer vLLM comes with a newer NIM release, not a setting

    def settings_release(self, settings: Any) -> VllmRelease:
        """The vLLM release inside the NIM release the stack runs."""
        return VLLM_RELEASES[RELEASES[DEFAULT_RELEASE].vllm]

    def images(self, settings: Any) -> list[str]:
        return [settings.nim_image]

    def for_arch(self, settings: Any, arch: str) -> dict[str, object]:
        return {}  # the image's architectures are not recorded here: the operator's pull says

    def kept_from_last_deploy(self, data: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> dict[str, str]:
        return {}

    def check_settings(self, settings: Any, uses: Uses) -> None:
        """What NIM cannot do with these settings: an image the stack cannot plan, a tag that needs a key not
        given, a driver older than its CUDA, offline pre-staging, sampling keys its vLLM ignores."""
        if not uses.any:
            if settings.nim_model_profile:
                raise ValueError("nim_model_profile: no instance of this host runs NVIDIA NIM (engine 'nim')")
            return
        tag = read_image(settings.nim_image)
        known = ", ".join(sorted(RELEASES))
        if not tag.model_free or tag.release is None:
            raise ValueError(f"nim_image: {settings.nim_image} is not a model-free vLLM NIM of a release the stack "
                             f"plans (NIM LLM {known}: it plans NIM as the vLLM inside the image); set nim_image to "
                             f"{RELEASES[DEFAULT_RELEASE].image} (or a mirror of that tag), or serve with engine "
                             "'vllm'")
        if tag.needs_key and settings.ngc_api_key is None:
            why = "a Production Branch tag" if tag.production_branch else "a NIM released before NIM LLM 2.0.10"
            raise ValueError(f"nim_image: {settings.nim_image} is {why}, which needs an NGC API key to pull: export "
                             f"{settings.ngc_api_key_env} in the environment you deploy from (ngc_api_key_env names "
                             f"the variable), or use the keyless public tag {RELEASES[DEFAULT_RELEASE].image}")
        if settings.offline:
            raise ValueError("offline: NIM downloads the model itself into <data_dir>/nim when it starts; the stack "
                             "pre-stages weights for engine 'vllm' (offline = true with engine 'vllm'), or set "
                             "offline = false")
        vllm = VLLM_RELEASES[tag.release.vllm]
        branch = planned_branch(settings.nvidia_driver_branch, settings.nvidia_driver)  # as engine 'vllm' reads it
        if branch is not None and branch < vllm.driver_branch:
            setting = "nvidia_driver_branch" if settings.nvidia_driver_branch else "nvidia_driver"
            raise ValueError(f"{setting}: branch {branch}: NIM {tag.release.version} runs vLLM {vllm.version} on "
                             f"CUDA {vllm.cuda}, which needs driver branch {vllm.driver_branch} or newer; unset it or "
                             f"pin {vllm.driver_branch}")
        for key in settings.sampling_overrides:
            if key not in vllm.sampling_keys:
                raise ValueError(f"sampling_overrides: {key!r} is not honoured by the vLLM {vllm.version} inside NIM "
                                 f"{tag.release.version} (it takes {', '.join(vllm.sampling_keys)}); remove it")

    def registry_login(self, settings: Any) -> RegistryLogin | None:
        """The host's Docker logs in to nim_image's registry with the NGC API key, when one is given."""
        if settings.ngc_api_key is None:
            return None
        return RegistryLogin(registry=read_image(settings.nim_image).registry, user=NGC_USER,
                             secret_setting="ngc_api_key", title="NGC API key")

    # --- planning: vLLM's, for the release inside the image ----------------------------------------------
    def plan(self, req: PlanRequest) -> ServingPlan:
        floor = self._below_floor(req.gpus)
        if floor:
            return ServingPlan(fits=False, engine=self.name, reason=floor)  # the registry adds the engines that fit
        return super().plan(req)

    @staticmethod
    def _below_floor(gpus: tuple[Gpu, ...]) -> str:
        # compared as the weights formats' floors are (models/quantization.gpu_problem); unknown GPUs pass
        old = next((g for g in gpus if g.compute_cap and float(g.compute_cap) < MIN_COMPUTE_CAPABILITY), None)
        if old is None:
            return ""
        return (f"{old.name} has compute capability {old.compute_cap}; NVIDIA's model-free vLLM NIM needs "
                f"{MIN_COMPUTE_CAPABILITY:g} or higher")

    def finish(self, plan: ServingPlan, model: ModelSpec, req: PlanRequest, gpu: Gpu, eager: bool,
               seqs: int | None) -> None:
        super().finish(plan, model, req, gpu, eager, seqs)  # vLLM's arguments, for the release inside the image
        release = RELEASES[DEFAULT_RELEASE]
        repo, *args = plan.output.args
        path = repo if repo.startswith("/") else f"hf://{repo}"
        # the model is NIM_MODEL_PATH; every other flag is vLLM's own, which NIM passes to its vLLM
        plan.output = NimOutput(args, release.vllm, nim_release=release.version, model_path=path)
        plan.command = ["nim-serve", *plan.output.args]

    def describe(self, plan: ServingPlan) -> list[str]:
        assert isinstance(plan.output, NimOutput)
        return [f"  NVIDIA NIM {plan.output.nim_release}: planned as the vLLM {plan.output.release} inside it"] + \
            super().describe(plan)

    # --- serving -------------------------------------------------------------------------------------------
    def service(self, settings: Any, instance: Instance, host_gpu_count: int,
                node: ClusterNode | None = None) -> ServiceFiles:
        return nim_service(settings, instance, host_gpu_count)

    def data_dirs(self, settings: Any) -> list[tuple[str, str]]:
        return [("NIM cache", cache_dir(settings))]


ENGINE = Nim()
# The default share of the vLLM inside the image, whatever vllm_version says (it sets only engine 'vllm').
PlanRequest.DEFAULT_UTILIZATION.update(
    {(ENGINE.name, version): VLLM_RELEASES[RELEASES[DEFAULT_RELEASE].vllm].default_utilization or 1.0
     for version in ("", *VLLM_RELEASES)})
