"""The data a training run reads (:func:`utils.training.loop.train`): the dataset and its spectra cache opened once, the
statistics scale, and the training and validation loaders.

Images are (N, H, W) uint8 {0 = phase 0, 1 = the rest}; spectra are the cached |FFT(m)|^2 / S of each image,
(N, H, W // 2 + 1) float32, for the periodic statistics loss only (non-periodic statistics are computed in the
loss).  The scale is the training images' largest statistic (f at r = 0) when ``normalize_stats``, else 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from utils.data.spectra import spectra_cache, statistic_peaks
from utils.data.store import ensure_dataset, load_dataset
from utils.training.config import TrainConfig
from utils.training.device import Dist
from utils.training.runs import dataset_split

__all__ = ["LinesDataset", "TrainingData", "prepare_training_data", "training_loaders"]


@dataclass
class TrainingData:
    """What a run trains on, opened once: the images, their cached target spectra, the split, the statistics scale."""

    images: np.ndarray               # (N, H, W) uint8, memory map
    spectra: np.ndarray | None       # (N, H, W//2 + 1) float32 memory map of target spectra, periodic spatial_stats only
    split: dict[str, np.ndarray]     # "train", "val", "test" indices
    stats_scale: float               # divide statistics by it (1.0 unless normalize_stats)


def prepare_training_data(cfg: TrainConfig, dist: Dist, progress: bool) -> TrainingData:
    """Generate the dataset and its spectra cache if missing (rank 0 only), then open them."""
    folder = Path(cfg.data_dir) / cfg.dataset.name
    need_stats = cfg.loss == "spatial_stats"
    need_spectra = need_stats and cfg.periodic      # non-periodic statistics are computed in the loss
    if dist.is_main:
        folder = ensure_dataset(cfg.dataset, cfg.data_dir, progress=progress)
        if need_spectra:
            spectra_cache(folder, load_dataset(folder)[0], phase=cfg.phase, eps=cfg.eps, progress=progress)
    dist.barrier()
    images, _ = load_dataset(folder)
    spectra, peaks = (spectra_cache(folder, images, phase=cfg.phase, eps=cfg.eps, progress=False)
                      if need_spectra else (None, None))
    if need_stats and not need_spectra:
        peaks = statistic_peaks(images, phase=cfg.phase, eps=cfg.eps)
    split = dataset_split(cfg)
    if len(split["val"]) == 0:
        raise ValueError(f"the validation split is empty (n_images={cfg.n_images}, "
                         f"val_fraction={cfg.val_fraction}); use more images or a larger val_fraction")
    scale = 1.0
    if need_stats and cfg.normalize_stats:
        # an autocorrelation peaks at r = 0 (Cauchy-Schwarz): the largest statistic of the training images
        scale = float(np.max(peaks[split["train"]]))
    return TrainingData(images, spectra, split, scale)


def _loader(data: TrainingData, indices: np.ndarray, cfg: TrainConfig, *, sampler: Any = None,
            drop_last: bool = False, device: torch.device) -> torch.utils.data.DataLoader:
    dataset = LinesDataset(data.images, indices, spectra=data.spectra)
    return torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, shuffle=False,
                                       drop_last=drop_last, num_workers=cfg.num_workers,
                                       persistent_workers=cfg.num_workers > 0, pin_memory=device.type == "cuda")


def training_loaders(data: TrainingData, cfg: TrainConfig, dist: Dist, *, shuffle_seed: int
                     ) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader]:
    """Training loader (shuffled by a DistributedSampler whose order is a function of (seed, epoch)
    alone, through ``shuffle_seed``; full batches only) and this process's share of the validation images."""
    train_idx = data.split["train"]
    sampler = torch.utils.data.DistributedSampler(LinesDataset(data.images, train_idx), num_replicas=dist.world,
                                                  rank=dist.rank, shuffle=True, seed=shuffle_seed)
    if len(sampler) < cfg.batch_size:
        raise ValueError(f"batch_size={cfg.batch_size} exceeds the {len(sampler)} training images per process; "
                         "lower batch_size or use more images")
    train_loader = _loader(data, train_idx, cfg, sampler=sampler, drop_last=True, device=dist.device)
    val_loader = _loader(data, data.split["val"][dist.rank::dist.world], cfg, device=dist.device)
    return train_loader, val_loader


class LinesDataset(torch.utils.data.Dataset):
    """Torch view of (a subset of) a ``uint8`` image array, e.g. the memory map of load_dataset.

    ``images``: (N, H, W) ``uint8`` in {0, 1}.  ``indices``: which of the N images this dataset
    serves (default all), e.g. ``split_indices(N)["train"]``.  ``spectra``: an (N, H, W//2 + 1) array
    of the power spectra of the images' statistics, indexed like ``images`` (:func:`compute_spectra_cache`,
    the targets a periodic training caches).  Item ``i`` is a float32 tensor (1, H, W) with values
    0. (line) / 1., or, with ``spectra``, the tuple ``(image, spectrum)``, the spectrum a float32 tensor
    (1, H, W//2 + 1).
    """

    def __init__(self, images: np.ndarray, indices: np.ndarray | None = None,
                 spectra: np.ndarray | None = None) -> None:
        if not isinstance(images, np.ndarray) or images.ndim != 3:
            raise ValueError(f"images must be a numpy array of shape (N, H, W), got "
                             f"{type(images).__name__} {getattr(images, 'shape', '')}")
        n, h, w = images.shape
        if spectra is not None and tuple(spectra.shape) != (n, h, w // 2 + 1):
            raise ValueError(f"spectra must have shape {(n, h, w // 2 + 1)} (the half spectrum of each image), "
                             f"got {tuple(spectra.shape)}; compute them with compute_spectra_cache(images)")
        indices = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or (indices.size and (indices.min() < 0 or indices.max() >= len(images))):
            raise ValueError(f"indices must be a 1-D array of values in [0, {len(images)}); "
                             "use split_indices(len(images))")
        self.images, self.indices, self.spectra = images, indices, spectra

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        j = self.indices[i]
        image = torch.from_numpy(np.asarray(self.images[j], dtype=np.float32))[None]
        if self.spectra is None:
            return image
        return image, torch.from_numpy(np.array(self.spectra[j], dtype=np.float32))[None]
