"""``reasoning-stack``: check settings, plan, render and print the settings reference without touching hosts;
status, usage and bench connect to them over SSH and change nothing.

    reasoning-stack check inventories/home.py
    reasoning-stack plan inventories/home.py
    reasoning-stack plan --gpu rtx-4090 --count 2 --model qwq-32b --context 32768 --json
    reasoning-stack status inventories/home.py
    reasoning-stack usage inventories/home.py --days 30
    reasoning-stack render inventories/home.py --out rendered/
    reasoning-stack settings
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reasoning_stack import engines
from reasoning_stack.catalogue import GPUS, MODELS
from reasoning_stack.gpus import Gpu, closest_gpu, gpus_from_profile
from reasoning_stack.planner import (
    SHORT_REASONING_ROOM,
    SUMMARY_HEADER,
    TYPICAL_PROMPT_TOKENS,
    NotRendered,
    PlanRequest,
    ServingPlan,
    chat_menus_text,
    find_clusters,
    functions_text,
    plan_inventory,
    plan_summary_row,
    plan_what_if,
    registry_steps,
    render_host,
)
from reasoning_stack.render import text_table
from reasoning_stack.settings import StackSettings, group_data_all_py, settings_reference_markdown
from reasoning_stack.validation import SettingsInvalid

if TYPE_CHECKING:
    from pyinfra.api.inventory import Inventory


EXIT_DOWN = 1
EXIT_INVALID = 2
EXIT_DOES_NOT_FIT = 3


class _Stop(Exception):
    """A command stops here with ``code``; what went wrong is printed already."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _load(inventory_path: str, warn: bool = True) -> tuple[Inventory, dict[str, StackSettings]]:
    """The inventory and every host's validated settings, for every command that reads one. With ``warn``, what the
    operator should know goes to stderr (unused group_data files, renamed settings, hosts without an address, Open
    WebUI shared over plain HTTP). A broken inventory or setting is printed and stops the command (exit 2)."""
    from reasoning_stack.inventory import (
        InventoryInvalid,
        hosts_without_address,
        load_inventory,
        plain_http_shared,
        renamed_settings,
        unused_group_data,
        validate_inventory,
    )

    try:
        inventory = load_inventory(inventory_path)
        warnings = (unused_group_data(inventory, inventory_path) + renamed_settings(inventory)
                    + hosts_without_address(inventory)) if warn else []
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        settings = validate_inventory(inventory)
    except (SettingsInvalid, FileNotFoundError, InventoryInvalid) as exc:
        print(exc, file=sys.stderr)
        raise _Stop(EXIT_INVALID) from None
    for warning in plain_http_shared(settings) if warn else []:
        print(f"warning: {warning}", file=sys.stderr)
    return inventory, settings


def _address(inventory: Inventory, name: str) -> str:
    """How the inventory reaches a host: its ssh_hostname, else its name."""
    from reasoning_stack.inventory import host_address

    return host_address(inventory.get_host(name))


def _print_exposure(inventory: Inventory, settings: dict[str, StackSettings]) -> None:
    """What each host lets in, from where and how (``check`` and ``plan`` print it)."""
    from reasoning_stack.exposure import exposure_report

    for name, host_settings in settings.items():
        for line in exposure_report(name, host_settings, _address(inventory, name)):
            print(line)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate every host's settings, then refuse what the deploy would refuse (a platform's limits, a model that
    does not fit) and say what each host lets in, from where; connects to nothing."""
    from reasoning_stack import platforms
    from reasoning_stack.exposure import exposure_warnings

    inventory, settings = _load(args.inventory)
    refusals = [f"host {name!r}: {limit}" for name, s in settings.items() for limit in platforms.limits(s)]
    worst = EXIT_INVALID if refusals else 0
    remote_code: list[str] = []  # the units whose engine runs the model repository's own Python
    if not refusals:
        for unit in plan_inventory(settings, with_alternatives=False):
            if unit.plan is not None and not unit.plan.fits:
                refusals.append(f"{unit.label}: does not fit: {unit.plan.reason}")
                worst = EXIT_DOES_NOT_FIT
            elif unit.plan is not None:
                remote_code += [_instance_label(unit.label, i.name) for i in unit.plan.instances
                                if REMOTE_CODE_FLAG in i.plan.command]
    _print_exposure(inventory, settings)
    for name, host_settings in settings.items():
        for warning in exposure_warnings(name, host_settings, _address(inventory, name)):
            print(f"warning: {warning}", file=sys.stderr)
    for label in remote_code:
        print(f"note: {label}: {REMOTE_CODE_LINE.strip()}", file=sys.stderr)
    if refusals:
        for refusal in refusals:
            print(refusal, file=sys.stderr)
        print(f"check: {len(refusals)} refusal(s); the deploy would stop there (plan {args.inventory} shows what fits)",
              file=sys.stderr)
        return worst
    print(f"{len(settings)} host(s) checked, settings valid: {', '.join(settings)}")
    return 0


def _table(rows: list[list[str]]) -> str:
    return "\n".join(text_table([SUMMARY_HEADER, *rows]))


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the serving plan of every host of an inventory, or of a what-if GPU setup."""
    if args.inventory:
        given = [flag for flag, value in _what_if_flags(args).items() if value]
        if given:
            print(f"plan {args.inventory}: {', '.join(given)} plan(s) a what-if GPU setup and would be ignored with "
                  "an inventory; change the settings in group_data (or drop the inventory for a what-if), except "
                  "--engine, which applies to every host", file=sys.stderr)
            return EXIT_INVALID
        return _plan_inventory(args)
    if not args.gpu and not args.vram_gib:
        print("plan needs an inventory or --gpu SLUG (or --vram-gib N for an unknown GPU)", file=sys.stderr)
        return EXIT_INVALID
    if args.gpu and args.vram_gib:
        print("plan: --gpu and --vram-gib describe the GPU twice; give --gpu NAME for a card of the catalogue, or "
              "--vram-gib N alone for one it lacks", file=sys.stderr)
        return EXIT_INVALID
    if args.compute_cap and (not args.vram_gib or not re.fullmatch(r"\d{1,2}\.\d", args.compute_cap)):
        print("plan: --compute-cap X.Y (as nvidia-smi prints compute_cap, e.g. 12.0) goes with --vram-gib, for a card "
              "the catalogue lacks", file=sys.stderr)
        return EXIT_INVALID
    if args.bandwidth_gb_s is not None and (not args.vram_gib or args.bandwidth_gb_s <= 0):
        print("plan: --bandwidth-gb-s N (the card's memory bandwidth in GB/s, from its data sheet) goes with "
              "--vram-gib, for a card the catalogue lacks", file=sys.stderr)
        return EXIT_INVALID
    if args.gpu and args.gpu not in GPUS:
        close = closest_gpu(args.gpu)
        hint = f"did you mean {close!r}? " if close else ""
        print(f"plan: --gpu {args.gpu!r} is not in the catalogue; {hint}known: {', '.join(sorted(GPUS))}. For a card "
              "it lacks, give its memory instead: --vram-gib N (GiB per GPU)", file=sys.stderr)
        return EXIT_INVALID
    if args.gpu:
        gpus = gpus_from_profile(args.gpu, args.count)
    else:
        gpus = [Gpu(i, f"GPU with {args.vram_gib:g} GiB", int(args.vram_gib * 1024), compute_cap=args.compute_cap or "",
                    bandwidth_gb_s=args.bandwidth_gb_s) for i in range(args.count)]
    model = args.model
    if model != "auto":
        from reasoning_stack.models import ModelError, planned_name, resolve, resolve_notes

        try:
            spec = resolve(model, args.model_revision)
        except ModelError as exc:
            print(f"plan: --model {str(exc).removeprefix('model ')}", file=sys.stderr)
            return EXIT_INVALID
        model = spec.slug  # a preset's repo id names its slug; a repo pinned at a revision is name@revision
        _, args.quantization = planned_name(args.model, args.quantization)
        note = resolve_notes().get(model)
        if note:
            print(f"note: {args.model}: {note}", file=sys.stderr)
    engine = args.engine or engines.default_for(gpus)
    refusal = engines.drafting_refusal(engine)
    if args.speculative_tokens and refusal:
        print(f"plan: --speculative-tokens: {refusal}; plan it with --engine vllm", file=sys.stderr)
        return EXIT_INVALID
    if args.vllm_version and not any(e.release_setting == "vllm_version" for e in engines.candidates(engine)):
        title = engines.get(engine).title
        print(f"plan: --vllm-version chooses the release engine 'vllm' is planned for; {title} (engine {engine!r}) "
              "is planned for its own: drop --vllm-version, or plan with --engine vllm", file=sys.stderr)
        return EXIT_INVALID
    req = PlanRequest(
        gpus=tuple(gpus),
        model=model,
        quantization=args.quantization,
        max_model_len=args.context,
        gpu_memory_utilization=args.gpu_memory_utilization,
        kv_cache_dtype=args.kv_cache_dtype,
        enforce_eager=args.enforce_eager,
        tensor_parallel_size=args.tensor_parallel_size,
        data_parallel_size=args.data_parallel_size,
        nodes=args.nodes,
        engine=engine,
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_num_batched_tokens,
        speculative_tokens=args.speculative_tokens,
        release=args.vllm_version or "",
    )
    plan = plan_what_if(req)
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
    else:
        _print_plan(plan)
    return 0 if plan.fits else EXIT_DOES_NOT_FIT


def _what_if_flags(args: argparse.Namespace) -> dict[str, bool]:
    """The what-if flags of ``plan`` and whether each was given (an inventory takes none of them but --engine and
    --json)."""
    return {"--gpu": args.gpu is not None, "--vram-gib": args.vram_gib is not None,
            "--compute-cap": args.compute_cap is not None, "--bandwidth-gb-s": args.bandwidth_gb_s is not None,
            "--count": args.count != 1,
            "--nodes": args.nodes != 1, "--model": args.model != "auto", "--model-revision": bool(args.model_revision),
            "--context": args.context is not None, "--quantization": args.quantization != "auto",
            "--gpu-memory-utilization": args.gpu_memory_utilization is not None,
            "--kv-cache-dtype": args.kv_cache_dtype != "auto", "--enforce-eager": args.enforce_eager is not None,
            "--tensor-parallel-size": args.tensor_parallel_size is not None,
            "--data-parallel-size": args.data_parallel_size is not None,
            "--max-num-seqs": args.max_num_seqs is not None,
            "--max-num-batched-tokens": args.max_num_batched_tokens is not None,
            "--speculative-tokens": args.speculative_tokens != 0,
            "--vllm-version": args.vllm_version is not None}


def _speed_line(plan: ServingPlan) -> str:
    if plan.decode_tokens_per_s is None:
        if plan.speed_caveat:
            return f"  speed: {plan.speed_caveat}"
        return ("  speed: no bandwidth figure for this GPU in the catalogue, so no estimate; give the card's memory "
                "bandwidth from its data sheet for one (--bandwidth-gb-s N with --vram-gib; gpu_memory_bandwidth_gb_s "
                "in group_data)")
    assert plan.decode_bound_tokens_per_s is not None and plan.trace_seconds is not None
    link = f", tensor parallel over {plan.interconnect}" if plan.interconnect != "none" else ""
    return (f"  speed, one request: ~{plan.decode_tokens_per_s:.0f} tokens/s estimated (bound "
            f"{plan.decode_bound_tokens_per_s:.0f} at {plan.memory_bandwidth_gb_s:g} GB/s; efficiency "
            f"{plan.decode_efficiency:.2f}{link}), ~{plan.decode_tokens_per_s_at_context:.0f} tokens/s with "
            f"{plan.max_model_len} tokens in context; a 2,000-token reasoning trace ~{plan.trace_seconds:.0f} s"
            + (f" (caveat: {plan.speed_caveat})" if plan.speed_caveat else ""))


def _reasoning_room_line(plan: ServingPlan) -> str:
    short = (" (short for a reasoning model: long traces will be cut off; see the alternatives for more context)"
             if plan.reasoning_room < SHORT_REASONING_ROOM else "")
    return (f"  room to reason: {plan.reasoning_room:,} tokens of reasoning and answer after a "
            f"{TYPICAL_PROMPT_TOKENS:,}-token prompt; a reply past it stops with finish_reason length, counted by "
            f"the ReasoningCutOff alert{short}")


def _instance_label(host: str, instance_name: str) -> str:
    """How plan and check name one engine instance of a host: the host, with the instance's name after a slash
    where it has one (an extra model)."""
    return f"{host}/{instance_name}" if instance_name else host


REMOTE_CODE_FLAG = "--trust-remote-code"
REMOTE_CODE_LINE = ("  runs the model repository's own Python (--trust-remote-code: its config or model class ships "
                    "with the weights, and the engine needs it); read the repo first, and pin what you read with "
                    "model_revision")


def _print_plan(plan: ServingPlan) -> None:
    print(("FITS: " if plan.fits else "DOES NOT FIT: ") + plan.reason)
    if plan.fits:
        print(f"  layout {plan.layout_reason}")
        engine = engines.get(plan.engine)
        for line in engine.describe(plan):
            print(line)
        if engine.gpu_layouts:
            print(_speed_line(plan))
        print(_reasoning_room_line(plan))
        print(f"  {plan.engine} runs: " + " ".join(plan.command))
        if REMOTE_CODE_FLAG in plan.command:
            print(REMOTE_CODE_LINE)
        for line in plan.output.command_lines():
            print(line)
    for tip in plan.suggestions:
        print(f"  instead: {tip}")
    _print_alternatives(plan)


def _print_alternatives(plan: ServingPlan) -> None:
    if plan.alternatives:
        print("  alternatives on the same GPUs:")
    for alt in plan.alternatives:
        print(f"    - {alt['change']}: {alt['trade']}")


def _plan_inventory(args: argparse.Namespace) -> int:
    inventory, settings = _load(args.inventory)

    rows, plans, refusals, menus, worst = [], {}, {}, {}, 0
    if args.engine:
        try:
            settings = {h: StackSettings.model_validate({**s.model_dump(), "engine": args.engine})
                        for h, s in settings.items()}
        except ValueError as exc:
            print(f"--engine {args.engine}: {exc}", file=sys.stderr)
            return EXIT_INVALID
    for unit in plan_inventory(settings):
        host, host_plan = unit.label, unit.plan
        if host_plan is None:
            rows.append([host, unit.settings.engine, unit.settings.model, *["-"] * 7,
                         "at deploy (GPUs from nvidia-smi)"])
            continue
        if not host_plan.fits:
            refusals[host] = host_plan.reason
            rows.append([host, unit.settings.engine, unit.settings.model, *["-"] * 7, "NO"])
            worst = EXIT_DOES_NOT_FIT
            continue
        for instance in host_plan.instances:
            label = _instance_label(host, instance.name)
            plans[label] = instance.plan
            rows.append(plan_summary_row(label, instance.plan))
            if unit.settings.openwebui_enabled:
                menus[label] = chat_menus_text(unit.settings, instance) + (
                    [] if instance.name else functions_text(unit.settings))  # Open WebUI's, said once a host
    if args.json:
        print(json.dumps({"plans": {h: p.to_json() for h, p in plans.items()}, "refused": refusals}, indent=2))
        return worst
    print(_table(rows))
    for label, plan in plans.items():
        print(f"\n{label}: layout {plan.layout_reason}")
        print(_speed_line(plan).strip())
        print(_reasoning_room_line(plan).strip())
        if REMOTE_CODE_FLAG in plan.command:
            print(REMOTE_CODE_LINE.strip())
        for line in menus.get(label, []):
            print(line)
        _print_alternatives(plan)
    for host, reason in refusals.items():
        print(f"\n{host}: {reason}")
    print()
    _print_exposure(inventory, settings)
    return worst


def cmd_status(args: argparse.Namespace) -> int:
    """Connect to every host and report what runs and whether it answers; exit 1 when something is down."""
    from reasoning_stack.status import format_report, probe_hosts

    inventory, settings = _load(args.inventory, warn=False)
    clusters = find_clusters(settings)
    statuses = probe_hosts(inventory, timeout=args.timeout)
    if args.json:
        print(json.dumps({"hosts": [s.to_json() for s in statuses], "clusters": {
            name: {"nodes": list(c.nodes), "healthy": all(s.healthy for s in statuses if s.host in c.nodes)}
            for name, c in clusters.items()}}, indent=2))
    else:
        print(format_report(statuses, clusters))
    return 0 if all(s.healthy for s in statuses) else EXIT_DOWN


def cmd_usage(args: argparse.Namespace) -> int:
    """Connect to every host and sum Open WebUI's record of model calls per person and model; exit 1 when a host
    could not be read."""
    from reasoning_stack.openwebui.usage import collect_usage, format_usage

    inventory, _settings = _load(args.inventory, warn=False)
    results = collect_usage(inventory, args.days, timeout=args.timeout)
    if args.json:
        print(json.dumps({"days": args.days, "hosts": {r.host: {"people": r.people, "error": r.error}
                                                       for r in results}}, indent=2, sort_keys=True))
    else:
        print(format_usage(results, args.days))
    return EXIT_DOWN if any(r.error.startswith(("unreachable", "the usage probe")) for r in results) else 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure each deployed endpoint with AIPerf through an SSH tunnel; print the figures beside the plan's, save
    JSON and an HTML plot, record the result on the host (``status`` shows it). Exit 1 when a bench cannot run."""

    from reasoning_stack.bench import BenchError, Options, bench_inventory, find_aiperf, format_result

    inventory, settings = _load(args.inventory, warn=False)
    unknown = [h for h in args.host or [] if h not in settings]
    if unknown:
        print(f"--host {unknown[0]!r} is not in {args.inventory}; hosts: {', '.join(settings)}", file=sys.stderr)
        return EXIT_INVALID
    options = Options(concurrencies=tuple(args.concurrency), output_tokens=args.output_tokens,
                      input_tokens=args.input_tokens, requests=args.requests, tokenizer=args.tokenizer or "")
    try:
        python = find_aiperf(args.aiperf_python)
        results = bench_inventory(inventory, settings, args.host or [], python, options, Path(args.out))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return EXIT_DOWN
    for result, saved, plot in results:
        print(format_result(result))
        print(f"  saved: {saved}\n  plot:  {plot}")
    if not results:
        print("bench: no endpoint to measure (a cluster's workers serve none; is the stack deployed?)",
              file=sys.stderr)
        return EXIT_DOWN
    return 0


def _concurrencies(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give concurrencies as numbers, like 1,4,16") from None
    if not values or any(v < 1 or v > 1024 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each concurrency must be between 1 and 1024")
    return values


def cmd_render(args: argparse.Namespace) -> int:
    """Write every file the deploy would put on each host under ``--out/<host>/``, secrets as placeholders, the way
    ``helm template`` does: review a change before deploying it. Connects to nothing."""
    inventory, settings = _load(args.inventory)
    if args.host and args.host not in settings:
        print(f"--host {args.host}: not in {args.inventory}; hosts: {', '.join(settings)}", file=sys.stderr)
        return EXIT_INVALID
    clusters = find_clusters(settings)
    out, worst = Path(args.out), 0
    if out.exists() and not out.is_dir():
        print(f"--out {out}: is a file; render writes a folder per host into a folder (e.g. --out rendered/)",
              file=sys.stderr)
        return EXIT_INVALID
    for name, host_settings in settings.items():
        if args.host and name != args.host:
            continue
        try:
            rendered = render_host(name, host_settings, clusters, inventory.get_host(name).data.get("ssh_user"))
        except NotRendered as exc:
            print(f"{name}: not rendered: {exc}", file=sys.stderr)
            if exc.why != "gpus_at_deploy":  # a host whose GPUs the deploy reads is not at fault
                worst = EXIT_DOES_NOT_FIT if exc.why == "does_not_fit" else EXIT_INVALID
            continue
        _write_rendered(out / name, rendered)
        for step in registry_steps(host_settings):
            print(f"  {step}")
    return worst


RENDERED_LIST = ".rendered-files"  # what the last render wrote into a host's folder, one path a line


def _write_rendered(folder: Path, rendered: dict[str, str]) -> None:
    """Write a host's rendered files under ``folder``; remove those an earlier render wrote there that this one no
    longer does (a Caddyfile once https is off), and name the secret env files the units read but that only the
    deploy writes, on the host."""
    from reasoning_stack.service_files import CONFIG_DIR

    listed = folder / RENDERED_LIST
    earlier = set(listed.read_text().splitlines()) if listed.is_file() else set()
    for path, text in rendered.items():
        target = folder / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    gone = sorted(earlier - set(rendered))
    for path in gone:
        (folder / path.lstrip("/")).unlink(missing_ok=True)
    listed.write_text("".join(f"{path}\n" for path in sorted(rendered)))
    print(f"{folder.name}: {len(rendered)} files under {folder}")
    if gone:
        print(f"  removed, as the deploy would not write them now: {', '.join(gone)}")
    env_file = re.compile(rf"{re.escape(CONFIG_DIR)}/[\w.-]+\.env")
    secrets = sorted({m for text in rendered.values() for m in env_file.findall(text)} - set(rendered))
    if secrets:
        print(f"  not rendered: {', '.join(secrets)}: secrets the deploy generates on the host (root only)")


def cmd_settings(args: argparse.Namespace) -> int:
    """Print the settings reference (Markdown), or the generated group_data/all.py."""
    print(group_data_all_py() if args.group_data else settings_reference_markdown(), end="")
    return 0


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError("expected true or false")


def _bounded(kind: type, low: float | None = None, high: float | None = None, above: float | None = None,
             setting: str | None = None):
    """An argparse type: ``kind`` within bounds (a setting's own bounds when ``setting`` is named), so a bad
    what-if value is a usage error (exit 2), never a traceback."""
    if setting is not None:
        for rule in StackSettings.model_fields[setting].metadata:
            low = getattr(rule, "ge", low)
            high = getattr(rule, "le", high)
            above = getattr(rule, "gt", above)

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a{'n integer' if kind is int else ' number'}, got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high) or (
                above is not None and value <= above):
            bounds = [f"> {above:g}" if above is not None else "", f">= {low:g}" if low is not None else "",
                      f"<= {high:g}" if high is not None else ""]
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {' and '.join(b for b in bounds if b)}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; built once for each set of registered engines (--engine offers them), as the
    golden tests call main() thousands of times in one process."""
    return _parser_for(tuple(engines.setting_values()))


@functools.cache
def _parser_for(engine_choices: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reasoning-stack", description=" ".join(__doc__.split("\n\n")[0].split()),
                                     allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate every host's settings without connecting", allow_abbrev=False)
    check.add_argument("inventory")
    check.set_defaults(func=cmd_check)

    plan = sub.add_parser("plan", help="show serving plans (no host is changed)", allow_abbrev=False)
    plan.add_argument("inventory", nargs="?")
    plan.add_argument("--gpu", metavar="NAME", help="GPU for a what-if plan: " + ", ".join(sorted(GPUS)))
    plan.add_argument("--vram-gib", type=_bounded(float, above=0), help="memory of a GPU the catalogue lacks")
    plan.add_argument("--compute-cap", metavar="X.Y", help="with --vram-gib: its CUDA compute capability (nvidia-smi's "
                      "compute_cap, e.g. 12.0), for the kernels it has")
    plan.add_argument("--bandwidth-gb-s", type=float, metavar="N", help="with --vram-gib: its memory bandwidth in "
                      "GB/s, from its data sheet, for the speed estimate")
    plan.add_argument("--count", type=_bounded(int, setting="gpu_count"), default=1, help="GPUs per node")
    plan.add_argument("--nodes", type=_bounded(int, 1, 64), default=1, help="nodes (pipeline parallel across them)")
    plan.add_argument("--model", default="auto", metavar="MODEL",
                      help="auto, a catalogue slug or preset (" + ", ".join(MODELS) + "), a Hugging Face repo id "
                      "(org/name; read from the Hub, HF_TOKEN for gated repos) or a folder holding config.json")
    plan.add_argument("--model-revision", help="branch, tag or commit of a Hugging Face repo model")
    plan.add_argument("--context", type=_bounded(int, setting="max_model_len"), help="wanted max_model_len")
    plan.add_argument("--quantization", default="auto",
                      choices=engines.quantization_values())
    plan.add_argument("--gpu-memory-utilization", type=_bounded(float, setting="gpu_memory_utilization"),
                      default=None, help="default: the vLLM release's own (0.17.1: 0.90, 0.32.0: 0.92, 0.34.0: "
                      "the whole GPU, its KV cache sized after warm-up); 0.80 on unified memory (DGX Spark)")
    plan.add_argument("--kv-cache-dtype", default="auto", choices=["auto", "fp8"])
    plan.add_argument("--enforce-eager", type=_bool, default=None)
    plan.add_argument("--tensor-parallel-size", type=_bounded(int, setting="tensor_parallel_size"))
    plan.add_argument("--data-parallel-size", type=_bounded(int, setting="data_parallel_size"))
    plan.add_argument("--max-num-seqs", type=_bounded(int, setting="max_num_seqs"),
                      help="requests decoded at once (default: vLLM's for the GPU, fewer only if needed)")
    plan.add_argument("--max-num-batched-tokens", type=_bounded(int, setting="max_num_batched_tokens"),
                      help="tokens per scheduler step (default: vLLM's for the GPU)")
    plan.add_argument("--speculative-tokens", type=_bounded(int, setting="speculative_tokens"), default=0,
                      help="tokens the model's own MTP head drafts a step (vLLM; default 0: off)")
    vllm_field = StackSettings.model_fields["vllm_version"]
    plan.add_argument("--vllm-version", choices=typing.get_args(vllm_field.annotation), default=None,
                      help=f"the vLLM release to plan for: its memory accounting, defaults and flags (default "
                           f"{vllm_field.default}, the vllm_version setting's)")
    plan.add_argument("--engine", choices=list(engine_choices), default=None,
                      help="serving engine to plan for (what-if; with an inventory: every host's primary model)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.set_defaults(func=cmd_plan)

    status = sub.add_parser("status", help="connect to every host: units, endpoints, models, last smoke test",
                            allow_abbrev=False)
    status.add_argument("inventory")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--timeout", type=_bounded(int, 1, 600), default=30,
                        help="seconds for each connection and request (a hung engine fails at this bound)")
    status.set_defaults(func=cmd_status)

    usage = sub.add_parser("usage", help="connect to every host: model calls and tokens per person (Open WebUI's "
                           "record, with openwebui_api_keys on)", allow_abbrev=False)
    usage.add_argument("inventory")
    usage.add_argument("--days", type=_bounded(float, above=0), default=7, help="how far back (default 7 days)")
    usage.add_argument("--json", action="store_true", help="machine-readable output")
    usage.add_argument("--timeout", type=_bounded(int, 1, 600), default=30, help="seconds for each connection")
    usage.set_defaults(func=cmd_usage)

    rendered = sub.add_parser("render", help="write every file the deploy would put on each host (secrets as "
                              "placeholders), to review a change before deploying it", allow_abbrev=False)
    rendered.add_argument("inventory")
    rendered.add_argument("--host", help="only this host of the inventory")
    rendered.add_argument("--out", required=True, help="folder to write into (<out>/<host>/<path on the host>)")
    rendered.set_defaults(func=cmd_render)

    bench = sub.add_parser("bench", help="measure each deployed endpoint (AIPerf, through an SSH tunnel) beside the "
                           "plan's predictions", allow_abbrev=False)
    bench.add_argument("inventory")
    bench.add_argument("--host", action="append", help="only this host (repeat for more)")
    bench.add_argument("--concurrency", type=_concurrencies, default=[1, 4],
                       help="concurrent requests to measure at, comma-separated (default 1,4)")
    bench.add_argument("--output-tokens", type=_bounded(int, 16, 131072), default=2000,
                       help="tokens each request generates, to the end (default 2000: a reasoning trace)")
    bench.add_argument("--input-tokens", type=_bounded(int, 1, 131072), default=256,
                       help="tokens in each synthetic prompt (default 256)")
    bench.add_argument("--requests", type=_bounded(int, 0, 100000), default=0,
                       help="requests per concurrency (default: max(4, 2 x concurrency))")
    bench.add_argument("--tokenizer", help="tokenizer AIPerf counts tokens with (default: the model's Hugging Face "
                       "repo; a local folder works offline)")
    bench.add_argument("--aiperf-python", help="python of a virtual environment with AIPerf 0.13.0 (default: "
                       "~/.cache/reasoning-stack/aiperf-0.13.0/bin/python)")
    bench.add_argument("--out", default="bench-results", help="folder for the JSON and the plot (default "
                       "./bench-results)")
    bench.set_defaults(func=cmd_bench)

    ref = sub.add_parser("settings", help="print the settings reference", allow_abbrev=False)
    ref.add_argument("--group-data", action="store_true", help="print group_data/all.py instead")
    ref.set_defaults(func=cmd_settings)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reasoning-stack")
    except PackageNotFoundError:
        return "(not installed: run pip install -e . in the checkout)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reasoning-stack`` command."""
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
    except _Stop as stop:
        return stop.code
    except BrokenPipeError:  # `reasoning-stack plan ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
