"""The latent-size sweep behind notebook 05: both losses at latent sizes 1, 2, 3, 5, 7 and 9.

    python -m utils.sweep                      # what `make sweep` runs: 12 trainings, then notebook 05
    python -m utils.sweep --profile smoke      # the same in about a minute (tests)

Each training is ``config_for(profile, loss, latent_dim=d)`` in ``runs/<profile>/<loss>-z<d>/``;
finished runs are reused and interrupted ones resumed, as ``make figures`` does.  A run made with
other settings than the profile now gives stops the sweep before anything trains (``--force``
moves the sweep's runs aside, never deleting them).  Notebook 05 then runs under papermill and
writes ``figures/05_*`` (``utils.project.figures_dir``: ``figures/`` for the ``sweep`` profile,
``figures/<profile>/`` for ``smoke``).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from utils.config import config_for
from utils.project import DEFAULT_LINES, LOSSES, REPO, SWEEP_PROFILE, Folders

__all__ = ["LATENT_SIZES", "sweep_runs", "run_sweep", "score_sweep", "main"]

LATENT_SIZES = (1, 2, 3, 5, 7, 9)


def sweep_runs(profile: str, runs_dir: Path) -> dict[tuple[str, int], Path]:
    """``{(loss, latent size): run folder}`` of the sweep of ``profile``: ``runs_dir/<profile>/<loss>-z<d>``."""
    return {(loss, d): Path(runs_dir) / profile / f"{loss}-z{d}" for loss in LOSSES for d in LATENT_SIZES}


def run_sweep(profile: str = SWEEP_PROFILE, *, root: Path = REPO, force: bool = False, progress: bool = True) -> None:
    """Train (or reuse, or resume) every run of the sweep, one after the other."""
    from utils.runs import train_plan

    folders = Folders.of(profile, DEFAULT_LINES, root=root)
    runs = sweep_runs(profile, folders.runs)
    train_plan({runs[key]: config_for(profile, key[0], latent_dim=key[1], data_dir=str(folders.data)) for key in runs},
               force=force, redo="make sweep FORCE=1", progress=progress)


def score_sweep(runs: dict[tuple[str, int], Path], data_dir: Path, *, n_test: int = 500,
                progress: bool = True) -> "pd.DataFrame":
    """One row per finished run of the sweep: loss, latent size, and on the first ``n_test`` test
    images the scores of :func:`utils.report.summarise` (percentages) plus the mean squared error
    of the reconstructions' normalised autocovariance (``autocovariance_mse``; of the grey
    reconstructions as the loss sees them, through the soft indicator, so their f(0) is not a volume
    fraction and the normalisation is only approximate for them)."""
    import numpy as np
    import pandas as pd

    from utils.data import load_dataset
    from utils.evaluate import per_image_table, reconstruct
    from utils.latent import statistics_features
    from utils.progress import progress_bar
    from utils.report import summarise
    from utils.runs import is_finished, load_run

    missing = [str(run) for run in runs.values() if not is_finished(run)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} sweep runs are missing or unfinished (e.g. {missing[0]}); "
                                "train them with `make sweep` (python -m utils.sweep), then run this again")
    rows, originals = [], None
    for (loss, size), run in progress_bar(list(runs.items()), desc="scoring the sweep", disable=not progress):
        model, cfg = load_run(run)
        if originals is None:
            images, labels = load_dataset(Path(data_dir) / cfg.dataset.name)
            test = cfg.split()["test"][:n_test]
            originals, truth = np.asarray(images[test]), labels.iloc[test].reset_index(drop=True)
            target_cov = statistics_features(originals, space="autocovariance")
        recons = reconstruct(model, originals)
        scores = summarise(per_image_table(originals, truth, recons), percent=True)
        cov = statistics_features(np.clip(recons, 0, 1), space="autocovariance")
        rows.append({"loss": loss, "latent_dim": size, **scores,
                     "autocovariance_mse": float(((cov - target_cov) ** 2).mean())})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    import papermill as pm

    from utils.pipeline import KERNEL, NOTEBOOKS
    from utils.progress import ENV_VAR

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default=SWEEP_PROFILE, help=f"training profile (default {SWEEP_PROFILE})")
    parser.add_argument("--force", action="store_true", help="move the sweep's runs aside and retrain them")
    args = parser.parse_args(argv)
    import os
    os.environ[ENV_VAR] = "text"
    start = time.perf_counter()
    try:
        run_sweep(args.profile, force=args.force)
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    folders = Folders.of(args.profile)
    executed = folders.runs / "executed" / args.profile
    executed.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(NOTEBOOKS / "05_latent_space.ipynb"), str(executed / "05_latent_space.ipynb"),
                        parameters={"PROFILE": args.profile}, cwd=str(NOTEBOOKS), kernel_name=KERNEL,
                        log_output=True)
    print(f"\nsweep done in {(time.perf_counter() - start) / 60:.1f} min; figures in {folders.figures}")


if __name__ == "__main__":
    main()

