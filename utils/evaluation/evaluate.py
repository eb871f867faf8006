"""Evaluation of the two trained VAEs (paper appendix B) on held-out test images: the logic of notebook 04.

What is compared
----------------
* The spatial-statistics VAE (``"spatial_stats"``, the paper's) and the vanilla VAE (``"data"``),
  read from ``RUNS_DIR/<profile>/<loss>/`` with :func:`utils.training.runs.load_run`; both must have been
  trained on the same dataset and split.
* Everything is measured on **held-out test images** (``dataset_split(cfg)["test"]``, never trained
  on), reconstructed with z = mu.  The paper's reference code drew its "test" images from the
  training loader; we do not.

How (:func:`evaluate_test_set`)
-------------------------------
1. Every image of the test split is reconstructed by each model and scored once
   (:func:`per_image_table`): orientation and line count of the thresholded reconstruction
   (automated), the volume-fraction difference in percent (eq. 1), the data-space and the
   spatial-statistics MSE (means over pixels).
2. The paper's protocol is a random sample of ``n_test`` = 100 of those images (seeded): its rows
   are taken from the same tables, and only for them the reconstructions' nearest training
   images are searched, in statistics space (paper fig. 3, right) and in data space (fig. C.2).
3. A yardstick for the line counts: the training image nearest to each *original* in statistics
   space (for the first ``n_nearest`` test images and the sample); how often it has the
   original's count says how well the statistics alone determine it.

Beyond the paper (:func:`evaluate_inference`), on the first ``n`` test images: our VAE at z = mu
(the paper's protocol), the same with its latent code refined under the statistics loss (the
decoder frozen: how much the encoder leaves on the table), and images reconstructed from the
statistics alone, no VAE at all (the per-image limit of the method); :mod:`utils.inverse.inversion`.

:func:`overfit_check` is the paper's figs 4-5.  The scalars of ``results.json`` are assembled in
:mod:`utils.evaluation.report`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from utils.checks import positive_int
from utils.data.lines import DatasetSpec
from utils.data.store import ensure_dataset, is_complete_dataset, load_dataset
from utils.evaluation.metrics import (data_mse_batch, lines_summary, spatial_stats_mse_batch, threshold_image,
                                      volume_fraction_differences)
from utils.evaluation.search import nearest_neighbors
from utils.inverse.inversion import (LIMIT_LR, LIMIT_RESTARTS, LIMIT_STEPS, REFINE_STEPS, reconstruct_from_statistics,
                                     refine_latent)
from utils.progress import progress_bar
from utils.project import DEFAULT_LINES, LOSSES
from utils.training.config import TrainConfig
from utils.training.runs import dataset_split, load_run
from utils.training.shipped import choose_run

__all__ = ["EvalData", "Scored", "TestSetEvaluation", "load_models", "load_eval_data", "pick", "reconstruct",
           "per_image_table", "evaluate_test_set", "evaluate_inference", "overfit_check"]


# ----------------------------------------------------------------------------- loading

@dataclass
class EvalData:
    """The dataset both models were trained on, and its split."""

    images: np.ndarray              # (N, H, W) uint8, 0 = line, memory map
    labels: pd.DataFrame            # file, orientation, n_lines (the generator's truth)
    split: dict[str, np.ndarray]    # "train", "val", "test" -> indices into images
    spec: DatasetSpec               # how the dataset was generated
    folder: Path | None             # where it lives


def load_models(runs_dir: str | os.PathLike, profile: str, *, lines: Sequence[int] = DEFAULT_LINES, which: str = "best",
                device: str = "cpu") -> dict[str, tuple[torch.nn.Module, TrainConfig]]:
    """``{"spatial_stats": (model, cfg), "data": (model, cfg)}`` from ``runs_dir/profile/<loss>``, or the shipped
    models of ``profile`` on ``lines`` where no finished run of your own is there (:func:`utils.training.shipped.choose_run`,
    which prints one line saying so).

    Models are in eval mode.  Raises FileNotFoundError naming the missing run and how to train
    it, and ValueError when the two runs used different datasets or splits.
    """
    models = {}
    for loss in LOSSES:
        own = Path(runs_dir) / profile / loss
        if which == "last" and (own / "config.json").is_file():
            run = own                                     # only your own runs keep last.pt
        else:
            run = choose_run(own, profile, loss, lines)
        models[loss] = load_run(run, which=which, device=device)
    a, b = (models[loss][1] for loss in LOSSES)
    split_a, split_b = dataset_split(a), dataset_split(b)
    if a.dataset != b.dataset or split_a.keys() != split_b.keys() or any(
            not np.array_equal(split_a[k], split_b[k]) for k in split_a):
        raise ValueError(f"the two runs in {Path(runs_dir) / profile} were trained on different datasets "
                         f"or splits ({a.dataset.name} vs {b.dataset.name}); retrain one with the other's "
                         "settings so that they are compared on the same test images")
    return models


def load_eval_data(cfg: TrainConfig, data_dir: str | os.PathLike) -> EvalData:
    """The dataset of a run's TrainConfig ``cfg`` under ``data_dir`` (not cfg.data_dir, which is
    relative to wherever training ran), with the run's split."""
    folder = Path(data_dir) / cfg.dataset.name
    if not is_complete_dataset(folder):          # e.g. evaluating the shipped models on a fresh clone
        ensure_dataset(cfg.dataset, data_dir)
    images, labels = load_dataset(folder)
    if images.shape != (cfg.dataset.n_images, cfg.dataset.size, cfg.dataset.size):
        raise ValueError(f"{folder} holds images of shape {images.shape}, not the "
                         f"{cfg.dataset.n_images} x {cfg.dataset.size}^2 the run was trained on; "
                         "point DATA_DIR at the data folder used for training")
    return EvalData(images, labels, dataset_split(cfg), cfg.dataset, folder)


def pick(indices: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``min(n, len(indices))`` of ``indices`` drawn at random without replacement (seeded), sorted."""
    n = min(int(n), len(indices))
    return np.sort(np.random.default_rng(seed).choice(np.asarray(indices), size=n, replace=False))


# ----------------------------------------------------------------------------- reconstructions and scores

def reconstruct(model: torch.nn.Module, images: np.ndarray, *, batch_size: int = 128,
                progress: bool = False, desc: str = "reconstructing") -> np.ndarray:
    """Reconstructions with z = mu of ``images`` (n, H, W) in [0, 1]: float32 array (n, H, W)."""
    model.eval()
    device = next(model.parameters()).device
    out = np.empty(np.shape(images), dtype=np.float32)
    with torch.no_grad():
        for s in progress_bar(range(0, len(images), batch_size), desc=desc, unit="batch", disable=not progress):
            x = torch.as_tensor(np.asarray(images[s:s + batch_size], dtype=np.float32))[:, None].to(device)
            out[s:s + batch_size] = model.reconstruct(x)[:, 0].float().cpu().numpy()
    return out


def per_image_table(originals: np.ndarray, labels: pd.DataFrame, recons: np.ndarray) -> pd.DataFrame:
    """One row per image: the truth, what the thresholded reconstruction shows, and the errors.

    Columns: orientation, n_lines (generator labels), recon_orientation, recon_n_lines,
    orientation_correct, line_count_correct (bool), volume_fraction_diff (percent),
    data_mse, spatial_stats_mse (means over pixels).
    """
    seen = lines_summary(threshold_image(recons))
    table = pd.DataFrame({
        "orientation": labels["orientation"].to_numpy(),
        "n_lines": labels["n_lines"].to_numpy(dtype=np.int64),
        "recon_orientation": seen["orientation"].to_numpy(),
        "recon_n_lines": seen["n_lines"].to_numpy(),
    })
    table["orientation_correct"] = table["orientation"] == table["recon_orientation"]
    table["line_count_correct"] = table["n_lines"] == table["recon_n_lines"]
    table["volume_fraction_diff"] = volume_fraction_differences(originals, recons)
    table["data_mse"] = data_mse_batch(originals, recons)
    table["spatial_stats_mse"] = spatial_stats_mse_batch(originals, recons)
    return table


@dataclass
class Scored:
    """Some test images, their reconstructions and per-image scores, per model (keyed by loss) or
    per way of reconstructing them (keyed as :data:`utils.project.INFERENCE`)."""

    indices: np.ndarray                      # (n,) dataset indices
    originals: np.ndarray                    # (n, H, W) uint8
    recons: dict[str, np.ndarray]            # key -> (n, H, W) float32 reconstructions
    tables: dict[str, pd.DataFrame]          # key -> per_image_table (+ neighbour columns in a sample)

    def rows(self, positions: np.ndarray) -> "Scored":
        """The same for the images at ``positions`` (tables re-indexed from 0)."""
        return Scored(self.indices[positions], self.originals[positions],
                      {k: v[positions] for k, v in self.recons.items()},
                      {k: t.iloc[positions].reset_index(drop=True) for k, t in self.tables.items()})


@dataclass
class TestSetEvaluation:
    """What :func:`evaluate_test_set` measured."""

    split: Scored                    # every image of the test split
    sample_positions: np.ndarray     # (n_test,) positions in ``split`` of the paper protocol's random sample
    sample: Scored                   # those images, with nearest-neighbour columns in their tables
    nearest_to_original: pd.Series   # position in ``split`` -> line count of the training image nearest
    #                                  to that original in statistics space (the yardstick), for the
    #                                  first ``n_nearest`` positions and the sample's
    n_nearest: int


def _train_database(data: EvalData, batch_size: int = 512) -> Iterator[np.ndarray]:
    """The training images as a stream of batches (a memory map is never read whole)."""
    train = data.split["train"]
    return (data.images[train[s:s + batch_size]] for s in range(0, len(train), batch_size))


def evaluate_test_set(models: dict[str, tuple[torch.nn.Module, Any]], data: EvalData, *, n_test: int = 100,
                      seed: int = 0, n_nearest: int = 2000, progress: bool = True) -> TestSetEvaluation:
    """Reconstruct and score every test image with both models; search neighbours for the paper's sample.

    ``n_test``: size of the paper protocol's random sample (seeded by ``seed``); its tables get
    ``nearest_stats_index`` / ``nearest_data_index`` (dataset index of the training image nearest
    to the reconstruction in statistics / data space), ``nearest_stats_n_lines`` (its line count)
    and ``nearest_stats_count_correct`` (= the original's count).  ``n_nearest``: how many of the
    test images (the first ones; they are independent draws) get the yardstick search of their
    original's nearest training image, besides the sample's.
    """
    indices = np.asarray(data.split["test"])
    if len(indices) == 0:
        raise ValueError("the dataset has no test images; train with test_fraction > 0")
    positive_int(n_nearest, "n_nearest")
    originals = np.asarray(data.images[indices])
    labels = data.labels.iloc[indices].reset_index(drop=True)
    recons, tables = {}, {}
    for loss, (model, _) in models.items():
        recons[loss] = reconstruct(model, originals, progress=progress, desc=f"test images ({loss} VAE)")
        tables[loss] = per_image_table(originals, labels, recons[loss])
    split = Scored(indices, originals, recons, tables)

    sample = np.searchsorted(indices, pick(indices, n_test, seed))       # positions in the split
    searched = np.union1d(np.arange(min(n_nearest, len(indices))), sample)
    # one pass over the training set per space: the sample's reconstructions (and, in statistics
    # space, the yardstick's originals) all at once
    queries = np.concatenate([recons[loss][sample] for loss in models] + [originals[searched].astype(np.float32)])
    by_stats = nearest_neighbors(queries, _train_database(data), k=1, space="spatial_stats", progress=progress)
    by_data = nearest_neighbors(queries[:len(models) * len(sample)], _train_database(data), k=1, space="data",
                                progress=progress)
    train, counts = data.split["train"], data.labels["n_lines"].to_numpy()
    chosen = split.rows(sample)
    for i, loss in enumerate(models):
        rows = slice(i * len(sample), (i + 1) * len(sample))
        table = chosen.tables[loss]
        table["nearest_stats_index"] = train[by_stats.indices[rows, 0]]
        table["nearest_data_index"] = train[by_data.indices[rows, 0]]
        table["nearest_stats_n_lines"] = counts[table["nearest_stats_index"]]
        table["nearest_stats_count_correct"] = table["nearest_stats_n_lines"] == table["n_lines"]
    nearest = train[by_stats.indices[len(models) * len(sample):, 0]]
    return TestSetEvaluation(split, sample, chosen, pd.Series(counts[nearest], index=searched),
                             int(min(n_nearest, len(indices))))


def evaluate_inference(evaluation: TestSetEvaluation, model: torch.nn.Module, cfg: TrainConfig, *, n: int = 500,
                       refine_steps: int = REFINE_STEPS, limit_steps: int = LIMIT_STEPS,
                       limit_restarts: int = LIMIT_RESTARTS, seed: int = 0,
                       progress: bool = True) -> Scored:
    """The first ``n`` test images three ways (keys of :data:`utils.project.INFERENCE`).

    ``"z_mu"``: our VAE's reconstructions as the paper's protocol makes them (taken from
    ``evaluation``); ``"refined"``: its z refined for ``refine_steps`` Adam steps (rate 0.05) under
    the training's statistics loss, decoder frozen; ``"from_statistics"``: no VAE, the pixels
    optimised to the statistics of the paper's loss (eps = 0.25, one term; ``limit_steps`` steps of
    rate 0.1, ``limit_restarts`` seeded starts per image, the closest kept, recentred).
    """
    first = evaluation.split.rows(np.arange(min(n, len(evaluation.split.indices))))
    originals = first.originals
    labels = pd.DataFrame({k: first.tables["spatial_stats"][k] for k in ("orientation", "n_lines")})
    refined = refine_latent(model, originals, objective=cfg.objective(), steps=refine_steps, progress=progress)
    limit = reconstruct_from_statistics(originals, steps=limit_steps, lr=LIMIT_LR, restarts=limit_restarts, seed=seed,
                                        progress=progress)
    recons = {"z_mu": first.recons["spatial_stats"], "refined": refined.images, "from_statistics": limit.images}
    tables = {key: first.tables["spatial_stats"] if key == "z_mu" else per_image_table(originals, labels, r)
              for key, r in recons.items()}
    return Scored(first.indices, originals, recons, tables)


def overfit_check(model: torch.nn.Module, data: EvalData, *, n: int = 1000, seed: int = 0,
                  progress: bool = True) -> pd.DataFrame:
    """Paper figs 4-5: ``n`` reconstructions of training and ``n`` of validation images, each
    compared with every image of its own split.

    Returns one row per reconstruction and space: columns ``split`` ("train" / "val"),
    ``index`` (dataset index), ``space`` ("data" / "spatial_stats"), ``mean_mse`` and
    ``std_mse`` (over the whole split), ``nearest_mse``.
    """
    rows = []
    for split in ("train", "val"):
        members = data.split[split]
        chosen = pick(members, n, seed)
        recon = reconstruct(model, np.asarray(data.images[chosen]), progress=progress,
                            desc=f"reconstructing {split} images")
        for space in ("data", "spatial_stats"):
            batches = (data.images[members[s:s + 512]] for s in range(0, len(members), 512))
            found = nearest_neighbors(recon, batches, k=1, space=space, progress=progress)
            rows.append(pd.DataFrame({"split": split, "index": chosen, "space": space, "mean_mse": found.mean,
                                      "std_mse": found.std, "nearest_mse": found.mse[:, 0]}))
    return pd.concat(rows, ignore_index=True)
