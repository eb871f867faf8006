"""The latent-size sweep behind notebook 05: both losses at latent sizes 1, 2, 3, 5, 7 and 9.

Each training is ``config_for(profile, loss, latent_dim=d)`` in ``runs/<profile>/<loss>-z<d>/``
(:func:`sweep_runs`); `make sweep` (:func:`utils.jobs.run_sweep`) trains them, then runs notebook 05,
which scores them here (:func:`score_sweep`) and writes ``figures/05_*`` (``figures/`` for the ``sweep``
profile, ``figures/<profile>/`` for ``smoke``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from utils.data import load_dataset
from utils.evaluate import per_image_table, reconstruct
from utils.latent import statistics_features
from utils.progress import progress_bar
from utils.project import LOSSES, run_folder
from utils.report import summarise
from utils.runs import dataset_split, is_finished, load_run

__all__ = ["LATENT_SIZES", "sweep_runs", "score_sweep"]

LATENT_SIZES = (1, 2, 3, 5, 7, 9)


def sweep_runs(profile: str, runs_dir: Path) -> dict[tuple[str, int], Path]:
    """``{(loss, latent size): run folder}`` of the sweep of ``profile``: ``runs_dir/<profile>/<loss>-z<d>``."""
    return {(loss, d): run_folder(runs_dir, profile, f"{loss}-z{d}") for loss in LOSSES for d in LATENT_SIZES}


def score_sweep(runs: dict[tuple[str, int], Path], data_dir: Path, *, n_test: int = 500,
                progress: bool = True) -> pd.DataFrame:
    """One row per finished run of the sweep: loss, latent size, and on the first ``n_test`` test
    images the scores of :func:`utils.report.summarise` (percentages) plus the mean squared error
    of the reconstructions' normalised autocovariance (``autocovariance_mse``; of the grey
    reconstructions as the loss sees them, through the soft indicator, so their f(0) is not a volume
    fraction and the normalisation is only approximate for them)."""
    missing = [str(run) for run in runs.values() if not is_finished(run)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} sweep runs are missing or unfinished (e.g. {missing[0]}); "
                                "train them with `make sweep` (python -m utils.jobs sweep), then run this again")
    rows, originals = [], None
    for (loss, size), run in progress_bar(list(runs.items()), desc="scoring the sweep", disable=not progress):
        model, cfg = load_run(run)
        if originals is None:
            images, labels = load_dataset(Path(data_dir) / cfg.dataset.name)
            test = dataset_split(cfg)["test"][:n_test]
            originals, truth = np.asarray(images[test]), labels.iloc[test].reset_index(drop=True)
            target_cov = statistics_features(originals, space="autocovariance")
        recons = reconstruct(model, originals)
        scores = summarise(per_image_table(originals, truth, recons), percent=True)
        cov = statistics_features(np.clip(recons, 0, 1), space="autocovariance")
        rows.append({"loss": loss, "latent_dim": size, **scores,
                     "autocovariance_mse": float(((cov - target_cov) ** 2).mean())})
    return pd.DataFrame(rows)
