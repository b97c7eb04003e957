"""The package's import graph has no cycle: every module-level import of src/harness (those under `if
TYPE_CHECKING:` too), with the packages that importing a module imports first, read from the source."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str], anywhere: bool = False) -> set[str]:
    """The harness modules `path` imports at module level (`anywhere`: in functions too), and the packages above
    each of them."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree) if anywhere else tree.body:
        for statement in node.body if isinstance(node, ast.If) and not anywhere else [node]:
            if isinstance(statement, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - statement.level + 1] if statement.level else []
                target = ".".join(base + ([statement.module] if statement.module else []))
                targets.update(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                               for alias in statement.names)
            elif isinstance(statement, ast.Import):
                targets.update(alias.name for alias in statement.names)
    with_parents = {".".join(t.split(".")[:k]) for t in targets for k in range(2, len(t.split(".")) + 1)}
    return {t for t in with_parents if t in modules and t != name and not name.startswith(t + ".")}


def import_graph(anywhere: bool = False) -> dict[str, set[str]]:
    paths = {module_name(path): path for path in (SRC / "harness").rglob("*.py")}
    return {name: imported(path, name, set(paths), anywhere) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_walk_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_walk_sees_relative_imports_and_the_packages_they_pass_through():
    graph = import_graph()
    assert "harness.evaluate.metrics" in graph["harness.verdict.rules"]
    assert "harness.evaluate" in graph["harness.verdict.rules"]   # importing a module runs its package first


def test_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def test_nothing_below_the_command_line_imports_it():
    """cli/ is a thin layer on top: no other module imports it, in a function either."""
    graph = import_graph(anywhere=True)
    # the walk sees an import inside a function (launch_cmd.run imports the launcher there)
    assert "harness.study.launcher" in graph["harness.cli.launch_cmd"] - import_graph()["harness.cli.launch_cmd"]
    assert {name: sorted(t for t in targets if t.startswith("harness.cli"))
            for name, targets in graph.items()
            if not name.startswith("harness.cli") and any(t.startswith("harness.cli") for t in targets)} == {}


MAX_FUNCTION_LINES = 60


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than `limit` lines, its docstring included."""
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit]


def test_the_length_check_counts_a_functions_lines():
    source = "def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 60
    assert long_functions(source) == [("long", 61)]


def test_no_function_over_60_lines_in_the_package():
    found = {f"{path.relative_to(SRC)}:{name}": lines for path in (SRC / "harness").rglob("*.py")
             for name, lines in long_functions(path.read_text())}
    assert found == {}
