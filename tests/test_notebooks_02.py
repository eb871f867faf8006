"""Runs notebooks/02_autocorrelation.ipynb headlessly (papermill) on small images."""
from __future__ import annotations

import json

import numpy as np

from utils.data import generate_lines

FIGURES = ("02_autocorrelation_examples.png", "02_translation_invariance.png", "02_profiles.png",
           "02_indicator.png")


def test_notebook_02_writes_figures_and_summary(run_notebook, tmp_path):
    fig_dir = tmp_path / "figures"
    run_notebook("02_autocorrelation", IMAGE_SIZE=32, SEED=1, FIG_DIR=str(fig_dir))

    summary = json.loads((fig_dir / "02_summary.json").read_text())
    assert set(summary) == {"translation_max_abs_diff", "centre_value", "volume_fraction",
                            "fft_vs_direct_max_abs_diff"}
    assert 0 <= summary["translation_max_abs_diff"] < 1e-6
    assert 0 <= summary["fft_vs_direct_max_abs_diff"] < 1e-6
    # the notebook's first image, recomputed here: its black fraction is the centre of its statistics
    images, _ = generate_lines(1, size=32, seed=1)
    assert np.isclose(summary["volume_fraction"], (images[0] == 0).mean(), rtol=0, atol=1e-12)
    assert summary["volume_fraction"] > 0
    assert abs(summary["centre_value"] - summary["volume_fraction"]) < 1e-6

    for name in FIGURES:
        assert (fig_dir / name).stat().st_size > 5_000, name
    assert not list(fig_dir.glob("*.tmp*"))
