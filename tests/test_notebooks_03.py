"""Runs notebooks/03_train_vae.ipynb headlessly (papermill) on the smoke profile."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from utils.train import is_finished, load_checkpoint, read_config


def test_notebook_03_trains_both_models_and_writes_figures(run_notebook, tmp_path):
    runs_dir, data_dir, fig_dir = tmp_path / "runs", tmp_path / "data", tmp_path / "figures"
    run_notebook("03_train_vae", PROFILE="smoke", RUNS_DIR=str(runs_dir), DATA_DIR=str(data_dir),
                 FIG_DIR=str(fig_dir), REUSE=True, OVERRIDES={"num_threads": 1}, N_SHOW=3, N_PRIOR=4)

    summary = json.loads((fig_dir / "03_summary.json").read_text())
    assert summary["profile"] == "smoke" and set(summary["runs"]) == {"spatial_stats", "data"}
    for loss, run in summary["runs"].items():
        # runs dir is given relative to nothing: papermill passed an absolute path
        run = Path(run)
        assert run == runs_dir / "smoke" / loss and is_finished(run)
        cfg = read_config(run)
        assert cfg.loss == loss and cfg.profile == "smoke" and Path(cfg.data_dir) == data_dir
        history = pd.read_csv(run / "history.csv")
        assert summary["epochs"][loss] == len(history) == cfg.epochs == load_checkpoint(run / "last.pt")["epoch"]
        assert math.isfinite(summary["final_val_loss"][loss])
        assert summary["final_val_loss"][loss] == history["val_total"].iloc[-1]
    for name in ("03_loss_curves.png", "03_reconstructions.png", "03_prior_samples.png"):
        assert (fig_dir / name).stat().st_size > 10_000, name
    assert not list(fig_dir.glob(".*tmp*"))
