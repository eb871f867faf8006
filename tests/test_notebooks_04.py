"""Runs notebooks/04_evaluation.ipynb headlessly (papermill) on two smoke-trained VAEs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from utils.evaluate import load_eval_data, load_models, pick
from utils.train import config_for, train

N_TEST, N_OVERFIT = 16, 32
FIGURES = ("04_line_counts.png", "04_volume_fraction.png", "04_overfit_data_mse.png", "04_overfit_stats_mse.png",
           "04_examples_stats.png", "04_examples_neighbors.png")


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory) -> dict[str, Path]:
    """Both VAEs trained on the smoke profile (seconds): runs/smoke/{spatial_stats,data} and data/."""
    root = tmp_path_factory.mktemp("eval")
    for loss in ("spatial_stats", "data"):
        train(config_for("smoke", loss, data_dir=str(root / "data")), root / "runs" / "smoke" / loss, progress=False)
    return {"runs": root / "runs", "data": root / "data"}


def test_notebook_04_writes_results_and_figures(smoke_runs, run_notebook, tmp_path):
    fig_dir = tmp_path / "figures"
    run_notebook("04_evaluation", PROFILE="smoke", RUNS_DIR=str(smoke_runs["runs"]), DATA_DIR=str(smoke_runs["data"]),
                 FIG_DIR=str(fig_dir), N_TEST=N_TEST, N_OVERFIT=N_OVERFIT, SEED=1)

    results = json.loads((fig_dir / "results.json").read_text())
    n = results["n_test"]
    assert results["profile"] == "smoke" and n == N_TEST
    for key in ("orientation_correct", "line_count_correct", "nearest_stats_count_correct",
                "nearest_to_original_count_correct"):
        assert isinstance(results[key], int) and 0 <= results[key] <= n, key
    assert isinstance(results["volume_fraction_diff_mean"], float) and results["volume_fraction_diff_mean"] >= 0
    for key in ("data_mse", "spatial_stats_mse"):
        assert set(results[key]) == {"spatial_stats_vae", "vanilla_vae"}
        assert all(isinstance(v, float) and v > 0 for v in results[key].values())
        assert results["ratios"][key] == pytest.approx(results[key]["spatial_stats_vae"] / results[key]["vanilla_vae"])
    assert results["data_mse"]["vanilla_vae"] <= 1 and results["spatial_stats_mse"]["vanilla_vae"] <= 1
    for model in ("spatial_stats_vae", "vanilla_vae"):
        scalars = results["models"][model]
        assert 0 <= scalars["orientation_correct"] <= n and 0 <= scalars["line_count_correct"] <= n
    assert results["models"]["spatial_stats_vae"]["orientation_correct"] == results["orientation_correct"]
    assert results["dataset"]["image_size"] == 32 and results["dataset"]["lines"] == [1, 5]
    assert results["paper"]["ratios"] == {"data_mse": 3.60, "spatial_stats_mse": 0.50}
    assert results["overfit"]["n_per_split"] == N_OVERFIT
    whole = results["whole_split"]
    assert whole["split"] == "test" and whole["n"] == results["dataset"]["n_test_split"] >= n
    for model in ("spatial_stats_vae", "vanilla_vae"):
        assert 0 <= whole["models"][model]["line_count_correct_pct"] <= 100
    assert whole["ratios"]["data_mse"] == pytest.approx(
        whole["models"]["spatial_stats_vae"]["data_mse"] / whole["models"]["vanilla_vae"]["data_mse"])
    assert whole["nearest_to_original"]["n"] == whole["n"] and 0 <= whole["nearest_to_original"]["count_correct_pct"] <= 100

    markdown = (fig_dir / "results.md").read_text()
    assert "| correct orientation |" in markdown and "3.6" in markdown
    for name in FIGURES:
        assert (fig_dir / name).stat().st_size > 10_000, name
    assert not list(fig_dir.glob(".*tmp*"))


def test_evaluation_uses_only_held_out_test_images(smoke_runs):
    models = load_models(smoke_runs["runs"], "smoke")
    data = load_eval_data(models["spatial_stats"][1], smoke_runs["data"])
    chosen = pick(data.split["test"], N_TEST, seed=1)
    assert len(chosen) == N_TEST and len(np.unique(chosen)) == N_TEST
    assert not set(chosen) & (set(data.split["train"]) | set(data.split["val"]))


def test_missing_run_names_the_folder_and_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m utils.train --profile smoke --loss spatial_stats"):
        load_models(tmp_path, "smoke")
