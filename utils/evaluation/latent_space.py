"""What the codes of a trained VAE encode (notebook 05): their correlation with image properties, and how far a
reconstruction survives noise added to z.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from utils.evaluation.evaluate import per_image_table
from utils.evaluation.report import summarise
from utils.inverse.latent import decode, encode_means

__all__ = ['latent_correlations', 'robustness']


def latent_correlations(mu: np.ndarray, properties: dict[str, np.ndarray]) -> np.ndarray:
    """(latent_dim, n_properties) Pearson correlation of each latent coordinate with each property
    (e.g. line count, orientation as 0/1, volume fraction); NaN where one of them is constant."""
    mu = np.asarray(mu, dtype=np.float64)
    out = np.full((mu.shape[1], len(properties)), np.nan)
    for j, values in enumerate(properties.values()):
        v = np.asarray(values, dtype=np.float64)
        for i in range(mu.shape[1]):
            if mu[:, i].std() > 0 and v.std() > 0:
                out[i, j] = np.corrcoef(mu[:, i], v)[0, 1]
    return out


def robustness(model: torch.nn.Module, originals: np.ndarray, labels, sigmas: Sequence[float], *,
               seed: int = 0) -> pd.DataFrame:
    """Decode mu + sigma * N(0, I) of each original for each sigma (seeded, the same noise draw
    scaled); one row per sigma with the scores of :func:`utils.evaluation.report.summarise` (percentages)."""
    mu = encode_means(model, originals)
    noise = np.random.default_rng(seed).standard_normal(mu.shape).astype(np.float32)
    rows = [{"sigma": float(s), **summarise(per_image_table(originals, labels, decode(model, mu + s * noise)),
                                            percent=True)} for s in sigmas]
    return pd.DataFrame(rows)
