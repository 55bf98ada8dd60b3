"""The shape the code keeps: outside ``reasoning_stack/engines/`` nothing branches on an engine's name (the code asks
the engine instead), and the engines the stack ships implement the whole interface. The import layers are checked
by import-linter (``pyproject.toml``, run by ``scripts/test``)."""

from __future__ import annotations

import ast
import re
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
    assert {e.platform for e in engines.registered()} <= PLATFORM_NAMES
    # each platform's layers and removal are @deploy functions the deploys import (no module named in a string)
    from reasoning_stack.deploys.stack import PLATFORM_DEPLOYS

    assert set(PLATFORM_DEPLOYS) == set(platforms.PLATFORMS)
    assert all(callable(f) for pair in PLATFORM_DEPLOYS.values() for f in pair)


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
    assert len(links) >= 8 and [p for p in links if not (REPO / p.split("#")[0]).exists()] == []
    for link in [p for p in links if "#" in p]:  # a section's anchor: GitHub's slug of one of its headings
        path, anchor = link.split("#")
        slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
                 for h in re.findall(r"^#+ (.+)$", (REPO / path).read_text(), re.M)}
        assert anchor in slugs, (link, sorted(slugs))
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


# What only Open WebUI's room (reasoning_stack/openwebui/) may spell: its templates, its files on a host and the
# variables of its env file. Its settings (reasoning_stack/settings/) name their own environment variables.
OPENWEBUI_ONLY = (
    "openwebui.env.j2", "openwebui-signup.py.j2", "openwebui-models.py.j2", "cloud-models.py.j2",
    "openwebui-usage.py.j2", "openwebui-db.py.j2",
    "reasoning-openwebui", "openwebui-secret.env", "openwebui-admin.env", "openwebui-models.json", "openwebui-db",
    "/open-webui", "/app/backend/data",
    "WEBUI_SECRET_KEY", "WEBUI_ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL", "OPENAI_API_BASE_URLS", "TASK_MODEL",
)


def _code_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant in the code (f-strings' literal parts included), docstrings left out."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _spelled_outside_the_room(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in ("openwebui", "settings"):
            continue
        for line, text in _code_strings(ast.parse(path.read_text())):
            found += [f"{rel}:{line}: {word}" for word in OPENWEBUI_ONLY if word in text]
    return found


def test_nothing_outside_open_webuis_room_builds_its_files_or_environment():
    assert _spelled_outside_the_room(REPO / "reasoning_stack") == []


def test_the_room_check_finds_what_it_looks_for(tmp_path: Path):
    (tmp_path / "openwebui").mkdir()
    (tmp_path / "openwebui" / "service.py").write_text('ENV = "/etc/reasoning-stack/reasoning-openwebui.env"\n')
    (tmp_path / "status.py").write_text('"""Reads WEBUI_SECRET_KEY (a docstring may say so)."""\n'
                                        'x = render("openwebui.env.j2")\ny = f"{data}/open-webui/webui.db"\n')
    assert _spelled_outside_the_room(tmp_path) == ["status.py:2: openwebui.env.j2", "status.py:3: /open-webui"]


# The planner's internals: the CLI reaches them only through reasoning_stack.planner, its one entry point.
PLANNING_INTERNALS = ("reasoning_stack.planning", "reasoning_stack.plan", "reasoning_stack.instances",
                      "reasoning_stack.tradeoffs", "reasoning_stack.layout", "reasoning_stack.kv_pool",
                      "reasoning_stack.speed", "reasoning_stack.cuda", "reasoning_stack.cluster")


def _imports(source: str) -> set[str]:
    """Every module a file imports (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _planning_internals(source: str) -> list[str]:
    return sorted(m for m in _imports(source) if any(m == p or m.startswith(p + ".") for p in PLANNING_INTERNALS))


def test_the_cli_only_prints_what_the_planners_entry_point_returns():
    source = (REPO / "reasoning_stack" / "cli.py").read_text()
    assert "reasoning_stack.planner" in _imports(source)
    assert _planning_internals(source) == []
    assert _planning_internals("from reasoning_stack.plan import make_plan\n"
                               "def f():\n    from reasoning_stack.tradeoffs import alternatives\n"
                               "from reasoning_stack.planner import plan_what_if\n") == [
        "reasoning_stack.plan", "reasoning_stack.tradeoffs"]


def _defined_names() -> set[str]:
    """Every name the package defines: modules, classes, functions, module constants, fields and attributes set."""
    names = set()
    for path in (REPO / "reasoning_stack").rglob("*.py"):
        names.add(path.stem)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
                names.update(n.attr for n in ast.walk(target) if isinstance(n, ast.Attribute))
            if targets and isinstance(node.value, ast.Dict):  # a table's keys: RENAMED_SETTINGS' old names
                names.update(k.value for k in node.value.keys
                             if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return names


def _cited_but_missing(text: str, names: set[str]) -> list[str]:
    """The paths and code names a document cites in backticks that the repository does not have."""
    import re

    missing = []
    for cited in re.findall(r"`([^`\n]+)`", text):
        path = re.fullmatch(r"((?:reasoning_stack|deploys|templates|docs|group_data|tests)/[^ <>*]*)", cited)
        if path:
            if not (REPO / path.group(1).rstrip("/")).exists():
                missing.append(cited)
            continue
        if re.fullmatch(r"[\w-]+\.(py|toml|md|j2|json)", cited):  # a file named alone: somewhere in the repository
            if not any(REPO.glob(f"**/{cited}")):
                missing.append(cited)
            continue
        name = re.fullmatch(r"@?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(\))?", cited)
        if name and name.group(1).split(".")[-1] not in names:
            missing.append(cited)
    return missing


def test_the_architecture_doc_cites_only_paths_and_names_the_code_has():
    names = _defined_names()
    text = (REPO / "docs" / "architecture.md").read_text()
    assert len(re.findall(r"`[^`\n]+`", text)) > 100
    assert _cited_but_missing(text, names) == []
    assert _cited_but_missing("`reasoning_stack/openwebui/after_start.py` and `Engine.default_port`, "
                              "`reasoning_stack/webui.py`, `plan_inventory`, `output.py`, `gone.py`", names) == [
        "Engine.default_port", "reasoning_stack/webui.py", "gone.py"]


def test_every_test_the_failure_modes_page_names_exists():
    """docs/failure-modes.md maps each failure mode to the test that proves it: each named test is there."""
    import re

    page = (REPO / "docs" / "failure-modes.md").read_text()
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", page)
    assert len(cited) >= 12
    for path, name in cited:
        source = (REPO / path).read_text()
        assert not name or re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} is not a test"
