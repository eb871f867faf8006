"""Train the VAE with the spatial-statistics loss (the paper) or the data-space loss (vanilla VAE).

Command line (every option of :class:`TrainConfig` is also a ``--key=value`` flag; see --help)::

    python -m utils.train --profile smoke --loss spatial_stats --out runs/smoke/spatial_stats
    python -m utils.train --profile cpu --loss data --epochs=5 --lr=5e-4
    python -m utils.train --profile cpu --loss data --resume          # continue from last.pt
    torchrun --nproc_per_node=2 -m utils.train --profile cpu ...      # DistributedDataParallel: one
                                                                      # GPU per process, else CPU (gloo)

or in Python: ``train(config_for("cpu", "data"), "runs/cpu/data", resume=True)``.

Profiles: ``smoke`` (seconds; tests), ``cpu`` (small conv VAE at 64x64; a laptop evening), ``paper``
(the paper's ResNet-152 VAE at 224x224, 100,000 images, 1500 epochs; a GPU).  Each profile names
its dataset (:class:`utils.data.DatasetSpec`); a missing dataset is generated first.

The run folder
--------------
``config.json`` (the TrainConfig), ``history.csv`` (per epoch: lr, seconds and the train and
validation losses by component, per image), ``last.pt`` (model + optimiser after the last
finished epoch) and ``best.pt`` (lowest validation total), ``samples/epoch_XXXX.png``
(validation reconstructions and their statistics) and, once every epoch is done,
``finished.json``.  Every file is written atomically (temporary file, then ``os.replace``), so a
kill at any moment leaves the previous good version.

Reproducibility
---------------
All randomness of epoch ``e`` -- the shuffle order and the reparameterisation noise -- comes from
generators seeded by (seed, e) alone, and the learning rate is a function of e, so resuming from
the checkpoint of the last finished epoch replays the rest exactly: on a CPU an interrupted and
resumed run ends with bit-identical weights to an uninterrupted one.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from utils.progress import progress_bar

from utils import losses
from utils.data import (DatasetSpec, LinesDataset, compute_spectra_cache, ensure_dataset, load_dataset,
                        split_indices)
from utils.models import ModelConfig, VAE, build_vae

__all__ = ["TrainConfig", "PROFILES", "LOSS_DEFAULTS", "RUNTIME_FIELDS", "TrainingDiverged", "config_for",
           "train", "load_run", "load_checkpoint", "read_config", "read_history", "is_finished", "lr_at",
           "spectra_cache", "write_json", "build_parser", "main", "autocast_dtype", "config_differences"]

COMPONENTS = ("total", "recon", "kl")
AMP_MODES = ("off", "bf16", "auto")
FAIL_EXIT_CODE = 3          # exit status of a run stopped by --fail_at_step
RUN_FILES = ("config.json", "history.csv", "last.pt", "best.pt", "finished.json")
RUN_DIRS = ("samples", "tensorboard")
_SHUFFLE, _NOISE, _VAL_NOISE = 0, 1, 2   # independent random streams of an epoch


def _f(default: Any, help: str) -> Any:
    """A dataclass field whose ``help`` becomes the --help text of its command-line flag."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.  The defaults are the ``cpu`` profile."""

    # --- what is trained
    profile: str = _f("cpu", "profile these settings started from: smoke | cpu | paper")
    loss: str = _f("spatial_stats", "reconstruction loss: spatial_stats (the paper's) or data "
                                    "(the vanilla VAE's summed pixel MSE)")
    # --- the dataset (utils.data.DatasetSpec) and its split
    n_images: int = _f(20000, "images in the dataset, train + validation + test")
    image_size: int = _f(64, "image height = width in pixels, of the dataset and of the model")
    min_lines: int = _f(1, "fewest lines per image")
    max_lines: int = _f(5, "most lines per image (the paper's harder variant: 3..7)")
    data_seed: int = _f(0, "seed of the dataset generator and of the train/val/test split")
    data_dir: str = _f("data", "folder holding the datasets; the profile's dataset is generated there if missing")
    val_fraction: float = _f(0.2, "fraction of the images used for validation (best checkpoint)")
    test_fraction: float = _f(0.1, "fraction of the images held out for evaluation (never trained on)")
    # --- the model (utils.models.ModelConfig)
    encoder: str = _f("conv", "encoder: conv (small, fast on a CPU) or resnet152 (the paper's)")
    latent_dim: int = _f(9, "size of the latent code z (the paper: 9)")
    pretrained: bool = _f(True, "resnet152: start from the ImageNet weights (torch hub cache)")
    base_channels: int = _f(32, "conv: channels of the first conv, doubled at each of the 4 stages")
    hidden_dim: int = _f(1024, "resnet152: width of the encoder head and of the paper's decoder")
    decoder: str = _f("auto", "decoder: auto (paper for resnet152, conv otherwise), conv (mirror of the conv "
                              "encoder) or paper (32x32 transposed convs, bilinear resize, 1x1 conv)")
    # --- the objective (utils.losses.vae_loss)
    alpha: float = _f(1.0, "weight of the reconstruction term")
    beta: float = _f(1.0, "weight of the KL term (the paper: 1)")
    reduction: str = _f("sum", "per image: sum (the paper's) or mean over pixels and latent dimensions")
    normalize_stats: bool = _f(False, "divide the statistics by the training set's largest one (values in [0, 1])")
    phase: float = _f(0.0, "grey level of the phase whose statistics are compared (0 = black lines)")
    eps: float = _f(0.25, "width of the soft phase indicator exp(-(x - phase)^2 / (2 eps^2))")
    sharp_eps: float = _f(0.0, "add a statistics term with this narrower indicator width (0 = off, the "
                                "paper): pushes line pixels below the evaluation's 0.05 threshold")
    # --- optimisation
    epochs: int = _f(20, "number of passes over the training images")
    batch_size: int = _f(32, "images per optimiser step (per process under torchrun)")
    lr: float = _f(1e-3, "Adam learning rate")
    lr_decay_fraction: float = _f(0.1, "the last fraction of the epochs runs at lr * lr_decay_factor")
    lr_decay_factor: float = _f(0.5, "learning-rate factor of the last epochs (the paper halves it)")
    seed: int = _f(127, "seed of the weights, shuffling and sampling (the paper: 127, vanilla 125)")
    amp: str = _f("off", "mixed precision of the model (the losses stay float32): off, bf16 (torch.autocast "
                         "to bfloat16; on a CPU also channels-last weights) or auto (bf16 on a CPU with native "
                         "bfloat16 instructions, AMX or AVX512-BF16, ~1.7-2x faster there; else off)")
    # --- output and runtime (may differ when resuming)
    sample_every: int = _f(2, "write samples/epoch_XXXX.png every this many epochs and at the end (0: never)")
    n_samples: int = _f(6, "validation images shown in each samples figure")
    device: str = _f("auto", "auto (CUDA when available, else CPU), cpu, cuda, cuda:1, ...")
    num_workers: int = _f(0, "DataLoader worker processes (0: load in the main process)")
    num_threads: int = _f(0, "CPU threads of torch during training (0: torch's default); on a busy "
                             "shared CPU 1 is often fastest. Bit-exact resume needs the same value")
    tensorboard: bool = _f(False, "also log to RUN_DIR/tensorboard (needs the tensorboard package)")
    deterministic: bool = _f(True, "torch.use_deterministic_algorithms (warn only) and no cuDNN benchmarking")
    overwrite: bool = _f(False, "delete a run already in the output folder and start afresh")
    fail_at_step: int = _f(0, "TEST ONLY: kill the process (os._exit(3), no clean-up) right after "
                              "optimiser step N of the run, to test --resume; 0 = off")

    def __post_init__(self) -> None:
        if self.loss not in losses.LOSSES:
            raise ValueError(f"loss must be one of {losses.LOSSES}, got {self.loss!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, got {self.amp!r}")
        if self.reduction not in losses.REDUCTIONS:
            raise ValueError(f"reduction must be one of {losses.REDUCTIONS}, got {self.reduction!r}")
        _ = self.dataset, self.model          # validate both (ValueError naming the problem)
        checks = [("epochs", self.epochs >= 1, ">= 1"), ("batch_size", self.batch_size >= 2, ">= 2 (BatchNorm)"),
                  ("lr", self.lr > 0, "> 0"), ("lr_decay_fraction", 0 <= self.lr_decay_fraction <= 1, "in [0, 1]"),
                  ("lr_decay_factor", self.lr_decay_factor > 0, "> 0"),
                  ("val_fraction", 0 < self.val_fraction < 1, "in (0, 1)"),
                  ("test_fraction", 0 <= self.test_fraction < 1, "in [0, 1)"),
                  ("alpha", self.alpha >= 0, ">= 0"), ("beta", self.beta >= 0, ">= 0"),
                  ("eps", self.eps > 0, "> 0"), ("sharp_eps", self.sharp_eps >= 0, ">= 0"),
                  ("sample_every", self.sample_every >= 0, ">= 0"),
                  ("n_samples", self.n_samples >= 1, ">= 1"), ("num_workers", self.num_workers >= 0, ">= 0"),
                  ("num_threads", self.num_threads >= 0, ">= 0"), ("fail_at_step", self.fail_at_step >= 0, ">= 0")]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")

    @property
    def dataset(self) -> DatasetSpec:
        """The dataset this run trains on (its folder is ``data_dir / dataset.name``)."""
        return DatasetSpec(n_images=self.n_images, size=self.image_size, min_lines=self.min_lines,
                           max_lines=self.max_lines, seed=self.data_seed)

    @property
    def model(self) -> ModelConfig:
        """The architecture of this run's VAE."""
        return ModelConfig(encoder=self.encoder, latent_dim=self.latent_dim, image_size=self.image_size,
                           pretrained=self.pretrained, base_channels=self.base_channels,
                           hidden_dim=self.hidden_dim, decoder=self.decoder)

    def split(self) -> dict[str, np.ndarray]:
        """The train / val / test indices into the dataset (evaluation uses "test")."""
        return split_indices(self.n_images, val_fraction=self.val_fraction,
                             test_fraction=self.test_fraction, seed=self.data_seed)


# Fields that may change when a run is resumed: they do not change the weights it ends with.
RUNTIME_FIELDS = frozenset({"data_dir", "sample_every", "n_samples", "device", "num_workers", "num_threads",
                            "tensorboard", "deterministic", "overwrite", "fail_at_step"})

PROFILES: dict[str, TrainConfig] = {
    # seconds on a CPU: for tests and for trying the code
    "smoke": TrainConfig(profile="smoke", n_images=256, image_size=32, base_channels=16, epochs=2,
                         seed=0, sample_every=2, n_samples=4, num_threads=1),
    # the small conv VAE at 64x64 (what `make figures` trains): on 2 CPU cores with native bfloat16
    # (amp=auto) ~21 s per epoch, ~10 min for the vanilla VAE's 30 epochs and ~16 min for our 45
    # (LOSS_DEFAULTS); ~35 s per epoch in float32 on a CPU without it
    "cpu": TrainConfig(profile="cpu", n_images=20000, image_size=64, epochs=30, amp="auto"),
    # the paper's configuration (appendix A and its code): a GPU job
    "paper": TrainConfig(profile="paper", n_images=100_000, image_size=224, encoder="resnet152",
                         pretrained=True, epochs=1500, seed=127, sample_every=50, num_workers=4),
}

# Loss-specific defaults of a profile: the paper trained its vanilla VAE for 400 epochs, seed 125.
# On the cpu profile the paper's raw summed statistics loss (values ~0.07, summed over 64x64 offsets)
# is too weak beside the KL term and the VAE collapses to a grey image; normalising the statistics
# by the dataset's largest value and weighting the term by alpha = 10 keeps it informative.  With
# eps = 0.25 alone the lines stay grey (0.1-0.3) and vanish under the evaluation's 0.05 threshold
# (23 / 100 line counts right after 20 epochs); the sharp term (eps = 0.1) darkens them.  With
# beta = 1 the code keeps ~9 nats and 2-5 lines blur into one line plus debris; beta = 0.1 keeps ~27
# (line counts 42 % -> 52 % on 500 test images after 20 epochs).  Like the paper (1500 vs 400 epochs)
# the statistics VAE trains longer than the vanilla one: 45 epochs instead of 30 bring its statistics
# MSE from 2.69e-5 to 2.52e-5 and its volume-fraction difference from 9.1 % to 6.2 % (500 test images;
# line counts stay at 54 %); both models then train in ~26 min on a quiet 2-core CPU (30 when it is
# busy).  The vanilla VAE keeps alpha = beta = 1.
LOSS_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("paper", "data"): {"epochs": 400, "seed": 125},
    ("cpu", "spatial_stats"): {"normalize_stats": True, "alpha": 10.0, "beta": 0.1, "sharp_eps": 0.1,
                               "epochs": 45},
}


def config_for(profile: str, loss: str = "spatial_stats", **overrides: Any) -> TrainConfig:
    """The TrainConfig of ``profile`` for ``loss``, with its loss-specific defaults and ``overrides``."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown TrainConfig fields {unknown}; valid names: {sorted(names)}")
    cfg = replace(PROFILES[profile], loss=loss, **LOSS_DEFAULTS.get((profile, loss), {}))
    return replace(cfg, **overrides)


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: ``lr``, times ``lr_decay_factor`` in the last fraction of epochs."""
    n_decayed = math.floor(cfg.epochs * cfg.lr_decay_fraction + 0.5)
    return cfg.lr * cfg.lr_decay_factor if epoch >= cfg.epochs - n_decayed else cfg.lr


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint was left untouched."""


# ----------------------------------------------------------------------------- files

def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _write_text(path: Path, text: str) -> None:
    tmp = _tmp_path(path)
    try:
        tmp.write_text(text)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically; parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_text(path, json.dumps(obj, indent=2, default=float) + "\n")
    return path


def _save_checkpoint(obj: dict[str, Any], path: Path) -> None:
    tmp = _tmp_path(path)
    try:
        torch.save(obj, tmp)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _first_line(err: BaseException) -> str:
    """``Type: first informative line`` of an exception (skips headers such as "Error(s) in ...:")."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    while len(lines) > 1 and lines[0].endswith(":"):
        lines.pop(0)
    text = lines[0] if lines else ""
    return f"{type(err).__name__}: {text[:300]}"


def load_checkpoint(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`train` (a dict with "model", "epoch", "config", ...).

    Raises FileNotFoundError when it is missing and ValueError (naming the file and what to do)
    when it is corrupt, truncated or not a checkpoint of this project.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first "
                                f"(python -m utils.train ... --out {path.parent}) or check the run folder")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # zip / unpickling / EOF errors all mean "unreadable"
        raise ValueError(f"checkpoint {path} is corrupt or truncated and cannot be read "
                         f"({_first_line(err)}); delete it and resume from the other checkpoint of the "
                         f"run, or retrain (--overwrite=true)") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "epoch" not in ckpt:
        raise ValueError(f"{path} is not a checkpoint written by utils.train (expected a dict with 'model' "
                         f"and 'epoch'); point at a run folder's last.pt or best.pt")
    return ckpt


def _load_state(target: nn.Module | torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
    """``target.load_state_dict(state)`` with a clear ValueError when they do not match."""
    try:
        target.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as err:
        what = "model" if isinstance(target, nn.Module) else "optimiser"
        raise ValueError(f"checkpoint {path} does not match the {what} built from the config "
                         f"({_first_line(err)}); load it with the config.json of the run it came from "
                         f"(utils.train.load_run(run_dir)), or retrain in a new folder") from None


def read_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The TrainConfig stored in ``run_dir/config.json`` (fields missing there take their defaults)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} is not a training run folder; "
                                "train one with python -m utils.train --out RUN_DIR")
    stored = json.loads(path.read_text())
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in stored.items() if k in names})


def read_history(run_dir: str | os.PathLike) -> pd.DataFrame:
    """``run_dir/history.csv``: one row per finished epoch (epoch, lr, seconds, train_*, val_*)."""
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; no epoch of this run has finished yet")
    return pd.read_csv(path)


def is_finished(run_dir: str | os.PathLike) -> bool:
    """True when every epoch of the run in ``run_dir`` is done (``finished.json`` exists)."""
    return (Path(run_dir) / "finished.json").is_file()


def load_run(run_dir: str | os.PathLike, *, which: str = "best",
             device: str | torch.device = "cpu") -> tuple[VAE, TrainConfig]:
    """The trained model of a run (in eval mode, on ``device``) and its TrainConfig.

    ``which``: "best" (lowest validation loss) or "last" (after the last finished epoch).  No
    pretrained weights are downloaded: the checkpoint holds every weight.
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    cfg = read_config(run_dir)
    path = Path(run_dir) / f"{which}.pt"
    ckpt = load_checkpoint(path, device=device)
    model = build_vae(replace(cfg.model, pretrained=False))
    _load_state(model, ckpt["model"], path)
    return model.to(device).eval(), cfg


# ----------------------------------------------------------------------------- data

def spectra_cache(folder: str | os.PathLike, images: np.ndarray, *, phase: float = 0.0, eps: float = 0.25,
                  progress: bool = True, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Power spectra of the statistics of every image of a dataset, cached next to it.

    Returns ``(spectra, peaks)``: ``spectra``, a read-only memory map float32 (n, H, W//2 + 1), item
    k = ``utils.stats.power_spectrum(images[k], phase=phase, eps=eps)`` (what the loss's fast path
    takes, :func:`utils.data.compute_spectra_cache`), and ``peaks``, float64 (n,), image k's
    largest statistic f_k(0) (what ``normalize_stats`` needs).  Files: ``spectra_phase<p>_eps<e>.npy``
    and ``spectra_phase<p>_eps<e>.json`` (phase, eps, image shape and the peaks).  Computed once
    (in chunks) and reused afterwards.  Each file is written atomically and the json last, after
    removing any old one first, so an array without its matching json is never used: it is
    recomputed.  (Replaces the real-space ``stats_phase<p>_eps<e>.npy`` cache, about twice as large.)
    """
    stem = f"spectra_phase{phase:g}_eps{eps:g}"
    path, meta_path = Path(folder) / f"{stem}.npy", Path(folder) / f"{stem}.json"
    cached = _read_spectra_cache(path, meta_path, images.shape, phase, eps)
    if cached is not None:
        return cached
    n, h, w = images.shape
    meta_path.unlink(missing_ok=True)              # the json vouches for the array: drop it first
    peaks = np.empty(n, dtype=np.float64)
    tmp = _tmp_path(path)
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, h, w // 2 + 1))
        starts = range(0, n, chunk)
        for a in progress_bar(starts, desc="power spectra of the dataset", disable=not progress, unit="chunk"):
            out[a:a + chunk], peaks[a:a + chunk] = compute_spectra_cache(images[a:a + chunk], phase=phase,
                                                                         eps=eps, progress=False)
        out.flush()
        del out
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(meta_path, {"format": 1, "phase": phase, "eps": eps, "image_shape": [n, h, w],
                           "what": f"{path.name}: power_spectrum(image) float32 (n, H, W//2+1); "
                                   "peaks: f(0) = mean(m^2), each image's largest statistic",
                           "largest_statistic": float(peaks.max()), "peaks": peaks.tolist()})
    return np.load(path, mmap_mode="r"), peaks


def _read_spectra_cache(path: Path, meta_path: Path, image_shape: tuple[int, ...], phase: float,
                        eps: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (spectra, peaks) when both files exist and match the images, phase and eps; else None."""
    if not (path.is_file() and meta_path.is_file()):
        return None
    n, h, w = image_shape
    try:
        meta = json.loads(meta_path.read_text())
        peaks = np.asarray(meta["peaks"], dtype=np.float64)
        spectra = np.load(path, mmap_mode="r")
        if (meta.get("format") == 1 and meta["phase"] == phase and meta["eps"] == eps
                and tuple(meta["image_shape"]) == (n, h, w) and peaks.shape == (n,)
                and spectra.shape == (n, h, w // 2 + 1) and spectra.dtype == np.float32):
            return spectra, peaks
    except (ValueError, OSError, KeyError, TypeError):
        pass                                       # unreadable or stale: recompute
    return None


@dataclass
class _Data:
    images: np.ndarray               # (N, H, W) uint8, memory map
    spectra: np.ndarray | None       # (N, H, W//2 + 1) float32 memory map of target spectra, spatial_stats loss only
    split: dict[str, np.ndarray]     # "train", "val", "test" indices
    stats_scale: float               # divide statistics by it (1.0 unless normalize_stats)


def _prepare_data(cfg: TrainConfig, dist: "_Dist", progress: bool) -> _Data:
    """Generate the dataset and its spectra cache if missing (rank 0 only), then open them."""
    folder = Path(cfg.data_dir) / cfg.dataset.name
    need_stats = cfg.loss == "spatial_stats"
    if dist.is_main:
        folder = ensure_dataset(cfg.dataset, cfg.data_dir, progress=progress)
        if need_stats:
            spectra_cache(folder, load_dataset(folder)[0], phase=cfg.phase, eps=cfg.eps, progress=progress)
    dist.barrier()
    images, _ = load_dataset(folder)
    spectra, peaks = (spectra_cache(folder, images, phase=cfg.phase, eps=cfg.eps, progress=False)
                      if need_stats else (None, None))
    split = cfg.split()
    if len(split["val"]) == 0:
        raise ValueError(f"the validation split is empty (n_images={cfg.n_images}, "
                         f"val_fraction={cfg.val_fraction}); use more images or a larger val_fraction")
    scale = 1.0
    if need_stats and cfg.normalize_stats:
        # an autocorrelation peaks at r = 0 (Cauchy-Schwarz): the largest statistic of the training images
        scale = float(np.max(peaks[split["train"]]))
    return _Data(images, spectra, split, scale)


def _loader(data: _Data, indices: np.ndarray, cfg: TrainConfig, *, sampler: Any = None,
            drop_last: bool = False, device: torch.device) -> torch.utils.data.DataLoader:
    dataset = LinesDataset(data.images, indices, spectra=data.spectra)
    return torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, shuffle=False,
                                       drop_last=drop_last, num_workers=cfg.num_workers,
                                       persistent_workers=cfg.num_workers > 0, pin_memory=device.type == "cuda")


def _loaders(data: _Data, cfg: TrainConfig, dist: "_Dist"
             ) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader]:
    """Training loader (shuffled by a DistributedSampler whose order is a function of (seed, epoch)
    alone, full batches only) and this process's share of the validation images."""
    train_idx = data.split["train"]
    sampler = torch.utils.data.DistributedSampler(LinesDataset(data.images, train_idx), num_replicas=dist.world,
                                                  rank=dist.rank, shuffle=True, seed=_seed(cfg.seed, _SHUFFLE))
    if len(sampler) < cfg.batch_size:
        raise ValueError(f"batch_size={cfg.batch_size} exceeds the {len(sampler)} training images per process; "
                         "lower batch_size or use more images")
    train_loader = _loader(data, train_idx, cfg, sampler=sampler, drop_last=True, device=dist.device)
    val_loader = _loader(data, data.split["val"][dist.rank::dist.world], cfg, device=dist.device)
    return train_loader, val_loader


# ----------------------------------------------------------------------------- distributed

@dataclass
class _Dist:
    """Process-group facts: world size 1 unless launched by torchrun (WORLD_SIZE > 1)."""

    world: int
    rank: int
    device: torch.device
    owns_group: bool = False

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str) -> "_Dist":
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(1, 0, _resolve_device(device))
        import torch.distributed as td

        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        dev = _resolve_device(device)
        if dev.type == "cuda":                        # one GPU per process, chosen by torchrun
            n_gpus = torch.cuda.device_count()
            if local_rank >= n_gpus:
                raise ValueError(f"torchrun started process {local_rank} on this node but it has only "
                                 f"{n_gpus} CUDA device(s): use --nproc_per_node at most {n_gpus}, "
                                 f"or train on the CPU with --device=cpu")
            dev = torch.device("cuda", local_rank)
            torch.cuda.set_device(dev)
        owns = not td.is_initialized()
        if owns:
            td.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        return cls(world, rank, dev, owns)

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as td
            td.barrier()

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        if self.active:
            import torch.distributed as td
            td.all_reduce(t, op=td.ReduceOp.SUM)
        return t

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as td
            td.destroy_process_group()


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use --device=cpu or --device=auto")
    return dev


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The dtype ``amp`` runs the model in on ``device`` (None: float32, no autocast).

    ``"auto"`` means bfloat16 only on a CPU with native bfloat16 matrix instructions (AMX or
    AVX512-BF16), where oneDNN runs the convolutions ~1.7-2x faster; elsewhere bfloat16 would be
    emulated (slower), so float32.
    """
    if amp == "off":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "auto":
        native = device.type == "cpu" and (torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
        return torch.bfloat16 if native else None
    raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")


# ----------------------------------------------------------------------------- one epoch

def _seed(*keys: int) -> int:
    """A 32-bit seed that is a pure function of the integer ``keys`` (e.g. seed, epoch, stream)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])


def _generator(device: torch.device, *keys: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(_seed(*keys))


@dataclass
class _Loop:
    """What one epoch needs besides the config."""

    cfg: TrainConfig
    model: nn.Module                 # possibly wrapped in DistributedDataParallel
    net: VAE                         # the bare model
    optimizer: torch.optim.Optimizer
    data: _Data
    dist: _Dist
    progress: bool
    autocast: torch.dtype | None = None   # dtype of the model's forward (autocast_dtype), None = float32
    step: int = 0                    # optimiser steps done in the whole run
    step_at_epoch_start: int = 0     # value of step when the current epoch began


SYNC_EVERY = 25   # training steps between host synchronisations (NaN check, progress-bar loss)


def _batch_row(loop: _Loop, model: nn.Module, batch: Any, noise: torch.Generator
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Forward one batch without synchronising with the device.

    Returns ``row`` = [total * n, recon * n, kl * n, n, outputs finite (1/0)] (float64, on the
    device) and the loss dict.  Non-finite model outputs make the loss values NaN (the
    statistics would refuse them) so that the next check reports them.
    """
    cfg, device = loop.cfg, loop.dist.device
    x, target = (batch[0], batch[1]) if isinstance(batch, (list, tuple)) else (batch, None)
    x = x.to(device, non_blocking=True)
    target = None if target is None else target.to(device, non_blocking=True)
    with torch.autocast(device.type, dtype=loop.autocast or torch.float32, enabled=loop.autocast is not None):
        recon, mu, logvar = model(x, generator=noise)
    recon, mu, logvar = recon.float(), mu.float(), logvar.float()    # the losses run in float32
    finite = torch.isfinite(recon).all() & torch.isfinite(mu).all() & torch.isfinite(logvar).all()
    parts = losses.vae_loss(recon.nan_to_num(nan=0.5, posinf=1.0, neginf=0.0), x, mu, logvar, loss=cfg.loss,
                            target_spectrum=target, sharp_eps=cfg.sharp_eps, alpha=cfg.alpha, beta=cfg.beta,
                            reduction=cfg.reduction,
                            stats_scale=loop.data.stats_scale, phase=cfg.phase, eps=cfg.eps)
    values = torch.stack([parts[k].detach() for k in COMPONENTS]).double() * x.shape[0]
    values = torch.where(finite, values, torch.full_like(values, math.nan))
    return torch.cat([values, values.new_tensor([x.shape[0]]), finite.double()[None]]), parts


def _check_rows(loop: _Loop, rows: torch.Tensor, epoch: int, first_step: int | None, run_dir: Path) -> None:
    """Raise TrainingDiverged if any row of ``rows`` (see _batch_row) is not finite, on any process.

    ``first_step``: run step of ``rows[0]`` (training), or None (validation).  Synchronises.
    """
    bad = ~torch.isfinite(rows[:, :3]).all(dim=1) | (rows[:, 4] == 0)
    flag = loop.dist.sum(bad.any().to(torch.float64)[None])
    if flag.item() == 0:
        return
    cfg = loop.cfg
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        row = rows[i].tolist()
        if row[4] == 0:
            what = "the model produced NaN/inf outputs (recon, mu or logvar): an update blew up the weights"
        else:
            what = "the loss is not finite: " + ", ".join(
                f"{k} = {v / row[3]}" for k, v in zip(COMPONENTS, row[:3]) if not math.isfinite(v))
        where = (f"step {first_step + i} of the run (batch {first_step + i - loop.step_at_epoch_start} of "
                 f"the epoch)" if first_step is not None else f"validation batch {i + 1}")
    else:
        what, where = "another process reported a non-finite loss", f"near step {loop.step}"
    last = run_dir / "last.pt"
    kept = f"the last good checkpoint {last} was left untouched" if last.exists() else "no checkpoint was written"
    raise TrainingDiverged(
        f"training diverged at epoch {epoch + 1}/{cfg.epochs}, {where}: {what}. Stopped; {kept}. "
        f"Lower the learning rate (now {lr_at(cfg, epoch):g}, try --lr={cfg.lr / 10:g}) and start a fresh "
        f"run (another --out, or --overwrite=true)")


def _train_epoch(loop: _Loop, loader: torch.utils.data.DataLoader, epoch: int, run_dir: Path) -> dict[str, float]:
    """One pass over the training images; returns the mean per-image loss components.

    Loss values stay on the device; every SYNC_EVERY steps and at the end of the epoch they are
    checked for NaN/inf (naming the first bad step) and shown in the progress bar.
    """
    cfg, dist = loop.cfg, loop.dist
    loop.model.train()
    loader.sampler.set_epoch(epoch)
    noise = _generator(dist.device, cfg.seed, epoch, _NOISE, dist.rank)
    rows = torch.zeros(len(loader), 5, dtype=torch.float64, device=dist.device)
    loop.step_at_epoch_start = loop.step
    checked = 0
    bar = progress_bar(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, unit="batch",
               disable=not (loop.progress and dist.is_main))
    for i, batch in enumerate(bar):
        rows[i], parts = _batch_row(loop, loop.model, batch, noise)
        loop.optimizer.zero_grad(set_to_none=True)
        parts["total"].backward()
        loop.optimizer.step()
        loop.step += 1
        if (i + 1) % SYNC_EVERY == 0 or i + 1 == len(loader):
            _check_rows(loop, rows[checked:i + 1], epoch, loop.step_at_epoch_start + checked + 1, run_dir)
            checked = i + 1
            bar.set_postfix(loss=f"{(rows[:checked, 0].sum() / rows[:checked, 3].sum()).item():.4g}", refresh=False)
        if loop.step == cfg.fail_at_step:
            os._exit(FAIL_EXIT_CODE)     # test hook: die like a killed process, nothing flushed
    sums = dist.sum(rows[:, :4].sum(dim=0))
    return {k: float(v) for k, v in zip(COMPONENTS, (sums[:3] / sums[3]).tolist())}


@torch.no_grad()
def _validate(loop: _Loop, loader: torch.utils.data.DataLoader, epoch: int, run_dir: Path) -> dict[str, float]:
    """Mean per-image loss components on the validation images (eval mode, seeded z samples)."""
    cfg, dist = loop.cfg, loop.dist
    loop.net.eval()
    noise = _generator(dist.device, cfg.seed, epoch, _VAL_NOISE, dist.rank)
    rows = [_batch_row(loop, loop.net, batch, noise)[0] for batch in loader]
    rows = torch.stack(rows) if rows else torch.zeros(0, 5, dtype=torch.float64, device=dist.device)
    _check_rows(loop, rows, epoch, None, run_dir)
    sums = dist.sum(rows[:, :4].sum(dim=0))
    return dict(zip(COMPONENTS, (sums[:3] / sums[3]).tolist()))


def _write_samples(loop: _Loop, run_dir: Path, epoch: int) -> None:
    """samples/epoch_XXXX.png: the first validation images, their reconstructions (z = mu) and statistics."""
    from utils import plots

    cfg = loop.cfg
    idx = loop.data.split["val"][:cfg.n_samples]
    x = torch.from_numpy(np.asarray(loop.data.images[idx], dtype=np.float32))[:, None]
    loop.net.eval()
    with torch.no_grad():
        recon = loop.net.reconstruct(x.to(loop.dist.device)).cpu()
    fig = plots.reconstruction_grid(x, recon, phase=cfg.phase, eps=cfg.eps,
                                    suptitle=f"{cfg.loss} VAE, epoch {epoch + 1}: validation images, "
                                             "reconstructions (z = mu) and their autocorrelations")
    plots.save_figure(fig, run_dir / "samples" / f"epoch_{epoch + 1:04d}.png", dpi=80)


# ----------------------------------------------------------------------------- the run folder

def config_differences(run_dir: str | os.PathLike, cfg: TrainConfig) -> list[str]:
    """What the run in ``run_dir`` was trained with that ``cfg`` would change, one "field: run has
    ..., asked for ..." line per field (:data:`RUNTIME_FIELDS` ignored); [] when they agree or when
    the folder holds no ``config.json``.  A run that differs cannot be resumed or reused as ``cfg``."""
    config_path = Path(run_dir) / "config.json"
    if not config_path.is_file():
        return []
    stored = json.loads(config_path.read_text())
    diffs = []
    for f in fields(TrainConfig):
        if f.name in RUNTIME_FIELDS:
            continue
        old = stored.get(f.name, f.default)
        new = getattr(cfg, f.name)
        if old != new:
            diffs.append(f"{f.name}: run has {old!r}, asked for {new!r}")
    return diffs


def _inspect_run_dir(run_dir: Path, cfg: TrainConfig, resume: bool) -> str:
    """What to do with ``run_dir``: "fresh", "resume", "done" or "overwrite"; raises on conflicts."""
    has_run = any((run_dir / name).exists() for name in RUN_FILES)
    if not has_run:
        return "fresh"
    if not resume:
        if cfg.overwrite:
            return "overwrite"
        state = "a finished run" if is_finished(run_dir) else "an unfinished run"
        raise FileExistsError(f"{run_dir} already holds {state}; continue it with --resume (resume=True), "
                              f"choose another --out folder, or delete it with --overwrite=true")
    diffs = config_differences(run_dir, cfg)
    if diffs:
        raise ValueError(f"cannot resume {run_dir} with a different configuration ("
                         + "; ".join(diffs) + "); use the same settings, another --out folder, "
                         "or --overwrite=true without --resume")
    if is_finished(run_dir):
        return "done"
    return "resume" if (run_dir / "last.pt").is_file() else "fresh"


def _clear_run_dir(run_dir: Path) -> None:
    """Delete the files of a run (only those train() writes) so that a fresh run can start."""
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for name in RUN_DIRS:
        shutil.rmtree(run_dir / name, ignore_errors=True)


def _checkpoint(loop: _Loop, epoch: int, history: list[dict[str, Any]], best: tuple[float, int],
                with_optimizer: bool) -> dict[str, Any]:
    ckpt = {"format": 1, "epoch": epoch + 1, "step": loop.step, "model": loop.net.state_dict(),
            "config": asdict(loop.cfg), "history": history, "best_val": best[0], "best_epoch": best[1],
            "stats_scale": loop.data.stats_scale}
    if with_optimizer:
        ckpt["optimizer"] = loop.optimizer.state_dict()
    return ckpt


def _tensorboard(run_dir: Path | None) -> Any:
    """A SummaryWriter logging to ``run_dir/tensorboard`` (None: only check that tensorboard is installed)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ValueError("tensorboard=true but the tensorboard package is not installed; "
                         "pip install tensorboard, or leave --tensorboard off (history.csv has every number)") from None
    return None if run_dir is None else SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def _build(cfg: TrainConfig, ckpt: dict[str, Any] | None, ckpt_path: Path, dist: _Dist,
           autocast: torch.dtype | None = None) -> tuple[VAE, nn.Module, torch.optim.Optimizer]:
    """The bare model, the model to train (DDP-wrapped under torchrun) and Adam; restored from ``ckpt``.

    ``autocast``: the dtype the forward pass will run in (:func:`autocast_dtype`); bfloat16 on a
    CPU also puts the weights in channels-last memory.
    """
    with torch.random.fork_rng(devices=[]):           # seeded weights without touching the global RNG
        torch.manual_seed(cfg.seed)
        net = build_vae(replace(cfg.model, pretrained=cfg.pretrained and ckpt is None))
    if ckpt is not None:
        _load_state(net, ckpt["model"], ckpt_path)
    net.to(dist.device)
    if dist.device.type == "cpu" and autocast is not None:
        net.to(memory_format=torch.channels_last)      # oneDNN's fast bfloat16 layout (~15 % more)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.lr)
    if ckpt is not None:
        if "optimizer" not in ckpt:
            raise ValueError(f"{ckpt_path} holds no optimiser state, so it cannot be resumed; "
                             "retrain with --overwrite=true")
        _load_state(optimizer, ckpt["optimizer"], ckpt_path)
    model: nn.Module = net
    if dist.active:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[dist.device.index]
                                                    if dist.device.type == "cuda" else None)
    return net, model, optimizer


def _save_epoch(loop: _Loop, run_dir: Path, epoch: int, history: list[dict[str, Any]],
                best: tuple[float, int], tb: Any) -> tuple[float, int]:
    """Rank 0 after each epoch: best.pt (if better), last.pt, history.csv, samples, tensorboard."""
    cfg, row = loop.cfg, history[-1]
    if row["val_total"] < best[0]:
        best = (row["val_total"], epoch + 1)
        _save_checkpoint(_checkpoint(loop, epoch, history, best, with_optimizer=False), run_dir / "best.pt")
    _save_checkpoint(_checkpoint(loop, epoch, history, best, with_optimizer=True), run_dir / "last.pt")
    _write_text(run_dir / "history.csv", pd.DataFrame(history).to_csv(index=False))
    if cfg.sample_every and ((epoch + 1) % cfg.sample_every == 0 or epoch + 1 == cfg.epochs):
        _write_samples(loop, run_dir, epoch)
    if tb is not None:
        for key, value in row.items():
            if key != "epoch":
                tb.add_scalar(key.replace("_", "/", 1), value, epoch + 1)
    return best


# ----------------------------------------------------------------------------- train

def train(cfg: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False, progress: bool = True) -> Path:
    """Train (or continue, or just find finished) the run of ``cfg`` in ``out_dir``; return the folder.

    ``resume=True`` continues from ``last.pt`` when there is one (starting afresh otherwise) and
    returns at once when the run is finished; the stored config must match ``cfg`` except for
    :data:`RUNTIME_FIELDS`.  ``resume=False`` refuses a folder that holds a run unless
    ``cfg.overwrite``.  Raises TrainingDiverged on a NaN/inf loss.  Under ``torchrun`` (WORLD_SIZE > 1)
    every process calls this; only rank 0 writes files and shows progress.
    """
    run_dir = Path(out_dir)
    dist = _Dist.from_env(cfg.device)
    saved_flags = (torch.are_deterministic_algorithms_enabled(),
                   torch.is_deterministic_algorithms_warn_only_enabled(), torch.backends.cudnn.benchmark)
    saved_threads = torch.get_num_threads()
    try:
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        if cfg.deterministic:
            if dist.device.type == "cuda":
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        return _train(cfg, run_dir, resume, progress, dist)
    finally:
        torch.use_deterministic_algorithms(saved_flags[0], warn_only=saved_flags[1])
        torch.backends.cudnn.benchmark = saved_flags[2]
        torch.set_num_threads(saved_threads)
        dist.close()


def _train(cfg: TrainConfig, run_dir: Path, resume: bool, progress: bool, dist: _Dist) -> Path:
    action = _inspect_run_dir(run_dir, cfg, resume)
    dist.barrier()                       # every rank has looked before rank 0 changes anything
    if action == "done":
        if dist.is_main:
            print(f"{run_dir} holds a finished run ({cfg.epochs} epochs); nothing to train.")
        return run_dir
    if dist.is_main:
        if action == "overwrite":
            _clear_run_dir(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
    if cfg.tensorboard and dist.is_main:
        _tensorboard(None)                              # fail early when the package is missing
    data = _prepare_data(cfg, dist, progress)

    ckpt = load_checkpoint(run_dir / "last.pt", device="cpu") if action == "resume" else None
    autocast = autocast_dtype(cfg.amp, dist.device)
    net, model, optimizer = _build(cfg, ckpt, run_dir / "last.pt", dist, autocast)
    loop = _Loop(cfg, model, net, optimizer, data, dist, progress, autocast=autocast,
                 step=ckpt["step"] if ckpt else 0)

    history: list[dict[str, Any]] = list(ckpt["history"]) if ckpt else []
    best = (float(ckpt["best_val"]), int(ckpt["best_epoch"])) if ckpt else (math.inf, 0)
    start = int(ckpt["epoch"]) if ckpt else 0
    if dist.is_main:
        if ckpt is None:
            write_json(run_dir / "config.json", asdict(cfg))
        else:
            print(f"resuming {run_dir} after epoch {start}/{cfg.epochs}")

    train_loader, val_loader = _loaders(data, cfg, dist)

    t_run = time.perf_counter()
    tb = _tensorboard(run_dir) if cfg.tensorboard and dist.is_main else None
    epochs = progress_bar(range(start, cfg.epochs), initial=start, total=cfg.epochs, unit="epoch",
                  desc=f"training {cfg.loss} VAE", disable=not (progress and dist.is_main))
    try:
        for epoch in epochs:
            t0 = time.perf_counter()
            lr = lr_at(cfg, epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            train_means = _train_epoch(loop, train_loader, epoch, run_dir)
            val_means = _validate(loop, val_loader, epoch, run_dir)
            history.append({"epoch": epoch + 1, "lr": lr, "seconds": round(time.perf_counter() - t0, 3),
                            **{f"train_{k}": v for k, v in train_means.items()},
                            **{f"val_{k}": v for k, v in val_means.items()}})
            epochs.set_postfix(train=f"{train_means['total']:.4g}", val=f"{val_means['total']:.4g}")
            if dist.is_main:
                best = _save_epoch(loop, run_dir, epoch, history, best, tb)
            dist.barrier()
    finally:
        epochs.close()
        if tb is not None:
            tb.close()
    if dist.is_main:
        _write_text(run_dir / "history.csv", pd.DataFrame(history).to_csv(index=False))  # also after a late kill
        write_json(run_dir / "finished.json", {
            "epochs": cfg.epochs, "steps": loop.step, "best_epoch": best[1], "best_val_total": best[0],
            "final": history[-1] if history else None, "stats_scale": data.stats_scale,
            "model_dtype": str(loop.autocast or torch.float32).removeprefix("torch."),   # what amp resolved to
            "seconds_this_session": round(time.perf_counter() - t_run, 3)})
    dist.barrier()
    return run_dir


# ----------------------------------------------------------------------------- command line

def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _field_default_text(name: str) -> str:
    values = {}
    for profile in PROFILES:
        for loss in losses.LOSSES:
            values[f"{profile}/{loss}" if LOSS_DEFAULTS.get((profile, loss), {}).get(name) is not None
                   else profile] = getattr(config_for(profile, loss), name)
    if len(set(map(repr, values.values()))) == 1:
        return f"default {next(iter(values.values()))}"
    return "default " + ", ".join(f"{k}: {v}" for k, v in values.items())


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``python -m utils.train``; one ``--name`` flag per TrainConfig field."""
    parser = argparse.ArgumentParser(prog="python -m utils.train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cpu",
                        help="named set of defaults (smoke: seconds, cpu: conv VAE at 64x64, paper: ResNet-152 "
                             "at 224x224; default cpu)")
    parser.add_argument("--loss", choices=losses.LOSSES, default="spatial_stats",
                        help="spatial_stats: the paper's loss (default); data: the vanilla VAE's summed pixel MSE")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<profile>/<loss>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from last.pt (or say it is finished)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    group = parser.add_argument_group("TrainConfig fields (override the profile's values)")
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name in ("profile", "loss"):
            continue
        kind = hints[f.name]
        convert = _parse_bool if kind is bool else kind
        names = [f"--{f.name}"] + ([f"--{f.name.replace('_', '-')}"] if "_" in f.name else [])
        group.add_argument(*names, dest=f.name, type=convert, default=None,
                           metavar="true|false" if kind is bool else kind.__name__.upper(),
                           help=f"{f.metadata['help']} ({_field_default_text(f.name)})".replace("%", "%%"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 error, 2 diverged)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
                 if f.name not in ("profile", "loss") and getattr(args, f.name) is not None}
    try:
        cfg = config_for(args.profile, args.loss, **overrides)
        out = Path(args.out) if args.out else Path("runs") / args.profile / args.loss
        train(cfg, out, resume=args.resume, progress=not args.quiet)
    except TrainingDiverged as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileExistsError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"run folder: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
