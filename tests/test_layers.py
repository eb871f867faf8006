"""The layers drawn in the README's layout hold: every module of utils sits on one row and imports only from
its own row or below; the imports have no cycle; no project import hides inside a function to dodge one."""
from __future__ import annotations

import ast
import fnmatch
import graphlib
import re

from utils.project import REPO

MODULES = sorted(p.stem for p in (REPO / "utils").glob("*.py") if p.stem != "__init__")


def _drawn_rows() -> list[list[str]]:
    """The README's utils rows, top first: the module names (globs such as *_plots expanded) on each line."""
    layout = (REPO / "README.md").read_text().split("## Layout", 1)[1]
    block = layout.split("utils/", 1)[1].split("microstructures/", 1)[0].splitlines()[1:]
    rows = []
    for line in block:
        words = re.findall(r"[\w*]+", line.split("python -m")[0])
        rows.append(sorted({m for w in words for m in MODULES if fnmatch.fnmatch(m, w)}))
    return [r for r in rows if r]


def _imports(module: str) -> set[str]:
    """The utils modules that ``utils/<module>.py`` imports (``from utils.x import``, ``from utils import x``,
    ``import utils.x``), anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse((REPO / "utils" / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils"):
            found |= {node.module.split(".")[1]} if "." in node.module else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("utils.")}
    return found & set(MODULES)


def test_every_module_is_drawn_once_and_imports_only_its_row_or_below():
    rows = _drawn_rows()
    drawn = [m for r in rows for m in r]
    assert sorted(drawn) == MODULES and len(drawn) == len(set(drawn))
    row = {m: i for i, r in enumerate(rows) for m in r}
    for module in MODULES:
        for name in _imports(module):
            assert row[name] >= row[module], f"utils.{module} (row {row[module]}) imports utils.{name} above it"


def test_the_imports_have_no_cycle():
    graph = {module: _imports(module) - {module} for module in MODULES}
    tuple(graphlib.TopologicalSorter(graph).static_order())      # raises CycleError, naming the cycle


def test_no_project_import_sits_inside_a_function():
    for module in MODULES:
        tree = ast.parse((REPO / "utils" / f"{module}.py").read_text())
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils"):
                    raise AssertionError(f"utils.{module}.{fn.name} imports {node.module} inside the function")
