"""What a latent space generates: images drawn from sampled codes, judged against real crops.

A code space is worth designing in only if the codes *between* the training crops' stand for real-looking
material too.  For each method that draws images from codes (a :class:`Sampler`: the statistics VAE, or the PCA of
the statistics), and for each material:

* codes are sampled **around the material's**: from a Gaussian fitted to the codes of its training crops
  (:func:`utils.evaluation.realism.material_gaussians`; the same for both methods, so neither gets a better sampler),
  and **from the prior**: N(0, I) for a VAE, a Gaussian fitted to every training code for the PCA (which has no
  prior of its own);
* an image is drawn from each code with a fresh random field (``seed``), as the method's reconstructions are;
* the drawn images are compared with held-out crops of the material (the prior's with crops of every material) by
  the classifier two-sample test on descriptors no loss optimises (:func:`utils.evaluation.realism.two_sample_accuracy`:
  50 % indistinguishable, 100 % always told apart), and by the material classifier of the codes: the share of a
  material's samples that the method's own encoder and a logistic classifier of its training codes
  (:func:`utils.evaluation.micro.classify`'s) name as that material.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from utils.checks import positive_int
from utils.evaluation.micro import pca_start
from utils.evaluation.realism import material_gaussians, prior_codes, sample_codes, two_sample_accuracy
from utils.inverse.drawing import draw_images
from utils.inverse.latent import encode_means
from utils.progress import progress_bar
from utils.statistics.descriptors import describe
from utils.training.models import VAE

__all__ = ["PRIOR", "Sampler", "Samples", "statistics_samplers", "sample_and_judge"]

PRIOR = "prior"   # the material key of the samples drawn from the prior (compared with crops of every material)


@dataclass(frozen=True)
class Sampler:
    """How a method turns codes into images and images into codes."""

    name: str
    train_codes: np.ndarray                            # (n_train, k) codes of the training crops
    draw: Callable[[np.ndarray, int], np.ndarray]      # (codes (n, k), seed) -> images (n, H, W) of 0 / 1
    encode: Callable[[np.ndarray], np.ndarray]         # images (n, H, W) -> codes (n, k)
    prior_is_normal: bool = True                       # the prior is N(0, I) (a VAE); else a Gaussian of every code


@dataclass
class Samples:
    """The drawn images and how they were judged."""

    images: dict[str, dict[str, np.ndarray]]   # method -> material (or PRIOR) -> (n, H, W) drawn images
    table: pd.DataFrame                        # method, material, accuracy (two-sample), recognised (share), n


def statistics_samplers(model: VAE, train_crops: np.ndarray, *, steps: int | None = None) -> list[Sampler]:
    """The two methods that draw images from codes of the statistics: the statistics VAE ``model`` ("statistics_vae")
    and the PCA of the same statistics ("pca": ``model`` before its first step, :func:`utils.evaluation.micro.pca_start`),
    both drawing by :func:`utils.inverse.drawing.draw_images` (``steps``: its pixel steps, None: the default), their
    codes mu (the PCA's: its whitened coefficients)."""
    if not model.decodes_statistics:
        raise ValueError("statistics_samplers needs a statistics VAE (decoder='statistics')")
    pca = pca_start(model, train_crops)
    return [Sampler(name, encode_means(m, train_crops),
                    lambda z, s, m=m: draw_images(m, z, seed=s, steps=steps).images,
                    lambda images, m=m: encode_means(m, images), prior_is_normal=name != "pca")
            for name, m in (("statistics_vae", model), ("pca", pca))]


def _codes(sampler: Sampler, train_materials: Sequence[str], n: int, seed: int) -> dict[str, np.ndarray]:
    """material (and PRIOR) -> (n, k) sampled codes."""
    gaussians = material_gaussians(sampler.train_codes, train_materials)
    out = {m: sample_codes(mean, cov, n, seed=seed + i) for i, (m, (mean, cov)) in enumerate(sorted(gaussians.items()))}
    k = sampler.train_codes.shape[1]
    if sampler.prior_is_normal:
        out[PRIOR] = prior_codes(n, k, seed=seed + len(gaussians))
    else:
        codes = np.asarray(sampler.train_codes, dtype=np.float64)
        out[PRIOR] = sample_codes(codes.mean(axis=0), np.cov(codes, rowvar=False), n, seed=seed + len(gaussians))
    return out


def sample_and_judge(samplers: Sequence[Sampler], real: Mapping[str, np.ndarray], train_materials: Sequence[str], *,
                     n: int = 100, seed: int = 0, progress: bool = True) -> Samples:
    """Draw ``n`` images per material and ``n`` from the prior with each sampler (seeds ``seed`` + i), and judge them
    against ``real`` (material -> held-out crops (m, H, W)); the prior's against ``n`` crops of all materials (every
    material's first ones in turn).  ``train_materials``: the material of each row of the samplers' ``train_codes``."""
    n = positive_int(n, "n")
    pooled = np.concatenate([np.stack(c) for c in zip(*[real[m][:n] for m in sorted(real)])])[:n]
    real_described = {**{m: describe(images) for m, images in real.items()}, PRIOR: describe(pooled)}
    rows, drawn = [], {}
    for sampler in samplers:
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        classifier.fit(sampler.train_codes, np.asarray(train_materials))
        drawn[sampler.name] = {}
        codes = _codes(sampler, train_materials, n, seed)
        for i, (material, z) in enumerate(progress_bar(codes.items(), disable=not progress,
                                                       desc=f"sampling ({sampler.name})", total=len(codes))):
            images = sampler.draw(z, seed + i)
            drawn[sampler.name][material] = images
            named = classifier.predict(sampler.encode(images))
            folds = max(2, min(5, len(real_described[material]), len(images)))   # 5, unless fewer crops
            rows.append({"method": sampler.name, "material": material,
                         "accuracy": two_sample_accuracy(real_described[material], describe(images), folds=folds,
                                                         seed=seed),
                         "recognised": np.nan if material == PRIOR else float((named == material).mean()),
                         "n": len(images)})
    return Samples(drawn, pd.DataFrame(rows))
