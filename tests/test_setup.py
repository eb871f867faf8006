"""The set-up files agree with each other and the notebooks are stored clean."""
from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _requirement_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[ ;]", line, maxsplit=1)[0].lower())
    return names


def test_environment_yml_installs_requirements_txt():
    env = (REPO / "environment.yml").read_text()
    assert "-r requirements.txt" in env, "environment.yml must install requirements.txt through pip"
    assert "python=3.11" in env


def test_requirements_pin_torch_and_hold_the_design_card_packages():
    text = (REPO / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.14\.1$", text, re.M)
    assert re.search(r"^torchvision==0\.29\.1$", text, re.M)
    names = set(_requirement_names(text))
    card = {"torch", "torchvision", "numpy", "matplotlib", "seaborn", "pandas", "ipywidgets",
            "jupyterlab", "nbmake", "papermill", "hypothesis", "tqdm", "scipy"}
    assert card <= names, f"missing from requirements.txt: {sorted(card - names)}"


def test_notebooks_are_stored_without_outputs_and_have_a_parameters_cell():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for path in notebooks:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
            f"{path.name} holds outputs: clear them before committing"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), \
            f"{path.name} has no cell tagged 'parameters'"
