"""The shape the code keeps: outside ``reasoning_stack/engines/`` nothing branches on an engine's name (the code asks
the engine instead), and the engines the stack ships implement the whole interface. The import layers are checked
by import-linter (``pyproject.toml``, run by ``scripts/test``)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from reasoning_stack import engines, platforms
from reasoning_stack.engines.base import Engine
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.platforms import Platform
from reasoning_stack.settings import StackSettings

REPO = Path(__file__).resolve().parents[1]
NAMES = set(engines.names())  # not "auto": quantization, model and KV cache dtype have an auto too


def _engine_literals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and node.value in NAMES:
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [n for element in node.elts for n in _engine_literals(element)]
    return []


def branches_on_engine_names(source: str) -> list[str]:
    """Comparisons with an engine's name, and mappings keyed by engines' names, in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            names = [n for side in (node.left, *node.comparators) for n in _engine_literals(side)]
            if names:
                found.append(f"line {node.lineno}: compares with {', '.join(names)}")
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in NAMES]
            if len(keys) > 1:
                found.append(f"line {node.lineno}: a mapping by engine ({', '.join(keys)})")
    return found


def test_the_check_finds_what_it_looks_for():
    assert branches_on_engine_names('if engine == "ollama":\n    pass\n') == ["line 1: compares with ollama"]
    assert branches_on_engine_names('x = e.engine in ("ollama", "mlx")\n') == ["line 1: compares with ollama, mlx"]
    assert branches_on_engine_names('images = {"vllm": a, "sglang": b}\n') == ["line 1: a mapping by engine "
                                                                             "(vllm, sglang)"]
    assert branches_on_engine_names('engine: str = "vllm"\nif engine.openai_api:\n    pass\n') == []


def test_nothing_outside_the_engines_branches_on_an_engine_name():
    sources = [p for p in (REPO / "reasoning_stack").rglob("*.py") if "engines" not in p.relative_to(REPO).parts]
    sources += sorted((REPO / "deploys").glob("*.py"))
    assert len(sources) > 30
    found = {str(p.relative_to(REPO)): hits for p in sources if (hits := branches_on_engine_names(p.read_text()))}
    assert found == {}


PLATFORM_NAMES = {p.name for p in platforms.PLATFORMS}


def branches_on_platform_names(source: str) -> list[str]:
    """Comparisons with a platform's name in ``source``."""
    return [f"line {node.lineno}: compares with {side.value}" for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Compare) for side in (node.left, *node.comparators)
            if isinstance(side, ast.Constant) and side.value in PLATFORM_NAMES]


def test_nothing_outside_the_platforms_branches_on_a_platform():
    assert branches_on_platform_names('if platform == "macos":\n    pass\n') == ["line 1: compares with macos"]
    sources = [p for p in (REPO / "reasoning_stack").rglob("*.py") if "platforms" not in p.relative_to(REPO).parts]
    sources += sorted((REPO / "deploys").glob("*.py"))
    found = {str(p.relative_to(REPO)): hits for p in sources if (hits := branches_on_platform_names(p.read_text()))}
    assert found == {}


def test_every_platform_implements_the_interface():
    for platform in platforms.PLATFORMS:
        for method in ("detect", "gpus", "manifest", "files", "report_gpus", "report_gpu_problem", "hardware_line"):
            assert getattr(type(platform), method) is not getattr(Platform, method), f"{platform.name}: {method}"
        module, _, name = platform.deploy.partition(":")
        assert callable(getattr(importlib.import_module(module), name))
        module, _, name = platform.remove.partition(":")
        assert callable(getattr(importlib.import_module(module), name))
    assert {e.platform for e in engines.registered()} <= PLATFORM_NAMES


def test_every_shipped_engine_implements_the_interface():
    nvidia, mac = gpus_from_profile("rtx-4090"), gpus_from_profile("m4-max-128")
    for engine in engines.registered():
        assert engine.name and engine.title and engine.platform in ("linux", "macos")
        assert type(engine).plan is not Engine.plan, f"{engine.name}: no planner"
        assert engine.runs_on(tuple(nvidia if engine.platform == "linux" else mac))
        if engine.platform == "linux":
            assert type(engine).service is not Engine.service, f"{engine.name}: no service on Linux"
            assert engine.images(StackSettings()), f"{engine.name}: no image"
        assert engine.describe(engines.make_plan(_request(engine, nvidia if engine.platform == "linux" else mac)))


def _request(engine: Engine, gpus):
    from reasoning_stack.planning.types import PlanRequest

    return PlanRequest(gpus=tuple(gpus), model="qwen3-8b", engine=engine.name)


def test_serving_images_of_every_engine_setting():
    """A Mac's MLX-LM runs from a virtual environment, not an image (serving_images once raised KeyError: 'mlx')."""
    assert StackSettings(engine="mlx", gpu_profile="m4-max-128").serving_images() == []
    assert StackSettings(engine="auto").serving_images() == [StackSettings().vllm_image, StackSettings().ollama_image]
    two = StackSettings(gpu_profile="rtx-4090", gpu_count=2,
                        extra_models=[{"name": "batch", "model": "qwen3-8b", "port": 30000, "engine": "sglang"}])
    assert two.serving_images() == [two.vllm_image, two.sglang_image]


def test_the_readmes_table_and_links_match_the_code():
    import re

    readme = (REPO / "README.md").read_text()
    table = readme.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    paths = re.findall(r"`((?:reasoning_stack|deploys|templates|docs|group_data|tests)/[^`<>*]*)`", table)
    assert len(paths) > 20
    missing = [p for p in paths if not (REPO / p.rstrip("/")).exists()]
    assert missing == []
    links = re.findall(r"\]\((docs/[^)]+)\)", readme)
    assert len(links) >= 8 and [p for p in links if not (REPO / p).exists()] == []
    assert len(readme) < 12000  # a newcomer reads it in two minutes; the long sections are in docs/


def import_circles(package: str) -> list[list[str]]:
    """Every circle of imports among ``package``'s modules (function-level imports included, type-checking ones
    not), from grimp's graph, the one import-linter reads."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return circles


def test_no_module_imports_itself_in_a_circle(tmp_path, monkeypatch):
    assert import_circles("reasoning_stack") == []
    circle = tmp_path / "circle"  # the check finds one: a imports b inside a function, b imports a
    circle.mkdir()
    (circle / "__init__.py").write_text("")
    (circle / "a.py").write_text("def f():\n    from circle import b\n")
    (circle / "b.py").write_text("from circle import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_circles("circle") == [["circle.a", "circle.b"]]
