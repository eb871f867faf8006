"""Notebook 06 (the statistics of real microstructures) under papermill: its scalars and its figures."""
from __future__ import annotations

import pytest

from conftest import read_json
from test_notebooks import _figure_cells


@pytest.fixture(scope="module")
def notebook_06(tmp_path_factory):
    import papermill as pm

    from utils.pipeline import KERNEL, NOTEBOOKS
    root = tmp_path_factory.mktemp("nb06")
    out = root / "06.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "06_microstructures.ipynb"), str(out), cwd=str(NOTEBOOKS), kernel_name=KERNEL,
                        progress_bar=False, parameters=dict(FIG_DIR=str(root / "figures"), N_DISC_IMAGES=8))
    return root, read_json(out)


def test_notebook_06_reads_the_materials_and_checks_the_closed_form(notebook_06):
    root, _ = notebook_06
    summary = read_json(root / "figures" / "06_summary.json")
    # facts of the shipped data (microstructures/README.md gives the fraction of phase 1)
    assert summary["phase0_fraction"]["pmma"] == pytest.approx(1 - 0.026, abs=5e-4)
    assert summary["phase0_fraction"]["alloy"] == pytest.approx(1 - 0.865, abs=5e-4)
    # deterministic readings of those data
    assert summary["correlation_length_px"]["composite"] == pytest.approx(4.4973637360411525, rel=1e-6)
    assert summary["correlation_length_px"]["copolymer"] == pytest.approx(0.7220577139148455, rel=1e-6)
    # the stretched blobs are the one strongly anisotropic structure; the discs match their closed form
    anisotropy = summary["anisotropy_at_8px"]
    assert anisotropy["blobs, stretched"] > 0.05 and all(abs(v) < 0.03 for k, v in anisotropy.items()
                                                         if k != "blobs, stretched")
    assert summary["discs_closed_form_max_abs_diff"] < 0.02
    assert summary["periodic_vs_not_max_abs_diff"] > 0.01      # wrapping a 64-px crop does change f


def test_notebook_06_shows_its_figures_as_images(notebook_06):
    root, nb = notebook_06
    for name in ("06_periodic.png", "06_materials.png", "06_profiles.png", "06_autocovariance.png",
                 "06_composite.png", "06_discs_closed_form.png", "06_crops.png"):
        assert (root / "figures" / name).stat().st_size > 10_000, name
    cells = _figure_cells(nb)
    assert len(cells) == 7
    for source, outputs in cells:
        assert any("image/png" in o.get("data", {}) for o in outputs), source
