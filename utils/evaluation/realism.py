"""Do drawn microstructures look real?  A classifier two-sample test on descriptors no loss optimises.

The method (Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR 2017): label the real crops 0 and the
drawn images 1, keep as many of each (the larger set subsampled to the size of the smaller, with the seed), and
measure the stratified k-fold cross-validated accuracy of a fixed classifier that tells them apart from their
descriptors (:func:`utils.statistics.descriptors.describe`).  0.5: the classifier does no better than a coin, the
two sets are indistinguishable on these descriptors; 1.0: every drawn image is told from the real ones.  With n
rows per class an accuracy is uncertain by about sqrt(0.25 / (2 n)): ±0.035 for 100 each.

The descriptors (:data:`REALISM_DESCRIPTORS`) are the chords and the clusters of each phase, which no loss here
computes, and the interface density of the *binarised* image, the short range that a grey optimised image can
still miss (its x and y parts are left out: their mean is the column kept).  The phase fraction is left out on
purpose: it is f(0), which every statistics loss and the drawing from statistics match directly, and which some
drawings fix by construction, so it would be a giveaway one way (a method whose fraction is off is told apart
by the one number the test does not mean to judge) or the other (one that copies it looks real for free).

The codes of a method that has no prior of its own are drawn from per-material Gaussians fitted to its codes
(:func:`material_gaussians`, :func:`sample_codes`): the same procedure serves the statistics VAE's mu codes and
the PCA's coefficients (the PCA sampled as a Gaussian, :func:`utils.evaluation.micro.pca_start`), so
neither gets a better sampler than the other; :func:`prior_codes` draws from the VAE prior N(0, I).

Conventions: one row per image in every table, the descriptor columns of ``describe``; codes (n, k), one row per
image; every random draw takes a seed and no state is kept between calls.

>>> rng = np.random.default_rng(0)
>>> real = pd.DataFrame(rng.random((20, 7)), columns=REALISM_DESCRIPTORS)
>>> two_sample_accuracy(real, real + 10.0)                   # disjoint: always told apart
1.0
>>> corners = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
>>> mean, cov = material_gaussians(corners, ["a"] * 4)["a"]
>>> mean.tolist(), cov.round(4).tolist()                      # variance 4 / 3 (n - 1 = 3), no correlation
([1.0, 1.0], [[1.3333, 0.0], [0.0, 1.3333]])
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

__all__ = ["REALISM_DESCRIPTORS", "quadratic_classifier", "two_sample_accuracy", "realism_table", "material_gaussians",
           "sample_codes", "prior_codes"]

REALISM_DESCRIPTORS: tuple[str, ...] = ("interface_density", "chord0_x", "chord0_y", "chord1_x", "chord1_y",
                                        "clusters0", "clusters1")
RIDGE = 1e-9            # added to each covariance's diagonal, so that a degenerate one is still positive definite


def _with_squares(x: np.ndarray) -> np.ndarray:
    """(n, 2 d): the standardised descriptors (n, d) and their squares (the distance from the mean on each axis)."""
    return np.hstack([x, x ** 2])


def quadratic_classifier() -> Pipeline:
    """The fixed classifier of the test: a logistic regression on the standardised descriptors and their squares.

    Quadratic, so that it catches a difference of spread as well as of mean: two sets with the same mean chord,
    one of which varies twice as much, are told apart by the squares only (seven columns of equal means and
    standard deviations 1 and 2, 100 rows each, data seeds 0-2: accuracy 0.88-0.90, against 0.48-0.60 for the
    linear classifier and 0.78-0.83 for scikit-learn's HistGradientBoostingClassifier, which also takes ten times
    as long; both tell a fine texture from a coarse one, 1.0, and two draws of one texture apart no better than
    chance, tests/test_realism.py).  The squares are taken of standardised columns, so a square measures the
    distance from the pooled mean, not the size of a descriptor.
    """
    return make_pipeline(StandardScaler(), FunctionTransformer(_with_squares), StandardScaler(),
                         LogisticRegression(max_iter=5000))


def _checked(table: pd.DataFrame, name: str, columns: Sequence[str], folds: int) -> np.ndarray:
    """(n, d) float64: the ``columns`` of ``table``, or a ValueError that says what is wrong and what to do."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}; describe its images with "
                         f"utils.statistics.descriptors.describe, or pass columns= that both tables hold")
    values = table[list(columns)].to_numpy(dtype=np.float64)
    if len(values) < folds:
        raise ValueError(f"{name} has {len(values)} rows, fewer than folds={folds}; draw more images or pass "
                         f"a smaller folds")
    bad = [c for c, ok in zip(columns, np.isfinite(values).all(axis=0)) if not ok]
    if bad:
        raise ValueError(f"{name} holds NaN or infinite values in {bad}; drop those rows (table.dropna()) or "
                         f"find the images that produced them")
    return values


def _subsample(values: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` rows of ``values`` drawn without replacement (in their order), or all of them when there are no more."""
    if len(values) <= size:
        return values
    return values[np.sort(rng.choice(len(values), size=size, replace=False))]


def two_sample_accuracy(real: pd.DataFrame, drawn: pd.DataFrame, *, columns: Sequence[str] = REALISM_DESCRIPTORS,
                        folds: int = 5, seed: int = 0) -> float:
    """The cross-validated accuracy with which :func:`quadratic_classifier` tells ``drawn`` rows from ``real`` ones.

    ``real`` and ``drawn``: one row per image, holding ``columns`` (e.g. ``describe(images)``).  The larger set is
    subsampled to the size of the smaller (``seed``), then the mean accuracy over ``folds`` stratified folds,
    shuffled with ``seed``.  0.5: indistinguishable; 1.0: always told apart (below 0.5 is chance too).
    """
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    columns = list(columns)
    if not columns:
        raise ValueError("columns is empty; pass the descriptor columns to compare, e.g. REALISM_DESCRIPTORS")
    a, b = _checked(real, "real", columns, folds), _checked(drawn, "drawn", columns, folds)
    rng = np.random.default_rng(seed)
    size = min(len(a), len(b))
    a, b = _subsample(a, size, rng), _subsample(b, size, rng)
    x, y = np.vstack([a, b]), np.repeat([0, 1], size)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(quadratic_classifier(), x, y, cv=split, scoring="accuracy").mean())


def realism_table(real: Mapping[str, pd.DataFrame], drawn: Mapping[str, Mapping[str, pd.DataFrame]], *,
                  columns: Sequence[str] = REALISM_DESCRIPTORS, folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """One row per method and material: the :func:`two_sample_accuracy` of what the method drew against the real crops.

    ``real``: material -> descriptors of its real crops (a key such as "all" may hold the pooled crops, to compare
    with images drawn from the prior); ``drawn``: method -> material -> descriptors of the images it drew.
    Columns: method, material, accuracy, n_real, n_drawn (the rows given; the test keeps the smaller of the two
    of each).
    """
    rows = []
    for method, per_material in drawn.items():
        for material, table in per_material.items():
            if material not in real:
                raise ValueError(f"{method!r} drew for material {material!r}, which real lacks (it holds "
                                 f"{sorted(real)}); describe that material's real crops too")
            accuracy = two_sample_accuracy(real[material], table, columns=columns, folds=folds, seed=seed)
            rows.append({"method": method, "material": material, "accuracy": accuracy,
                         "n_real": len(real[material]), "n_drawn": len(table)})
    return pd.DataFrame(rows, columns=["method", "material", "accuracy", "n_real", "n_drawn"])


def material_gaussians(codes: np.ndarray, materials: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """material (sorted) -> (mean (k,), covariance (k, k)) of its rows of ``codes`` (n, k), one material per row.

    The covariance is ``np.cov`` (n - 1 in the denominator) plus 1e-9 on the diagonal, so that it is positive
    definite even when the codes of a material span fewer than k directions.
    """
    c = np.asarray(codes, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"codes must be (n, k), got shape {c.shape}; wrap a single code as code[None]")
    labels = np.asarray(materials)
    if len(labels) != len(c):
        raise ValueError(f"codes ({len(c)} rows) and materials ({len(labels)}) must describe the same images")
    if not np.isfinite(c).all():
        raise ValueError("codes hold NaN or infinite values; encode the images again or drop those rows")
    out = {}
    for material in sorted(set(labels.tolist())):
        rows = c[labels == material]
        if len(rows) < 2:
            raise ValueError(f"material {material!r} has {len(rows)} code; a covariance needs at least 2")
        cov = np.atleast_2d(np.cov(rows, rowvar=False)) + RIDGE * np.eye(c.shape[1])
        out[material] = (rows.mean(axis=0), cov)
    return out


def sample_codes(mean: np.ndarray, cov: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """(n, k) float32: ``n`` codes drawn from the Gaussian of ``mean`` (k,) and ``cov`` (k, k), seeded."""
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(cov, dtype=np.float64)
    if m.ndim != 1 or s.shape != (len(m), len(m)):
        raise ValueError(f"mean must be (k,) and cov (k, k), got shapes {m.shape} and {s.shape}")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    return np.random.default_rng(seed).multivariate_normal(m, s, size=n).astype(np.float32)


def prior_codes(n: int, k: int, *, seed: int) -> np.ndarray:
    """(n, k) float32: ``n`` codes drawn from the VAE prior N(0, I), seeded (as :func:`sample_codes` draws)."""
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return sample_codes(np.zeros(k), np.eye(k), n, seed=seed)
