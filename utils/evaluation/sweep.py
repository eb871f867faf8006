"""The latent-size sweep behind notebook 05: both losses at latent sizes 1, 2, 3, 5, 7 and 9.

Each training is ``config_for(profile, loss, latent_dim=d)`` in ``runs/<profile>/<loss>-z<d>/``
(:func:`sweep_runs`); `make sweep` (:func:`utils.jobs.run_sweep`) trains them, then runs notebook 05,
which scores them here (:func:`score_sweep`) and writes ``figures/05_*`` (``figures/`` for the ``sweep``
profile, ``figures/<profile>/`` for ``smoke``).  Without the twelve runs of your own, notebook 05 reads what it
needs of the shipped ones (:func:`sweep_scores`): their scores, ``trained_models/sweep/scores.csv``
(:func:`ship_scores` writes it), and the 9-number VAE.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from utils.data.store import load_dataset
from utils.evaluation.evaluate import per_image_table, reconstruct
from utils.evaluation.report import summarise
from utils.files import write_json, write_text
from utils.progress import progress_bar
from utils.project import LOSSES, repo_relative, run_folder
from utils.statistics.pca import statistics_features
from utils.training.runs import dataset_split, is_finished, load_run
from utils.training.shipped import SHIPPED, current_commit

__all__ = ["LATENT_SIZES", "sweep_runs", "score_sweep", "shipped_scores", "sweep_scores", "ship_scores"]

LATENT_SIZES = (1, 2, 3, 5, 7, 9)


def sweep_runs(profile: str, runs_dir: Path) -> dict[tuple[str, int], Path]:
    """``{(loss, latent size): run folder}`` of the sweep of ``profile``: ``runs_dir/<profile>/<loss>-z<d>``."""
    return {(loss, d): run_folder(runs_dir, profile, f"{loss}-z{d}") for loss in LOSSES for d in LATENT_SIZES}


def score_sweep(runs: dict[tuple[str, int], Path], data_dir: Path, *, n_test: int = 500,
                progress: bool = True) -> pd.DataFrame:
    """One row per finished run of the sweep: loss, latent size, and on the first ``n_test`` test
    images the scores of :func:`utils.evaluation.report.summarise` (percentages) plus the mean squared error
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


def shipped_scores(profile: str, root: Path = SHIPPED) -> Path:
    """``trained_models/<profile>/scores.csv``: :func:`score_sweep` of the shipped sweep's twelve runs."""
    return Path(root) / profile / "scores.csv"


def sweep_scores(profile: str, runs_dir: Path, data_dir: Path, *, n_test: int = 500, progress: bool = True,
                 root: Path = SHIPPED) -> pd.DataFrame:
    """:func:`score_sweep` of your twelve runs when they are all finished, else the shipped scores (one printed
    line says so; they were scored on the first ``n_test`` test images only when ``n_test`` is the shipped 500).
    Neither: FileNotFoundError naming ``make sweep``."""
    runs = sweep_runs(profile, runs_dir)
    shipped = shipped_scores(profile, root)
    if all(is_finished(run) for run in runs.values()) or not shipped.is_file():
        return score_sweep(runs, data_dir, n_test=n_test, progress=progress)
    scores = pd.read_csv(shipped)
    made_on = int(scores["n_test"].iloc[0])
    print(f"using the shipped sweep's scores {repo_relative(shipped)} (scored on {made_on} test images; no finished "
          f"sweep of your own in {repo_relative(Path(runs_dir) / profile)}; `make sweep` trains its 12 runs in 20-60 min)",
          flush=True)
    return scores.drop(columns="n_test")


def ship_scores(profile: str, runs_dir: Path, data_dir: Path, *, n_test: int = 500, root: Path = SHIPPED) -> str:
    """Write :func:`shipped_scores` from your finished sweep (skipped when a run is missing); return what was done."""
    runs = sweep_runs(profile, runs_dir)
    if not all(is_finished(run) for run in runs.values()):
        return f"skipped the sweep's scores: not every run in {repo_relative(Path(runs_dir) / profile)} is finished"
    scores = score_sweep(runs, data_dir, n_test=n_test, progress=False).assign(n_test=n_test)
    target = shipped_scores(profile, root)
    text = scores.to_csv(index=False)
    if target.is_file() and target.read_text() == text:
        return f"unchanged {repo_relative(target)}"
    write_text(target, text)
    write_json(target.with_name("made.json"), {"command": "make sweep", "shipped_at": current_commit(), "n_test": n_test,
                                               "scores of": sorted(f"{loss}-z{d}" for loss, d in runs)})
    return f"shipped the sweep's scores -> {repo_relative(target)}"
