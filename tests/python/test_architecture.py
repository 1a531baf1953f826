"""The module graph of butter_warehouse (read with ast): no cycle, no upward import, and only
settings reads the environment's BUTTER_* variables (docs/architecture.md draws the layers)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "butter_warehouse"

#: layer of each module (package prefix); a module imports only from its own layer or below
LAYERS = {
    "errors": 0, "settings": 0, "contract": 0, "progress": 0,
    "project": 1, "storage": 1, "s3_get": 1, "encoding": 1, "ownership": 1, "dbt_progress": 1, "demo": 1,
    "context": 2, "codegen": 2, "inventory": 2, "download": 2, "landing": 2, "drift": 2, "duckdb_plugin": 2,
    "quarantine": 2, "publish": 2, "export": 2, "figures": 2, "spark": 2, "spark_cluster": 2,
    "dbt_runner": 3,
    "pipeline": 4,
    "commands": 5,
    "cli": 6,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def imports(path: Path) -> set[str]:
    """The package modules ``path`` imports (anywhere in it, also inside functions)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
            elif node.module and node.module.startswith("butter_warehouse"):
                base = []
                node_module = node.module.split(".")[1:]
                found.update(_resolve(node_module, node.names))
                continue
            else:
                continue
            module = [*base, *(node.module.split(".") if node.module else [])]
            found.update(_resolve(module, node.names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("butter_warehouse."):
                    found.add(alias.name.split(".", 1)[1])
    return {m for m in found if m and m != name}


def _resolve(module: list[str], names: list[ast.alias]) -> set[str]:
    """``from X import a, b``: X.a when it is a module of the package, else X."""
    out = set()
    for alias in names:
        candidate = [*module, alias.name]
        if (PACKAGE.joinpath(*candidate).with_suffix(".py")).is_file() or PACKAGE.joinpath(*candidate).is_dir():
            out.add(".".join(candidate))
        else:
            out.add(".".join(module))
    return out


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def test_the_module_graph_has_no_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def layer(module: str) -> int | None:
    return LAYERS.get(module.split(".")[0])


def test_no_module_imports_upward() -> None:
    edges = graph()
    unplaced = sorted(m for m in edges if m != "__init__" and layer(m) is None)
    assert unplaced == [], f"give these modules a layer (here and in docs/architecture.md): {unplaced}"
    upward = [f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})" for a, targets in edges.items()
              for b in targets if a != "__init__" and (layer(b) or 0) > (layer(a) or 0)]
    assert upward == []


def test_only_settings_reads_the_environment() -> None:
    """os.environ / os.getenv appear only in settings (and where dbt's own DBT_* folders are read)."""
    allowed = {"settings", "context", "pipeline", "spark"}  # context/pipeline: DBT_* only; spark: JAVA_HOME
    readers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(module_name(path))
    assert sorted(set(readers) - allowed) == []


def test_the_architecture_doc_draws_these_layers() -> None:
    """docs/architecture.md's layer table names each module at the layer this test enforces."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    drawn = {}
    for number, modules in re.findall(r"^\| (\d) [a-z]+ \| ([^|]+) \|", text, flags=re.M):
        for module in re.findall(r"`([a-z_][a-z0-9_]*)", modules):
            drawn[module] = int(number)
    assert drawn == LAYERS


def test_only_project_parses_dbt_project_yml() -> None:
    """dbt_project.yml is parsed in one place (project.read_config; Context.project_config holds it):
    only project names the file in code, and YAML is parsed only there and in pipeline (profiles.yml)."""
    namers, parsers = set(), set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if re.search(r"[/(] *[\"']dbt_project\.yml[\"']", text):  # a path built from the file name
            namers.add(module_name(path))
        if re.search(r"\byaml\.(safe_)?load\(", text):
            parsers.add(module_name(path))
    assert namers == set() and parsers == {"project", "pipeline"}, (namers, parsers)


def test_the_build_gets_its_settings_passed_down() -> None:
    """Only the Context loads the settings a build uses: the build's modules never call settings.load()."""
    build_modules = ("pipeline", "publish", "quarantine", "landing", "drift", "inventory", "download", "ownership")
    loaders = []
    for name in build_modules:
        module = PACKAGE / f"{name}.py"
        for node in (n for path in ([module] if module.is_file() else sorted((PACKAGE / name).rglob("*.py")))
                     for n in ast.walk(ast.parse(path.read_text()))):
            if isinstance(node, ast.Call) and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                     and isinstance(node.func.value, ast.Name) and node.func.value.id in ("settings", "settings_mod"))
                    or (isinstance(node.func, ast.Name) and node.func.id == "load")):
                loaders.append(name)
    assert loaders == []


def test_every_module_is_named_in_the_architecture_doc() -> None:
    """Each module (or package) of butter_warehouse appears in docs/architecture.md's layer table."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    table = "\n".join(line for line in text.splitlines() if re.match(r"^\| \d [a-z]+ \|", line))
    named = set(re.findall(r"`([a-z_][a-z0-9_]*)/?`", table))
    modules = {module_name(p).split(".")[0] for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert sorted(modules - named) == []
