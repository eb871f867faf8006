"""A VAE whose decoder draws statistics, not pixels: z sets the texture, a random field sets where.

The statistics loss never sees where a structure is, yet an image decoder must put every pixel
somewhere: on micrograph crops ours drew blobs with a regular grid of dots (notebook 07).  Here the
decoder's output is the crop's statistics themselves, the window |r_y|, |r_x| <= ``cutoff`` of the
non-periodic two-point function f of phase 0 (r = 0 in the middle, r_y down, r_x right), and the
loss is the paper's, Σ_r (f_decoded(r) - f_crop(r))² + beta KL, plus the same distance of the normalised
autocovariances rho = (f - phi²) / (phi (1 - phi)) (weight ``autocovariance_weight``), so that a crop counts
whatever its phase fraction.  An image is drawn from decoded
statistics by reconstruction from statistics (:func:`utils.inversion.reconstruct_from_statistics`),
which starts from a thresholded Gaussian random field: its seed places the structures (fixed at
evaluation, fresh when sampling), z decides what they are.

* encoder: the conv encoder of the image VAEs (``utils.models.ConvEncoder``), crop -> (mu, logvar);
* decoder: Linear-ReLU-Linear-ReLU-Linear to the (2c + 1)² offsets, a sigmoid (f lies in [0, 1]).

>>> cfg = StatisticsVAEConfig(image_size=16, cutoff=3, base_channels=4, hidden=8)
>>> model = build_statistics_vae(cfg)
>>> model.decode(torch.zeros(2, cfg.latent_dim)).shape
torch.Size([2, 7, 7])
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from utils.checks import image_batch
from utils.files import atomic_path, write_json
from utils.inversion import Inversion, Windows, reconstruct_from_statistics
from utils.objective import Objective
from utils.models import ConvEncoder
from utils.statmaps import cutoff_window
from utils.runs import StaleRuns
from utils.progress import progress_bar
from utils.stats import autocorrelation, normalised_autocovariance

__all__ = ["StatisticsVAEConfig", "STATISTICS_VAE_CONFIGS", "StatisticsVAE", "build_statistics_vae", "crop_windows",
           "train_statistics_vae", "draw_images", "save_statistics_vae", "read_statistics_vae_config", "load_statistics_vae", "ensure_statistics_vae"]


@dataclass(frozen=True)
class StatisticsVAEConfig:
    """Everything that defines a statistics VAE and its training (measured defaults: docs/experiments.md)."""

    latent_dim: int = 9        # size of z (the paper: 9)
    image_size: int = 64       # side of the crops in px (a multiple of 16: the conv encoder halves it 4 times)
    cutoff: int = 16           # the decoded window: offsets |r_y|, |r_x| <= cutoff px (a quarter of a 64-px crop)
    base_channels: int = 16    # channels of the encoder's first conv, doubled at each of its 4 stages
    hidden: int = 512          # width of the decoder's two hidden layers
    beta: float = 1e-3         # weight of the KL term beside the summed squared statistics error (~0.2 per crop)
    autocovariance_weight: float = 0.01  # weight of Σ_r (rho_decoded - rho)², rho = (f - phi²) / (phi (1 - phi)):
                               # Σ (f_decoded - f)² alone weighs a crop by (phi (1 - phi))², so nearly single-phase crops
                               # (PMMA at phi 0.97) were left undrawn (decoded error 0.024 -> 0.008 at 40 epochs, 2 seeds)
    epochs: int = 80           # passes over the training crops (~145 s on 2 cores for 5,600 crops of 64 px; 40: the
                               # decoded interface density 0.68-1.59 x the crops', 80: 0.83-1.15, docs/experiments.md)
    batch_size: int = 64       # crops per Adam step
    lr: float = 1e-3           # Adam learning rate
    seed: int = 0              # seed of the weights, the batch order and the reparameterisation noise
    periodic: ClassVar[bool] = False   # its statistics are the non-periodic ones (crops of a larger material)

    def __post_init__(self) -> None:
        if self.image_size % 16 or self.image_size < 16:
            raise ValueError(f"image_size must be a positive multiple of 16, got {self.image_size}")
        if not 1 <= self.cutoff <= (self.image_size - 1) // 2:
            raise ValueError(f"cutoff must lie in [1, {(self.image_size - 1) // 2}] for {self.image_size}-px crops, "
                             f"got {self.cutoff}")
        for name in ("latent_dim", "base_channels", "hidden", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.beta >= 0 and self.autocovariance_weight >= 0 and self.lr > 0):
            raise ValueError(f"need beta >= 0, autocovariance_weight >= 0 and lr > 0, got beta={self.beta}, "
                             f"autocovariance_weight={self.autocovariance_weight}, lr={self.lr}")


STATISTICS_VAE_CONFIGS = {   # training profile of the image VAEs (utils.config.PROFILES) -> its statistics VAE
    "micro": StatisticsVAEConfig(),                   # 64-px crops, the window of notebook 07's scores
    "micro-smoke": StatisticsVAEConfig(image_size=32, cutoff=8, base_channels=8, hidden=64, epochs=2),   # the tests
}


class StatisticsVAE(nn.Module):
    """Crops (B, 1, S, S) in [0, 1] -> (mu, logvar) (B, latent_dim) each; z -> windows (B, 2c + 1, 2c + 1)."""

    def __init__(self, cfg: StatisticsVAEConfig) -> None:
        super().__init__()
        self.config = cfg
        side = 2 * cfg.cutoff + 1
        self.encoder = ConvEncoder(cfg.latent_dim, cfg.image_size, cfg.base_channels)
        self.decoder = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.hidden),
                                     nn.ReLU(), nn.Linear(cfg.hidden, side * side), nn.Sigmoid(),
                                     nn.Unflatten(1, (side, side)))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.config.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, s, s):
            raise ValueError(f"expected crops of shape (B, 1, {s}, {s}), got {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


def build_statistics_vae(cfg: StatisticsVAEConfig) -> StatisticsVAE:
    """A statistics VAE with its weights drawn from ``cfg.seed`` (the global RNG is left alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return StatisticsVAE(cfg)


def crop_windows(images: np.ndarray, cutoff: int) -> np.ndarray:
    """(n, 2c + 1, 2c + 1) float32: the window of the non-periodic f of phase 0 (pixels below 0.5) of crops (n, H, W)."""
    x = np.asarray(image_batch(images, "images"))
    out = np.empty((len(x), 2 * cutoff + 1, 2 * cutoff + 1), np.float32)
    for s in range(0, len(x), 512):
        m = torch.as_tensor(x[s:s + 512] < 0.5, dtype=torch.float64)
        out[s:s + 512] = cutoff_window(autocorrelation(m, periodic=False), cutoff).numpy()
    return out


def train_statistics_vae(images: np.ndarray, cfg: StatisticsVAEConfig, *,
                         progress: bool = True) -> tuple[StatisticsVAE, pd.DataFrame]:
    """Train on crops (n, S, S) in [0, 1] (phase 0 = 0); returns the model (eval mode) and a table per epoch
    (``epoch``, ``statistics`` = mean Σ_r (f_decoded - f)² per crop, without the autocovariance term, ``kl``).
    Deterministic for a seed."""
    x = torch.as_tensor(np.asarray(image_batch(images, "images"), dtype=np.float32))[:, None]
    if x.shape[-1] != cfg.image_size or x.shape[-2] != cfg.image_size:
        raise ValueError(f"crops of {x.shape[-2]} x {x.shape[-1]} px do not fit image_size={cfg.image_size}")
    target = torch.as_tensor(crop_windows(x[:, 0].numpy(), cfg.cutoff))
    target_rho = normalised_autocovariance(target, uniform="zero")
    model = build_statistics_vae(cfg).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    noise = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for epoch in progress_bar(range(cfg.epochs), desc="training the statistics VAE", unit="epoch", disable=not progress):
        order = torch.as_tensor(np.random.default_rng([cfg.seed, epoch]).permutation(len(x)))
        total = kl_total = 0.0
        for start in range(0, len(x), cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            mu, logvar = model.encode(x[batch])
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=noise)
            decoded = model.decode(z)
            error = (decoded - target[batch]).square().sum(dim=(1, 2))
            kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=1)
            loss = error + cfg.beta * kl
            if cfg.autocovariance_weight > 0:
                rho = normalised_autocovariance(decoded, uniform="zero")
                loss = loss + cfg.autocovariance_weight * (rho - target_rho[batch]).square().sum(dim=(1, 2))
            optimiser.zero_grad(set_to_none=True)
            loss.mean().backward()
            optimiser.step()
            total, kl_total = total + float(error.detach().sum()), kl_total + float(kl.detach().sum())
        rows.append({"epoch": epoch + 1, "statistics": total / len(x), "kl": kl_total / len(x)})
    return model.eval(), pd.DataFrame(rows)


def draw_images(model: StatisticsVAE, z: np.ndarray | torch.Tensor, *, seed: int = 0, steps: int | None = None,
                progress: bool = False) -> Inversion:
    """Images (n, S, S) of 0 / 1 drawn from the statistics decoded from codes ``z`` (n, latent_dim): reconstruction
    from statistics with its non-periodic defaults over the decoder's window (``steps``: its pixel steps, None: the
    default); ``seed`` is the random field's (a fixed one for reconstructions, a fresh one to draw the same texture
    elsewhere)."""
    cfg = model.config
    with torch.no_grad():
        windows = model.decode(torch.as_tensor(np.asarray(z, dtype=np.float32)))
    return reconstruct_from_statistics(Windows(windows.numpy(), (cfg.image_size, cfg.image_size)),
                                       objective=Objective(periodic=False, cutoff=cfg.cutoff), seed=seed, steps=steps,
                                       progress=progress)


def save_statistics_vae(model: StatisticsVAE, folder: str | Path) -> Path:
    """Write ``model.pt`` (weights) and ``config.json`` into ``folder`` atomically; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "model.pt") as path:
        torch.save(model.state_dict(), path)
    write_json(folder / "config.json", asdict(model.config))
    return folder


def ensure_statistics_vae(folder: str | Path, images: np.ndarray, cfg: StatisticsVAEConfig, *,
                          progress: bool = True) -> StatisticsVAE:
    """The statistics VAE saved in ``folder`` when its config is ``cfg`` (a finished run is reused), else one
    trained on ``images`` and saved there with its ``history.json``.  A saved model of other settings is
    refused with the fix, never overwritten (``make micro FORCE=1`` moves it aside first)."""
    folder = Path(folder)
    if (folder / "model.pt").is_file():
        model = load_statistics_vae(folder)
        if model.config != cfg:
            raise StaleRuns(f"{folder} holds a statistics VAE of other settings ({model.config}); "
                            "retrain it with `make micro FORCE=1` (the old one is moved aside, not deleted)")
        return model
    model, history = train_statistics_vae(images, cfg, progress=progress)
    save_statistics_vae(model, folder)
    write_json(folder / "history.json", history.to_dict(orient="list"))
    return model


def read_statistics_vae_config(folder: str | Path) -> StatisticsVAEConfig:
    """The :class:`StatisticsVAEConfig` saved in ``folder/config.json`` (one saved before the autocovariance term
    existed was trained without it)."""
    saved = json.loads((Path(folder) / "config.json").read_text())
    saved.setdefault("autocovariance_weight", 0.0)
    return StatisticsVAEConfig(**saved)


def load_statistics_vae(folder: str | Path) -> StatisticsVAE:
    """The model saved by :func:`save_statistics_vae` in ``folder`` (eval mode); a clear error when it is missing."""
    folder = Path(folder)
    if not (folder / "model.pt").is_file() or not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no statistics VAE (model.pt and config.json); train one with "
                                "`make micro` (python -m utils.jobs micro)")
    model = build_statistics_vae(read_statistics_vae_config(folder))
    model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    return model.eval()
