"""The floors drawn in the README's layout hold: every module of utils sits on one floor (a subpackage, or the ground
and top modules) and imports only from its own floor or below; the imports have no cycle; no project import hides
inside a function to dodge one; the notebooks import only what ``utils`` and its subpackages export."""
from __future__ import annotations

import ast
import graphlib
import importlib
import json
import re

from utils.project import REPO

UTILS = REPO / "utils"
MODULES = sorted(".".join(p.relative_to(UTILS).with_suffix("").parts) for p in UTILS.rglob("*.py")
                 if p.stem not in ("__init__", "__main__"))
PACKAGES = sorted(p.parent.name for p in UTILS.glob("*/__init__.py"))


def _floors() -> list[list[str]]:
    """The README's floors of utils, top first: the modules on each line (a subpackage's line names its modules)."""
    layout = (REPO / "README.md").read_text().split("## Layout", 1)[1]
    block = layout.split("utils/", 1)[1].split("microstructures/", 1)[0].splitlines()[1:]
    floors = []
    for line in block:
        words = re.findall(r"[\w/.]+", line.split("python -m")[0].split("(")[0])
        if words and words[0].endswith("/") and words[0][:-1] in PACKAGES:
            floors.append([f"{words[0][:-1]}.{w}" for w in words[1:] if f"{words[0][:-1]}.{w}" in MODULES])
        else:
            floors.append([w[:-3] for w in words if w.endswith(".py")])
    return [f for f in floors if f]


def _imports(module: str) -> set[str]:
    """The utils modules that ``utils/<module>.py`` imports anywhere in the file (a subpackage's names count as
    imports of the module that defines them)."""
    path = UTILS / (module.replace(".", "/") + ".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils"):
            target = node.module.removeprefix("utils").removeprefix(".")
            for alias in node.names:
                if f"{target}.{alias.name}".lstrip(".") in MODULES:
                    found.add(f"{target}.{alias.name}".lstrip("."))
                elif target in MODULES:
                    found.add(target)
                elif target in PACKAGES:
                    found.add(f"{target}.{_defining_module(target, alias.name)}")
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("utils.") for a in node.names if a.name.removeprefix("utils.") in MODULES}
    return found - {module}


def _defining_module(package: str, name: str) -> str:
    return importlib.import_module(f"utils.{package}")._WHERE[name]


def test_every_module_is_drawn_once_and_imports_only_its_floor_or_below():
    floors = _floors()
    drawn = [m for f in floors for m in f]
    assert sorted(drawn) == MODULES and len(drawn) == len(set(drawn)), sorted(set(MODULES) ^ set(drawn))
    floor = {m: i for i, f in enumerate(floors) for m in f}
    for module in MODULES:
        for name in _imports(module):
            assert floor[name] >= floor[module], f"utils.{module} (floor {floor[module]}) imports utils.{name} above it"


def test_a_subpackage_is_one_floor():
    for floor in _floors():
        assert len({m.split(".")[0] if "." in m else "" for m in floor}) == 1, floor


def test_the_imports_have_no_cycle():
    graph = {module: _imports(module) for module in MODULES}
    tuple(graphlib.TopologicalSorter(graph).static_order())      # raises CycleError, naming the cycle


def test_no_project_import_sits_inside_a_function():
    for module in MODULES:
        tree = ast.parse((UTILS / (module.replace(".", "/") + ".py")).read_text())
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils"):
                    raise AssertionError(f"utils.{module}.{fn.name} imports {node.module} inside the function")


def test_every_subpackage_exports_its_modules_public_names():
    for package in PACKAGES:
        sub = importlib.import_module(f"utils.{package}")
        for module in (m for m in MODULES if m.startswith(f"{package}.")):
            names = importlib.import_module(f"utils.{module}").__all__
            for name in names:
                assert getattr(sub, name) is getattr(importlib.import_module(f"utils.{module}"), name) or \
                    name == module.split(".")[1], f"utils.{package}.{name}"


def test_the_notebooks_import_only_what_utils_and_its_subpackages_export():
    ground = {m for m in MODULES if "." not in m}
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils"):
                target = node.module.removeprefix("utils").removeprefix(".")
                assert target in ("", *PACKAGES, *ground), f"{path.name}: from {node.module} import ... (use utils." \
                                                           f"{target.split('.')[0]})"
                exported = dir(importlib.import_module(node.module))
                for alias in node.names:
                    assert alias.name in exported, f"{path.name}: {node.module} does not export {alias.name}"
            assert not isinstance(node, ast.Import) or not any(a.name.startswith("utils.") for a in node.names), path
