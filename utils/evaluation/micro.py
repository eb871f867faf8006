"""Notebook 07: the VAEs trained on micrograph crops, scored on the held-out crops.

`make micro` (:func:`utils.jobs.run_micro`) trains them, then runs notebooks 06-09.  The models are
``config_for("micro", name)`` (:data:`utils.training.config.PROFILES`): the cpu profile's conv VAE and losses on 64-px crops
of the seven shipped micrographs, with **non-periodic** statistics, and the statistics VAE (it decodes the
statistics window; an image is drawn from them, :func:`utils.inverse.drawing.draw_images`), each trained in
``runs/<profile>/<name>/``.  Everything here is measured on the crops of
the held-out regions (``dataset_split(cfg)["test"]``), whose pixels no training crop shares.

What is scored, per held-out crop (reconstructions binarised at :data:`MICRO_THRESHOLD`: phase 0
where a pixel is below it; the statistics are those of the hard indicator of phase 0):

* ``autocovariance_mse``: the mean over the scoring window |r_y|, |r_x| <= ``window`` of the squared
  difference between the normalised autocovariances (f - phi²) / (phi (1 - phi)) of the crop and of
  the candidate (non-periodic f; a candidate whose phase vanished scores against a map of zeros);
* ``vf_diff``: | phi_candidate - phi_crop | in percentage points of phase 0 (absolute, not the
  paper's relative measure: phase 0 fills 3-97 % of these materials);
* ``collapsed``: the candidate is a single phase (its autocovariance then counts as zeros, which
  flatters it on short-range textures: read the error beside the collapsed share).

Candidates: our VAE and the vanilla VAE at z = mu, the image the statistics VAE draws from its statistics at
z = mu, the reconstruction from statistics (the limit: no VAE) and the PCA of the statistics, the classical
representation.  The methods that yield statistics are scored twice (:func:`two_yardsticks`): on the statistics before
any image is drawn (the statistics VAE's decoded window; the crop's statistics projected on the first k principal
components of the training crops', :class:`utils.statistics.pca.StatisticsPCA`) and on the images drawn from them (the
PCA's drawn by the statistics VAE's architecture before training, :func:`pca_start`, whose codes are the PCA's).
The crops' statistics: :mod:`utils.statistics.crops`.
How well codes tell the materials apart: :func:`classify` (a logistic classifier on the codes of
the training crops, its accuracy on the held-out crops).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from utils.data.store import ensure_dataset, load_dataset
from utils.evaluation.evaluate import reconstruct
from utils.evaluation.realism import two_sample_accuracy
from utils.inverse.drawing import draw_images
from utils.inverse.inversion import reconstruct_from_statistics
from utils.inverse.latent import encode_means
from utils.project import Folders, MICRO_THRESHOLD, run_folder
from utils.statistics.crops import CropStatistics, crop_statistics
from utils.statistics.descriptors import describe, descriptor_ratios
from utils.statistics.maps import cutoff_window
from utils.statistics.objective import Objective
from utils.statistics.pca import StatisticsPCA
from utils.training.config import PROFILES, TrainConfig
from utils.training.models import VAE, build_vae
from utils.training.runs import dataset_split, load_run
from utils.training.shipped import choose_run
from utils.training.statistics_vae import initialise_from_pca

__all__ = ["score", "summarise_scores", "first_per_material", "classify", "MicroEvaluation", "pca_start", "evaluate_micro", "two_yardsticks",
           "load_micro", "chosen_micro_runs", "micro_runs"]


def score(truth: CropStatistics, candidate: CropStatistics, materials: Sequence[str], method: str) -> pd.DataFrame:
    """One row per crop: method, material, autocovariance_mse, vf_diff (percentage points) and
    ``collapsed``: the candidate's phase 0 vanished or filled it (phi = 0 or 1, up to the FFT's rounding: phi (1 - phi)
    below 1e-12, the test of :func:`utils.statistics.two_point.normalised_autocovariance`).  A collapsed candidate's
    autocovariance counts as zeros, which is close to the truth for short-range textures, so report
    the collapsed share beside the error (a uniform image keeps no texture at all)."""
    fraction = np.asarray(candidate.fraction, dtype=np.float64)
    return pd.DataFrame({"method": method, "material": list(materials),
                         "autocovariance_mse": ((candidate.autocovariance - truth.autocovariance) ** 2).mean(axis=1),
                         "vf_diff": 100 * np.abs(candidate.fraction - truth.fraction),
                         "collapsed": fraction * (1 - fraction) < 1e-12})


def summarise_scores(scores: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Per method (rows in ``order``) of :func:`score` rows: the mean autocovariance_mse and vf_diff, the
    share of collapsed candidates in percent (``collapsed_pct``) and the autocovariance error over the
    others (``autocovariance_mse_kept``; NaN when all collapsed)."""
    kept = scores[~scores["collapsed"]].groupby("method")["autocovariance_mse"].mean().rename("autocovariance_mse_kept")
    means = (scores.assign(collapsed_pct=100 * scores["collapsed"].astype(float))
             .groupby("method")[["autocovariance_mse", "vf_diff", "collapsed_pct"]].mean())
    return means.join(kept).loc[list(order)]


def first_per_material(indices: np.ndarray, materials: Sequence[str], n: int = 1) -> np.ndarray:
    """The first ``n`` entries of ``indices`` of each material (``materials[i]`` is that of ``indices[i]``),
    materials in sorted order: positions into ``indices``.

    >>> first_per_material(np.array([7, 8, 9, 10]), ["b", "a", "b", "a"], n=1).tolist()
    [1, 0]
    """
    materials = np.asarray(materials)
    return np.concatenate([np.flatnonzero(materials == m)[:n] for m in sorted(set(materials.tolist()))])


def classify(train_codes: np.ndarray, train_materials: Sequence[str], test_codes: np.ndarray,
             test_materials: Sequence[str]) -> tuple[float, pd.DataFrame]:
    """Held-out accuracy of a logistic classifier (scikit-learn, codes standardised) fitted on the training
    codes, and the confusion table (rows: true material, columns: predicted; counts).

    >>> codes = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> classify(codes, ["a", "a", "b", "b"], np.array([[0.05], [4.9]]), ["a", "b"])[0]
    1.0
    """
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(np.asarray(train_codes), np.asarray(train_materials))
    predicted = model.predict(np.asarray(test_codes))
    truth = np.asarray(test_materials)
    names = sorted(set(train_materials) | set(test_materials))
    table = pd.crosstab(pd.Categorical(truth, names), pd.Categorical(predicted, names), dropna=False)
    table.index.name, table.columns.name = "true", "predicted"
    return float((predicted == truth).mean()), table


@dataclass
class MicroEvaluation:
    """What notebook 07 shows of the trained models."""

    scores: pd.DataFrame                      # one row per (method, held-out crop): see :func:`score`
    accuracy: dict[str, float]                # code -> held-out accuracy of the material classifier
    confusion: dict[str, pd.DataFrame]        # code -> its confusion table
    examples: dict[str, dict[str, np.ndarray]]  # material -> method -> its first held-out crop, binarised (H, W)
    codes: dict[str, np.ndarray] = field(default_factory=dict)   # code -> (n_test, k) codes of the held-out crops
    materials: list[str] = field(default_factory=list)           # material of each held-out crop
    # method -> material x descriptor: mean descriptor of its binarised reconstructions ÷ the originals'
    # (utils.statistics.descriptors.descriptor_ratios; chords and clusters no loss computes); the limit's over its own crops
    descriptors: dict[str, pd.DataFrame] = field(default_factory=dict)
    # the statistics themselves, before any image is drawn, scored as ``scores`` scores images: the statistics VAE's
    # decoded ones and the PCA's projection (the methods that yield statistics)
    statistics_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    # material x method: the two-sample accuracy of its reconstructions against the crops they stand for
    # (utils.evaluation.realism; 0.5: their descriptors cannot tell them apart)
    reconstruction_realism: pd.DataFrame = field(default_factory=pd.DataFrame)


def _decoded_statistics(model: VAE, codes: np.ndarray, window: int) -> CropStatistics:
    """The statistics a statistics VAE decodes from ``codes``, cut to the scoring window."""
    with torch.no_grad():
        windows = model.decode(torch.as_tensor(np.asarray(codes, dtype=np.float32)))
    windows = cutoff_window(windows.float(), window).double().numpy()
    return CropStatistics.from_raw(windows.reshape(len(windows), -1), window)


def pca_start(model: VAE, train_crops: np.ndarray) -> VAE:
    """The PCA of the statistics as a statistics VAE: ``model``'s architecture before its first step, both linear maps
    the whitened PCA of the training crops' features (:func:`utils.training.statistics_vae.initialise_from_pca`), the
    MLPs adding nothing.  Its codes are the PCA's coefficients, its decoded windows their projection, and its images are
    drawn as ``model``'s are: the PCA of the same statistics, with the same drawing."""
    if not model.decodes_statistics:
        raise ValueError("pca_start needs a statistics VAE (decoder='statistics')")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        start = build_vae(model.config)
    crops = torch.as_tensor(np.asarray(train_crops, dtype=np.float32)[:, None])
    initialise_from_pca(start.encoder, start.decoder, crops)
    return start.eval()


def _two_sample(images: np.ndarray, originals: pd.DataFrame, materials: Sequence[str]) -> dict[str, float]:
    """material -> the two-sample accuracy of ``images`` against the crops they stand for (their descriptors)."""
    described, materials = describe(images), np.asarray(materials)
    return {m: two_sample_accuracy(originals[materials == m], described[materials == m],
                                   folds=max(2, min(5, int((materials == m).sum()))))
            for m in sorted(set(materials.tolist()))}


def evaluate_micro(models: Mapping[str, VAE], images: np.ndarray, labels: pd.DataFrame,
                   split: Mapping[str, np.ndarray], *, window: int, latent_dim: int, n_limit: int = 7,
                   limit_restarts: int = 1, limit_steps: int | None = None, seed: int = 0,
                   progress: bool = True) -> MicroEvaluation:
    """Score ``models`` (name -> VAE: an image VAE's reconstruction at z = mu; a statistics VAE's image drawn from
    its statistics at z = mu, with the field seed ``seed`` and ``limit_steps`` pixel steps), the PCA of the statistics
    with ``latent_dim`` components and the limit (reconstruction from statistics with its non-periodic defaults, on
    the first ``n_limit`` held-out crops of each material that hold both phases, ``limit_restarts`` starts each,
    ``limit_steps`` pixel steps: None, the default ``NONPERIODIC_STEPS``) on the held-out crops, each by :func:`score`
    of its crop statistics over the scoring window |r_y|, |r_x| <= ``window``; classify the materials from each kind
    of code.

    Two yardsticks for the methods that yield statistics before an image (``scores`` and ``statistics_scores``):
    the images drawn from them (the PCA's by :func:`pca_start`, the PCA of the statistics VAE's own features, drawn as
    its images are; none without a statistics VAE) and the statistics themselves (the statistics VAE's decoded ones;
    for the PCA, the classical one: the projection of the normalised autocovariance over ``window``, whose codes of
    the raw f also feed the classifier)."""
    test, train = split["test"], split["train"]
    originals = np.asarray(images[test])
    materials = labels["material"].to_numpy()
    test_materials, train_materials = list(materials[test]), list(materials[train])
    truth = crop_statistics(originals, cutoff=window)
    train_stats = crop_statistics(np.asarray(images[train]), cutoff=window)
    rows, statistics_rows, accuracy, confusion, codes, described = [], [], {}, {}, {}, {}
    recons = {}
    seen = describe(originals)
    drawing = [m for m in models.values() if m.decodes_statistics]
    models = {**models, **({"pca": pca_start(drawing[0], np.asarray(images[train]))} if drawing else {})}
    for name, model in models.items():
        codes[name] = encode_means(model, originals)
        if model.decodes_statistics:
            if name != "pca":    # the PCA's statistics are scored by the classical PCA below
                statistics_rows.append(score(truth, _decoded_statistics(model, codes[name], window), test_materials, name))
            recons[name] = draw_images(model, codes[name], seed=seed, steps=limit_steps, progress=progress).images
        else:
            recons[name] = reconstruct(model, originals, progress=progress, desc=f"reconstructing ({name})")
        rows.append(score(truth, crop_statistics(recons[name], cutoff=window), test_materials, name))
        described[name] = descriptor_ratios(describe(recons[name]), seen, test_materials)
        accuracy[name], confusion[name] = classify(encode_means(model, np.asarray(images[train])), train_materials,
                                                   codes[name], test_materials)
    pca = StatisticsPCA.fit(train_stats, latent_dim, seed=seed)       # the classical one, over the scoring window
    statistics_rows.append(score(truth, pca.project(truth), test_materials, "pca"))
    codes["pca"] = pca.codes(truth)
    accuracy["pca"], confusion["pca"] = classify(pca.codes(train_stats), train_materials, codes["pca"], test_materials)
    two = np.flatnonzero((truth.fraction > 0) & (truth.fraction < 1))   # a single-phase crop has no texture to draw
    first = two[first_per_material(test[two], [test_materials[i] for i in two], n_limit)]
    limit = reconstruct_from_statistics(originals[first], objective=Objective(periodic=False), restarts=limit_restarts,
                                        steps=limit_steps, seed=seed, progress=progress)
    rows.append(score(truth.rows(first), crop_statistics(limit.images, cutoff=window),
                      [test_materials[i] for i in first], "from_statistics"))
    described["from_statistics"] = descriptor_ratios(describe(limit.images), seen.iloc[first].reset_index(drop=True),
                                                     [test_materials[i] for i in first])
    examples: dict[str, dict[str, np.ndarray]] = {}
    for j, i in enumerate(first):                  # the first held-out crop of each material, binarised
        shown = {"original": originals[i], **{loss: r[i] for loss, r in recons.items()}, "from_statistics": limit.images[j]}
        examples.setdefault(test_materials[i], {k: (v >= MICRO_THRESHOLD).astype(np.uint8) for k, v in shown.items()})
    realism = pd.DataFrame({name: _two_sample(r, seen, test_materials) for name, r in recons.items()})
    return MicroEvaluation(pd.concat(rows, ignore_index=True), accuracy, confusion, examples, codes, test_materials,
                           described, pd.concat(statistics_rows, ignore_index=True), realism)


def two_yardsticks(evaluation: MicroEvaluation, order: Sequence[str]) -> pd.DataFrame:
    """Per method (rows in ``order``): the mean autocovariance error of its statistics before any image is drawn
    (``statistics``: the statistics VAE's decoded, the PCA's projected, the limit's target, the crop's own: 0; NaN for
    an image VAE, which yields no statistics) and of the images (``images``: reconstructed or drawn)."""
    statistics = evaluation.statistics_scores.groupby("method")["autocovariance_mse"].mean()
    statistics["from_statistics"] = 0.0
    images = evaluation.scores.groupby("method")["autocovariance_mse"].mean()
    return pd.DataFrame({"statistics": statistics, "images": images}).reindex(list(order))


def load_micro(profile: str, folders: Folders) -> tuple[dict[str, VAE], dict[str, TrainConfig], np.ndarray,
                                                      pd.DataFrame, dict[str, np.ndarray]]:
    """The finished models of ``profile`` (name -> VAE, best checkpoints; the shipped ones where no finished run of
    your own is there, :func:`utils.training.shipped.choose_run`), their configs (name -> TrainConfig, ``data_dir`` set to
    ``folders.data``), and the crops, labels and split they were trained on (the crops are cut first if missing).
    Raises FileNotFoundError naming ``make micro`` when a model is neither trained nor shipped."""
    models, configs = {}, {}
    for name, run in chosen_micro_runs(profile, folders).items():
        models[name], cfg = load_run(run)
        configs[name] = replace(cfg, data_dir=str(folders.data))
    cfg = configs["spatial_stats"]
    images, labels = load_dataset(ensure_dataset(cfg.dataset, folders.data, progress=False))
    return models, configs, images, labels, dataset_split(cfg)


# ----------------------------------------------------------------------------- where the runs are

def micro_runs(profile: str, runs_dir: Path) -> dict[str, Path]:
    """``{name: run folder}`` of the models of ``profile`` (:data:`utils.training.config.PROFILES`: both image VAEs and the
    statistics VAE): ``runs_dir/<profile>/<name>``."""
    return {name: run_folder(runs_dir, profile, name) for name in PROFILES[profile]}


def chosen_micro_runs(profile: str, folders: Folders, *, announce: bool = True) -> dict[str, Path]:
    """``{name: run folder}`` of the models of ``profile``: yours when finished, else the shipped ones
    (:func:`utils.training.shipped.choose_run`; ``announce``: print the one line that says so)."""
    return {name: choose_run(run, profile, name, announce=announce)
            for name, run in micro_runs(profile, folders.runs).items()}
