"""Runs notebooks/01_dataset_synthesis.ipynb headlessly (papermill) on a small dataset."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from utils.data import DatasetSpec, generate_lines, load_dataset


def test_notebook_01_writes_dataset_figures_and_summary(run_notebook, tmp_path):
    data_dir, fig_dir = tmp_path / "data", tmp_path / "figures"
    run_notebook("01_dataset_synthesis", N_IMAGES=200, IMAGE_SIZE=64, MIN_LINES=1, MAX_LINES=5, SEED=3,
                 DATA_DIR=str(data_dir), FIG_DIR=str(fig_dir))

    summary = json.loads((fig_dir / "01_summary.json").read_text())
    assert summary["n_images"] == 200 and summary["image_size"] == 64
    counts = summary["n_lines_counts"]
    assert sum(counts.values()) == 200 and set(counts) <= {"1", "2", "3", "4", "5"}
    assert 0.3 < summary["vertical_fraction"] < 0.7

    folder = Path(summary["dataset_dir"])
    assert folder == (data_dir / DatasetSpec(n_images=200, size=64, seed=3).name).resolve()
    images, labels = load_dataset(folder)
    expected, _ = generate_lines(200, size=64, seed=3)
    assert images.tobytes() == expected.tobytes()
    assert {str(k): int(v) for k, v in labels["n_lines"].value_counts().items()} == counts
    assert np.isclose(summary["mean_volume_fraction"], (images == 0).mean())
    assert len(list((folder / "images").glob("*.png"))) == 200

    for name in ("01_samples.png", "01_label_distribution.png"):
        assert (fig_dir / name).stat().st_size > 10_000
    assert not list(fig_dir.glob("*.tmp-*")) and not list(data_dir.glob("*.tmp-*"))
