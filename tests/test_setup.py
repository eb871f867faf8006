"""The set-up files agree with each other and the notebooks are stored clean."""
from __future__ import annotations

import json
import re
import subprocess
import sys
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


def test_notebooks_are_stored_as_jupyterlab_saves_them():
    """JupyterLab saves with nbformat.write and fills language_info from the kernel when it connects: a
    notebook stored otherwise opens with unsaved changes (scripts/store_notebooks.py rewrites them)."""
    import nbformat
    from ipykernel.ipkernel import IPythonKernel

    kernel = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}   # the Python may differ
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        saved = nbformat.writes(nbformat.reads(text, as_version=4), version=4)
        assert text == saved + "\n", f"{path.name} is not stored as JupyterLab saves it: run scripts/store_notebooks.py"
        info = json.loads(text)["metadata"]["language_info"]
        assert {k: info.get(k) for k in kernel} == kernel, f"{path.name}: language_info is not the kernel's"


def test_notebooks_store_the_kernel_that_make_setup_installs():
    """Otherwise JupyterLab marks every notebook modified the moment it opens."""
    makefile = (REPO / "Makefile").read_text()
    installed = re.search(r'ipykernel install .*--name (\S+) --display-name "([^"]+)"', makefile)
    assert installed, "the Makefile no longer installs a named kernel"
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        spec = json.loads(path.read_text())["metadata"]["kernelspec"]
        assert (spec["name"], spec["display_name"]) == installed.groups(), path.name


def test_notebooks_that_train_nothing_run_under_nbmake_in_make_test():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^\s+\$\(PY\) -m pytest .*--nbmake \$\(NBMAKE_NOTEBOOKS\)", makefile, re.M)
    listed = re.search(r"^NBMAKE_NOTEBOOKS := (.+)$", makefile, re.M).group(1).split()
    assert listed and all((REPO / p).is_file() for p in listed)
    for p in listed:      # each runs as it stands, made quick by its parameters cell's nbmake mock
        cells = json.loads((REPO / p).read_text())["cells"]
        mocked = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert mocked and "mock" in mocked[0]["metadata"].get("nbmake", {}), p


def test_committed_outputs_hold_no_path_of_the_machine_that_wrote_them():
    for path in [*(REPO / "figures").rglob("*"), *(REPO / "trained_models").rglob("*")]:
        if path.suffix in (".json", ".md", ".csv"):
            text = path.read_text()
            assert not re.search(r'"/(work|tmp|root|home|Users)/', text), path
            assert str(REPO) not in text, path


def test_git_sees_a_notebook_without_the_outputs_a_run_in_jupyterlab_left_in_it():
    """``make setup`` registers scripts/store_notebooks.py --stdin as the notebooks' clean filter (.gitattributes):
    a notebook with outputs and execution counts goes to git exactly as committed; other text passes unchanged."""
    assert "notebooks/*.ipynb filter=notebook-outputs" in (REPO / ".gitattributes").read_text()
    assert re.search(r'git config filter\.notebook-outputs\.clean "\$\(PY\) scripts/store_notebooks\.py --stdin"',
                     (REPO / "Makefile").read_text())
    path = REPO / "notebooks" / "02_autocorrelation.ipynb"
    nb = json.loads(path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 7
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran\n"]}]
    strip = [sys.executable, str(REPO / "scripts" / "store_notebooks.py"), "--stdin"]
    stored = subprocess.run(strip, input=json.dumps(nb), capture_output=True, text=True, check=True).stdout
    assert stored == path.read_text()
    assert subprocess.run(strip, input="not a notebook", capture_output=True, text=True, check=True).stdout == "not a notebook"
