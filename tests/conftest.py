"""Shared test fixtures: paths and a papermill runner for the notebooks."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


@pytest.fixture
def run_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Execute ``notebooks/<name>.ipynb`` with papermill; return the executed copy's path.

    Runs with cwd = notebooks/ (as JupyterLab does), the kernel ``python3`` installed into
    the venv by ``make setup``, and the given parameters.
    """
    import papermill as pm

    def _run(name: str, **parameters: Any) -> Path:
        out = tmp_path / f"{name}.executed.ipynb"
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=parameters,
                            cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False)
        return out

    return _run


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
