"""Evaluation of the two trained VAEs (paper appendix B), the logic behind notebook 04.

What is compared
----------------
* ``"spatial_stats"``: the paper's VAE (reconstruction loss in spatial-statistics space), the
  headline model; ``"data"``: the "vanilla" VAE (reconstruction loss in data space).  Both are
  read from ``RUNS_DIR/<profile>/<loss>/`` with :func:`utils.train.load_run` and must have been
  trained on the same dataset and split.
* Everything is measured on **held-out test images** (``cfg.split()["test"]``, never trained
  on), reconstructed with z = mu (``model.reconstruct``).  The paper's reference code drew its
  "test" images from the training loader; we do not.
* Per test image (:func:`per_image_table`): orientation and line count of the thresholded
  reconstruction (:func:`utils.metrics.lines_summary`, automated), the volume-fraction
  difference in percent (eq. 1), the data-space MSE and the spatial-statistics MSE (means over
  pixels), and the line count of the training image nearest to the reconstruction in
  statistics space (paper fig. 3, right) - plus, as a sanity check of the statistics, that of
  the training image nearest to the *original* (for these images and, in
  :func:`whole_split_scores`, for up to 2,000 images of the whole test split).
* Overfitting check (:func:`overfit_check`, paper figs 4-5): reconstructions of ``n`` training
  and ``n`` validation images; for each, its mean MSE to every image of its own split, in data
  space and in statistics space.
* :func:`build_results` gathers the scalars into the dict written to ``figures/results.json``
  (:func:`write_results`, atomic) and rendered as ``figures/results.md``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from utils.progress import progress_bar

from utils.data import DatasetSpec, load_dataset
from utils.metrics import (data_mse_batch, lines_summary, spatial_stats_mse_batch, threshold_image,
                           volume_fraction_differences)
from utils.search import NeighborResult, nearest_neighbors

__all__ = ["LOSSES", "MODEL_NAMES", "PAPER", "EvalData", "load_models", "load_eval_data", "reconstruct",
           "pick", "per_image_table", "TestSetEvaluation", "evaluate_test_set", "overfit_check",
           "whole_split_scores", "build_results", "results_markdown", "write_results"]

LOSSES = ("spatial_stats", "data")                                    # run folder names
MODEL_NAMES = {"spatial_stats": "spatial_stats_vae", "data": "vanilla_vae"}  # keys in results.json

# The paper's numbers (appendix B and its README), for comparison.
PAPER = {
    "n_test": 100,
    "orientation_correct": 98,
    "line_count_correct": 63,
    "volume_fraction_diff_mean": 17.0,          # percent
    "ratios": {"data_mse": 3.60, "spatial_stats_mse": 0.50},           # ours / vanilla, 1-5 lines
    "ratios_lines_3_7": {"data_mse": 3.02, "spatial_stats_mse": 0.27},  # the harder dataset
    "image_size": 224, "lines": [1, 5],
}


# ----------------------------------------------------------------------------- loading

@dataclass
class EvalData:
    """The dataset both models were trained on, and its split."""

    images: np.ndarray              # (N, H, W) uint8, 0 = line, memory map
    labels: pd.DataFrame            # file, orientation, n_lines (the generator's truth)
    split: dict[str, np.ndarray]    # "train", "val", "test" -> indices into images
    spec: DatasetSpec               # how the dataset was generated
    folder: Path                    # where it lives


def load_models(runs_dir: str | os.PathLike, profile: str, *, which: str = "best",
                device: str = "cpu") -> dict[str, tuple[torch.nn.Module, Any]]:
    """``{"spatial_stats": (model, cfg), "data": (model, cfg)}`` from ``runs_dir/profile/<loss>``.

    Models are in eval mode.  Raises FileNotFoundError naming the missing run and how to train
    it, and ValueError when the two runs used different datasets or splits.
    """
    from utils.train import load_run

    models = {}
    for loss in LOSSES:
        run = Path(runs_dir) / profile / loss
        if not (run / "config.json").is_file():
            raise FileNotFoundError(
                f"no trained {loss} run in {run}; train it first with notebook 03 or "
                f"`python -m utils.train --profile {profile} --loss {loss} --out {run}`")
        models[loss] = load_run(run, which=which, device=device)
    a, b = (models[loss][1] for loss in LOSSES)
    if a.dataset != b.dataset or a.split().keys() != b.split().keys() or any(
            not np.array_equal(a.split()[k], b.split()[k]) for k in a.split()):
        raise ValueError(f"the two runs in {Path(runs_dir) / profile} were trained on different datasets "
                         f"or splits ({a.dataset.name} vs {b.dataset.name}); retrain one with the other's "
                         "settings so that they are compared on the same test images")
    return models


def load_eval_data(cfg: Any, data_dir: str | os.PathLike) -> EvalData:
    """The dataset of a run's TrainConfig ``cfg`` under ``data_dir`` (not cfg.data_dir, which is
    relative to wherever training ran), with the run's split."""
    folder = Path(data_dir) / cfg.dataset.name
    images, labels = load_dataset(folder)
    if images.shape != (cfg.dataset.n_images, cfg.dataset.size, cfg.dataset.size):
        raise ValueError(f"{folder} holds images of shape {images.shape}, not the "
                         f"{cfg.dataset.n_images} x {cfg.dataset.size}^2 the run was trained on; "
                         "point DATA_DIR at the data folder used for training")
    return EvalData(images, labels, cfg.split(), cfg.dataset, folder)


def pick(indices: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``min(n, len(indices))`` of ``indices`` drawn at random without replacement (seeded), sorted."""
    n = min(int(n), len(indices))
    return np.sort(np.random.default_rng(seed).choice(np.asarray(indices), size=n, replace=False))


# ----------------------------------------------------------------------------- reconstructions

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
class TestSetEvaluation:
    """Everything measured on the test images; ``tables`` and ``recons`` are keyed by loss."""

    indices: np.ndarray                      # (n,) dataset indices of the test images used
    originals: np.ndarray                    # (n, H, W) uint8
    recons: dict[str, np.ndarray]            # loss -> (n, H, W) float32 reconstructions
    tables: dict[str, pd.DataFrame]          # loss -> per_image_table + nearest-neighbour columns
    nearest_to_original: NeighborResult      # originals vs training set, statistics space, k = 1


def _train_database(data: EvalData, batch_size: int = 512):
    """The training images as a stream of batches (a memory map is never read whole)."""
    train = data.split["train"]
    return (data.images[train[s:s + batch_size]] for s in range(0, len(train), batch_size))


def evaluate_test_set(models: dict[str, tuple[torch.nn.Module, Any]], data: EvalData, *, n_test: int = 100,
                      seed: int = 0, progress: bool = True) -> TestSetEvaluation:
    """Reconstruct ``n_test`` random held-out test images with both models and measure them.

    Adds to each model's :func:`per_image_table` the dataset index of its reconstructions'
    nearest training images in statistics space (``nearest_stats_index``) and in data space
    (``nearest_data_index``) and the line count of the former (``nearest_stats_n_lines``, from
    the labels) with ``nearest_stats_count_correct`` (= the original's count).
    """
    indices = pick(data.split["test"], n_test, seed)
    if len(indices) == 0:
        raise ValueError("the dataset has no test images; train with test_fraction > 0")
    originals = np.asarray(data.images[indices])
    labels = data.labels.iloc[indices].reset_index(drop=True)
    recons = {loss: reconstruct(model, originals, progress=progress, desc=f"reconstructing ({loss} VAE)")
              for loss, (model, _) in models.items()}
    # one pass over the training set per space, for all reconstructions (and the originals) at once
    queries = np.concatenate([recons[loss] for loss in models] + [originals.astype(np.float32)])
    n, train = len(indices), data.split["train"]
    by_stats = nearest_neighbors(queries, _train_database(data), k=1, space="spatial_stats", progress=progress)
    by_data = nearest_neighbors(queries[:-n], _train_database(data), k=1, space="data", progress=progress)
    train_counts = data.labels["n_lines"].to_numpy()
    tables = {}
    for i, loss in enumerate(models):
        table = per_image_table(originals, labels, recons[loss])
        table["nearest_stats_index"] = train[by_stats.indices[i * n:(i + 1) * n, 0]]
        table["nearest_data_index"] = train[by_data.indices[i * n:(i + 1) * n, 0]]
        table["nearest_stats_n_lines"] = train_counts[table["nearest_stats_index"]]
        table["nearest_stats_count_correct"] = table["nearest_stats_n_lines"] == table["n_lines"]
        tables[loss] = table
    to_original = NeighborResult(by_stats.mse[-n:], by_stats.indices[-n:], by_stats.mean[-n:],
                                 by_stats.std[-n:], by_stats.n_database)
    return TestSetEvaluation(indices, originals, recons, tables, to_original)


def whole_split_scores(models: dict[str, tuple[torch.nn.Module, Any]], data: EvalData, *, split: str = "test",
                       n_nearest: int = 2000, progress: bool = True) -> dict[str, Any]:
    """The per-image scores of every image of ``split`` (not only the paper's 100), per model.

    A count out of 100 moves by +-5 from one draw of 100 images to the next; over the whole test
    split (2,000 images on the ``cpu`` profile) it moves by about +-1.  Returns ``{"split", "n",
    "models": {name: {orientation_correct_pct, line_count_correct_pct, volume_fraction_diff_mean,
    data_mse, spatial_stats_mse}}, "ratios": {data_mse, spatial_stats_mse}, "nearest_to_original":
    {n, count_correct_pct}}`` (ratios: ours / vanilla).

    ``nearest_to_original``: for the first ``n_nearest`` images of the split (all of them on the
    ``cpu`` profile; the images are independent draws, so the first ones are a fair sample), does
    the training image nearest to the *original* in statistics space have the original's line
    count?  How often it does says how well the statistics alone determine the count: a
    yardstick for the models' line counts.  No neighbour search for the reconstructions (that is
    what makes the 100-image evaluation slow).
    """
    indices = np.asarray(data.split[split])
    if len(indices) == 0:
        raise ValueError(f"the {split} split is empty; train with a {split} fraction > 0")
    if n_nearest < 1:
        raise ValueError(f"n_nearest must be >= 1, got {n_nearest}")
    originals = np.asarray(data.images[indices])
    labels = data.labels.iloc[indices].reset_index(drop=True)
    counts = data.labels["n_lines"].to_numpy()
    queries = indices[:n_nearest]
    nearest = nearest_neighbors(originals[:n_nearest].astype(np.float32), _train_database(data), k=1,
                                space="spatial_stats", progress=progress)
    nearest_counts = counts[data.split["train"][nearest.indices[:, 0]]]
    nearest_to_original = {"n": int(len(queries)),
                           "count_correct_pct": float(100 * (nearest_counts == counts[queries]).mean())}
    scores = {}
    for loss, (model, _) in models.items():
        recons = reconstruct(model, originals, progress=progress, desc=f"all {split} images ({loss} VAE)")
        table = per_image_table(originals, labels, recons)
        scores[MODEL_NAMES[loss]] = {
            "orientation_correct_pct": float(100 * table["orientation_correct"].mean()),
            "line_count_correct_pct": float(100 * table["line_count_correct"].mean()),
            "volume_fraction_diff_mean": float(table["volume_fraction_diff"].mean()),
            "data_mse": float(table["data_mse"].mean()),
            "spatial_stats_mse": float(table["spatial_stats_mse"].mean())}
    ratios = {}
    if set(scores) == set(MODEL_NAMES.values()):
        ours, vanilla = scores["spatial_stats_vae"], scores["vanilla_vae"]
        ratios = {key: _ratio(ours[key], vanilla[key]) for key in ("data_mse", "spatial_stats_mse")}
    return {"split": split, "n": int(len(indices)), "models": scores, "ratios": ratios,
            "nearest_to_original": nearest_to_original}


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


# ----------------------------------------------------------------------------- results

def _model_scalars(table: pd.DataFrame) -> dict[str, Any]:
    return {
        "orientation_correct": int(table["orientation_correct"].sum()),
        "line_count_correct": int(table["line_count_correct"].sum()),
        "volume_fraction_diff_mean": float(table["volume_fraction_diff"].mean()),
        "data_mse": float(table["data_mse"].mean()),
        "spatial_stats_mse": float(table["spatial_stats_mse"].mean()),
        "nearest_stats_count_correct": int(table["nearest_stats_count_correct"].sum()),
    }


def build_results(profile: str, evaluation: TestSetEvaluation, data: EvalData,
                  overfit: pd.DataFrame | None = None, whole_split: dict[str, Any] | None = None) -> dict[str, Any]:
    """The dict written to results.json.  Headline numbers are the spatial-statistics VAE's.

    Keys: profile, n_test, orientation_correct, line_count_correct, volume_fraction_diff_mean
    (percent), nearest_stats_count_correct (training image nearest to the reconstruction in
    statistics space has the original's line count), nearest_to_original_count_correct,
    data_mse and spatial_stats_mse ({"spatial_stats_vae", "vanilla_vae"}: means over test
    images of per-pixel MSEs), ratios (ours / vanilla), models (every scalar per model),
    dataset (name, image_size, lines, n_images, n_train, n_val, n_test_split), overfit (means of
    the per-reconstruction mean MSEs per split and space), paper (the paper's numbers), and
    whole_split (:func:`whole_split_scores`, when given).
    """
    per_model = {MODEL_NAMES[loss]: _model_scalars(t) for loss, t in evaluation.tables.items()}
    ours, vanilla = per_model["spatial_stats_vae"], per_model["vanilla_vae"]
    train_labels = data.labels["n_lines"].to_numpy()
    nearest_orig = data.split["train"][evaluation.nearest_to_original.indices[:, 0]]
    truth = data.labels["n_lines"].to_numpy()[evaluation.indices]
    results: dict[str, Any] = {
        "profile": profile,
        "n_test": int(len(evaluation.indices)),
        "orientation_correct": ours["orientation_correct"],
        "line_count_correct": ours["line_count_correct"],
        "volume_fraction_diff_mean": ours["volume_fraction_diff_mean"],
        "nearest_stats_count_correct": ours["nearest_stats_count_correct"],
        "nearest_to_original_count_correct": int((train_labels[nearest_orig] == truth).sum()),
        "data_mse": {name: m["data_mse"] for name, m in per_model.items()},
        "spatial_stats_mse": {name: m["spatial_stats_mse"] for name, m in per_model.items()},
        "ratios": {key: _ratio(ours[key], vanilla[key]) for key in ("data_mse", "spatial_stats_mse")},
        "models": per_model,
        "dataset": {"name": data.spec.name, "image_size": data.spec.size,
                    "lines": [data.spec.min_lines, data.spec.max_lines], "n_images": data.spec.n_images,
                    "n_train": len(data.split["train"]), "n_val": len(data.split["val"]),
                    "n_test_split": len(data.split["test"])},
        "paper": PAPER,
    }
    if overfit is not None:
        means = overfit.groupby(["space", "split"])["mean_mse"].mean()
        results["overfit"] = {"n_per_split": int((overfit["space"] == "data").sum() // 2),
                              **{f"{space}_mean_mse_{split}": float(v) for (space, split), v in means.items()}}
    if whole_split is not None:
        results["whole_split"] = whole_split
    return results


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b > 0 else None


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def results_markdown(results: dict[str, Any]) -> str:
    """A markdown report of ``results``: ours vs vanilla vs the paper."""
    n, ours, vanilla, paper = results["n_test"], results["models"]["spatial_stats_vae"], \
        results["models"]["vanilla_vae"], results["paper"]
    ds = results["dataset"]
    # the paper reports counts and volume fractions on 1-5 lines only, and the two ratios on 3-7 lines too
    hard = list(ds["lines"]) == [3, 7]
    paper_ratios = paper["ratios_lines_3_7"] if hard else paper["ratios"]

    def paper_count(key: str) -> str:
        return "-" if hard else f"{paper[key]} / {paper['n_test']}"

    paper_note = ("the paper reports only the two MSE ratios on its 3-7 lines dataset" if hard else
                  f"the paper: {paper['n_test']} images of {paper['image_size']}x{paper['image_size']}, 1-5 lines")
    lines = [
        f"# Evaluation results (profile `{results['profile']}`)",
        "",
        f"Dataset `{ds['name']}`: {ds['image_size']}x{ds['image_size']} images, {ds['lines'][0]}-"
        f"{ds['lines'][1]} lines; {n} held-out test images ({paper_note}). Line counts and orientations are "
        "automatic (connected components of the thresholded reconstruction).",
        "",
        "| metric | spatial-stats VAE (ours) | vanilla VAE | paper (its VAE) |",
        "|---|---|---|---|",
        f"| correct orientation | {ours['orientation_correct']} / {n} | {vanilla['orientation_correct']} / {n} "
        f"| {paper_count('orientation_correct')} |",
        f"| correct number of lines | {ours['line_count_correct']} / {n} | {vanilla['line_count_correct']} / {n} "
        f"| {paper_count('line_count_correct')} |",
        f"| mean volume-fraction difference (%) | {_fmt(ours['volume_fraction_diff_mean'])} | "
        f"{_fmt(vanilla['volume_fraction_diff_mean'])} | {'-' if hard else _fmt(paper['volume_fraction_diff_mean'])} |",
        f"| nearest training image in stats space has the right line count | "
        f"{ours['nearest_stats_count_correct']} / {n} | {vanilla['nearest_stats_count_correct']} / {n} | - |",
        f"| data-space MSE (per pixel) | {_fmt(ours['data_mse'])} | {_fmt(vanilla['data_mse'])} | - |",
        f"| spatial-statistics MSE (per offset) | {_fmt(ours['spatial_stats_mse'])} | "
        f"{_fmt(vanilla['spatial_stats_mse'])} | - |",
        f"| data-space MSE, ours / vanilla | {_fmt(results['ratios']['data_mse'], 3)} | | "
        f"{paper_ratios['data_mse']} |",
        f"| spatial-statistics MSE, ours / vanilla | {_fmt(results['ratios']['spatial_stats_mse'], 3)} | | "
        f"{paper_ratios['spatial_stats_mse']} |",
        "",
        f"Sanity check: for {results['nearest_to_original_count_correct']} / {n} test images, the training image "
        "nearest to the *original* in statistics space has the original's line count.",
    ]
    if "whole_split" in results:
        w = results["whole_split"]
        a, b = w["models"].get("spatial_stats_vae", {}), w["models"].get("vanilla_vae", {})
        rows = [("correct orientation (%)", "orientation_correct_pct"),
                ("correct number of lines (%)", "line_count_correct_pct"),
                ("mean volume-fraction difference (%)", "volume_fraction_diff_mean"),
                ("data-space MSE (per pixel)", "data_mse"), ("spatial-statistics MSE (per offset)", "spatial_stats_mse")]
        lines += ["", f"The same scores on all {w['n']} images of the {w['split']} split (less sampling noise than "
                  "100 images):", "",
                  "| metric | spatial-stats VAE (ours) | vanilla VAE |", "|---|---|---|"]
        lines += [f"| {label} | {_fmt(a.get(key))} | {_fmt(b.get(key))} |" for label, key in rows]
        for key, label in (("data_mse", "data-space"), ("spatial_stats_mse", "spatial-statistics")):
            lines.append(f"| {label} MSE, ours / vanilla | {_fmt(w['ratios'].get(key), 3)} | |")
        if "nearest_to_original" in w:
            near = w["nearest_to_original"]
            lines += ["", f"Sanity check on {near['n']} images of the {w['split']} split: the training image nearest "
                      f"to the *original* in statistics space has the original's line count for "
                      f"{_fmt(near['count_correct_pct'])} % of them."]
    if "overfit" in results:
        o = results["overfit"]
        lines += ["", f"Overfitting check (spatial-stats VAE, {o['n_per_split']} reconstructions per split, "
                  "mean MSE to every image of the same split, averaged):", "",
                  "| space | train | validation |", "|---|---|---|"]
        for space in ("data", "spatial_stats"):
            lines.append(f"| {space} | {_fmt(o.get(f'{space}_mean_mse_train'))} | "
                         f"{_fmt(o.get(f'{space}_mean_mse_val'))} |")
    return "\n".join(lines) + "\n"


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_results(fig_dir: str | os.PathLike, results: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``fig_dir/results.json`` and ``fig_dir/results.md`` atomically; return their paths."""
    from utils.train import write_json

    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    json_path = write_json(fig_dir / "results.json", results)
    md_path = fig_dir / "results.md"
    _write_text_atomic(md_path, results_markdown(results))
    return json_path, md_path
