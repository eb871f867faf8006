"""The spread of the cpu profile's headline numbers over training seeds (docs/design.md, README).

    .venv/bin/python -m utils.training --profile cpu --model spatial_stats --seed 1 --out runs/seeds/ours_seed1
    .venv/bin/python scripts/seed_spread.py runs/cpu/spatial_stats runs/seeds/ours_seed1 runs/seeds/ours_seed2

Scores each run's best checkpoint as notebook 04 does (z = mu, thresholded at ``PAPER_THRESHOLD``): the line
count and orientation over all test images of its split, the paper's protocol (the seeded 100 of
:func:`utils.evaluation.evaluate.pick`, seed 0), the mean volume-fraction difference and the mean statistics error;
prints one row per run, then the mean and standard deviation over the runs.  Measured once and written
down; ``make figures`` does not rerun it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from utils.evaluation.evaluate import load_eval_data, per_image_table, pick, reconstruct
from utils.project import data_dir
from utils.training.runs import load_run, read_history


def scores(run: Path, data_folder: Path) -> dict[str, float]:
    """The headline numbers of one run (module docstring)."""
    model, cfg = load_run(run)
    data = load_eval_data(cfg, data_folder)
    test = np.asarray(data.split["test"])
    originals = np.asarray(data.images[test])
    table = per_image_table(originals, data.labels.iloc[test].reset_index(drop=True), reconstruct(model, originals))
    sample = np.searchsorted(test, pick(test, 100, 0))
    history = read_history(run)
    return {"seed": cfg.seed, "threads": cfg.num_threads, "best_epoch": int(history["val_total"].idxmin()) + 1,
            "line_count_pct": 100 * table["line_count_correct"].mean(),
            "line_count_of_100": int(table["line_count_correct"].iloc[sample].sum()),
            "orientation_pct": 100 * table["orientation_correct"].mean(),
            "volume_fraction_diff": table["volume_fraction_diff"].mean(),
            "spatial_stats_mse": table["spatial_stats_mse"].mean(), "n_test": len(test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="training run folders (python -m utils.training --out)")
    parser.add_argument("--data_dir", type=Path, default=data_dir(), help="where the runs' dataset lives")
    args = parser.parse_args()
    table = pd.DataFrame([{"run": str(run), **scores(run, args.data_dir)} for run in args.runs]).set_index("run")
    pd.set_option("display.width", 200)
    print(table.round(6).to_string())
    numbers = table.drop(columns=["seed", "threads", "n_test"])
    print(f"\nover {len(table)} runs: mean ± standard deviation (ddof 1)")
    print(pd.DataFrame({"mean": numbers.mean(), "std": numbers.std(ddof=1)}).round(6).to_string())


if __name__ == "__main__":
    main()
