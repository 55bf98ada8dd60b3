"""``lite``: a small engine that exists only in the tests, registered from here with ``engines.register``.

It proves that an engine is one package: the planner, the services, the Open WebUI wiring, ``render`` and ``status``
handle it with no change outside this folder. Its server (``server.py``, a stand-in written for it) speaks the
OpenAI API with the reasoning apart from the answer and answers health on ``/livez``, a path no built-in engine
uses, so a test can see that the stack asked the engine rather than assumed vLLM's ``/health``.

Its memory model is deliberately simple: bf16 weights on the first GPU, 80% of it for weights and KV cache, one
request of the wanted context at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reasoning_stack.catalogue import GIB, find_model, weights_gib
from reasoning_stack.engines.base import Engine
from reasoning_stack.planning.slots import wanted_context
from reasoning_stack.planning.types import CONTEXT_STEP, Instance, PlanRequest, ServingPlan
from reasoning_stack.service_files import (
    CONFIG_DIR,
    ServiceFiles,
    container_unit,
    hf_container_args,
    local_url,
    secret_values,
)
from reasoning_stack.topology import ClusterNode

SERVER = Path(__file__).with_name("server.py")
IMAGE = "example.org/lite-server:1.0"
SHARE = 0.8


class Lite(Engine):
    name = "lite"
    title = "Lite"
    health_path = "/livez"
    gpu_layouts = False

    def images(self, settings: Any) -> list[str]:
        return [IMAGE]

    def check_settings(self, settings: Any, uses: Any) -> None:
        if uses.any and settings.sampling_overrides:
            raise ValueError("sampling_overrides: the lite server has none; remove them")

    def plan(self, req: PlanRequest) -> ServingPlan:
        model = find_model("qwen3-8b" if req.model == "auto" else req.model)
        gpu = req.gpus[0]
        budget = gpu.memory_mib / 1024 * SHARE
        weights = weights_gib(model, "bf16")
        tokens = int(max(0.0, budget - weights) * GIB // model.kv_bytes_per_token(2))
        wanted = wanted_context(req, model)
        if tokens < wanted:
            return ServingPlan(fits=False, engine=self.name, model=model.slug,
                               reason=f"{model.name} does not fit {gpu.name} under Lite: {weights:.1f} GiB of weights "
                                      f"leave {tokens} tokens of the {budget:.1f} GiB it uses, {wanted} wanted")
        context = req.max_model_len or min(model.native_context, tokens // CONTEXT_STEP * CONTEXT_STEP)
        served = req.served_model_name or model.slug
        return ServingPlan(
            fits=True, engine=self.name, reason=f"{model.name} fits {gpu.name} under Lite with {context} tokens",
            model=model.slug, model_repo=model.repos["bf16"], quantization="bf16", max_num_seqs=1,
            max_model_len=context, weights_gib_per_gpu=weights, kv_cache_tokens=tokens, gpu_name=gpu.name,
            gpu_memory_gib=gpu.memory_mib / 1024, gpus_used=[gpu.index], max_concurrent_full_context=1.0,
            reasoning_parser=model.reasoning_parser,
            command=["lite-server", model.repos["bf16"], "--served-model-name", served, "--host", req.listen,
                     "--port", str(req.port), "--context", str(context)],
        )

    def describe(self, plan: ServingPlan) -> list[str]:
        return [f"  Lite: {plan.weights_gib_per_gpu:.1f} GiB of weights, {plan.kv_cache_tokens} tokens of KV cache"]

    def service(self, settings: Any, instance: Instance, host_gpu_count: int,
                node: ClusterNode | None = None) -> ServiceFiles:
        env_path = f"{CONFIG_DIR}/{instance.unit}.env"
        args = hf_container_args(settings, instance, host_gpu_count, env_path)
        unit = container_unit("Lite OpenAI API", instance, IMAGE, args, instance.plan.command, 30)
        hf_token, api_key = secret_values(settings)
        env = f"# lite\nHF_TOKEN={hf_token}\nVLLM_API_KEY={api_key}\n"
        base = local_url(settings.api_listen, instance.port)
        return ServiceFiles(instance.unit, unit, env_path, env, instance.container, IMAGE, f"{base}/livez",
                            f"{base}/v1/models")

    def status_image(self, settings: Any) -> str:
        return IMAGE


ENGINE = Lite()
