"""Is a crop large enough to hold a material (notebook 06)?  The crop side over the material's correlation length,
and what a crop holds of each phase: clusters and chords (:mod:`utils.statistics.descriptors`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from utils.data.micrographs import as_vae_images, micrograph_crops
from utils.statistics.descriptors import describe

__all__ = ['features_per_crop']


def features_per_crop(images: Mapping[str, np.ndarray], lengths: Mapping[str, float], *, size: int, n: int = 64,
                      seed: int = 0) -> pd.DataFrame:
    """Is a crop of ``size`` px large enough for each material?  Per image (label arrays, phase 0 against the
    rest): its correlation length ``xi_px`` (``lengths``), the crop side over it, and the means over ``n``
    training-region crops of the clusters of each phase per crop and of the mean chords along x
    (utils.statistics.descriptors; clusters cut by the crop's border count as they are)."""
    crops, where = micrograph_crops(dict(images), size=size, n_train=n, n_test=1, seed=seed)
    train = where["split"].to_numpy() == "train"
    table = (describe(as_vae_images(crops[train])).assign(material=where.loc[train, "source"].to_numpy())
             .groupby("material")[["clusters0", "clusters1", "chord0_x", "chord1_x"]].mean())
    table[["clusters0", "clusters1"]] *= size * size / 1000.0
    table.insert(0, "side_over_xi", pd.Series({k: size / v for k, v in lengths.items()}))
    table.insert(0, "xi_px", pd.Series(dict(lengths)))
    return table.rename(columns={"clusters0": "phase-0 clusters per crop", "clusters1": "phase-1 clusters per crop",
                                 "chord0_x": "phase-0 chord along x (px)", "chord1_x": "phase-1 chord along x (px)"})
