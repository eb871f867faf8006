"""Benchmark: training throughput with the spatial-statistics loss vs the data-space loss.

    .venv/bin/python tests/benchmarks/bench_train_step.py [--sizes 64 128] [--steps 5] [--rounds 3] [--amp auto]

One optimiser step (forward, loss, backward, Adam) of the small conv VAE on the same batch of 32
lines images, with each loss, timed side by side (interleaved rounds, median per step).  The
loss is the one the ``cpu`` profile trains with: the targets' power spectra are precomputed, as
in training, and the statistics term has its sharp companion (``sharp_eps``), so the extra cost
is one rfft2 of the reconstruction's two indicators forward and one irfft2 backward.  The model
runs in the profile's precision (``--amp``, as ``utils.training.loop``: bfloat16 autocast and channels-last
weights where the CPU has native bfloat16; the losses stay float32).  Target: <= 15 % overhead.
Also prints the loss alone (forward + backward on a fixed reconstruction) and the estimated wall
time of one epoch of the ``cpu`` profile.  Not collected by pytest.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
import torch

from utils.data.lines import generate_lines
from utils.data.spectra import compute_spectra_cache
from utils.statistics.objective import Objective
from utils.training.config import config_for
from utils.training.device import autocast_dtype
from utils.training.losses import data_loss, vae_loss
from utils.training.models import ModelConfig, build_vae
from utils.training.runs import dataset_split

OBJECTIVE = config_for("cpu", "spatial_stats").objective()   # the cpu profile's reconstruction term


def step_timer(model, optimizer, x, target, loss, dtype):
    def step() -> None:
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            recon, mu, logvar = model(x)
        parts = vae_loss(recon.float(), x, mu.float(), logvar.float(), loss=loss, objective=OBJECTIVE,
                         targets=(target,))
        optimizer.zero_grad(set_to_none=True)
        parts["total"].backward()
        optimizer.step()
    return step


def loss_timer(recon0, x, target, loss):
    def step() -> None:
        recon = recon0.clone().requires_grad_(True)
        value = (OBJECTIVE.per_image(recon, (target,)).mean() if loss == "spatial_stats"
                 else data_loss(recon, x))
        value.backward()
    return step


def interleaved(fns: dict[str, callable], steps: int, rounds: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each function, timing them in alternating rounds."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(steps):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_size(size: int, batch: int, steps: int, rounds: int, dtype: torch.dtype | None) -> dict[str, float]:
    images, _ = generate_lines(batch, size=size, seed=0)
    x = torch.from_numpy(images.astype(np.float32))[:, None]
    target = torch.from_numpy(compute_spectra_cache(images, progress=False)[0])[:, None]
    torch.manual_seed(0)
    base = build_vae(ModelConfig(encoder="conv", image_size=size, latent_dim=9, base_channels=32)).train()
    fns = {}
    for loss in ("spatial_stats", "data"):
        model = copy.deepcopy(base)
        if dtype is not None:
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        fns[f"step/{loss}"] = step_timer(model, optimizer, x, target, loss, dtype)
    recon0 = torch.rand_like(x)
    for loss in ("spatial_stats", "data"):
        fns[f"loss/{loss}"] = loss_timer(recon0, x, target, loss)
    return interleaved(fns, steps, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="image sizes (multiples of 16)")
    parser.add_argument("--batch", type=int, default=32, help="images per step")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round and loss")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--amp", default=config_for("cpu").amp, choices=["off", "bf16", "auto"],
                        help="model precision, as TrainConfig.amp (default: the cpu profile's)")
    args = parser.parse_args()
    dtype = autocast_dtype(args.amp, torch.device("cpu"))
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, conv VAE "
          f"(base 32, latent 9), model in {dtype or torch.float32} (--amp={args.amp}), "
          f"median of {args.steps * args.rounds} steps per cell")
    print(f"{'size':>5} | {'stats step ms':>13} {'img/s':>7} | {'data step ms':>12} {'img/s':>7} | "
          f"{'overhead':>8} | {'stats loss ms':>13} {'data loss ms':>12}")
    step_at_64 = None
    for size in args.sizes:
        t = bench_size(size, args.batch, args.steps, args.rounds, dtype)
        s, d = t["step/spatial_stats"], t["step/data"]
        if size == 64:
            step_at_64 = s
        print(f"{size:>5} | {1e3 * s:>13.1f} {args.batch / s:>7.0f} | {1e3 * d:>12.1f} {args.batch / d:>7.0f} | "
              f"{100 * (s / d - 1):>+7.1f}% | {1e3 * t['loss/spatial_stats']:>13.2f} {1e3 * t['loss/data']:>12.2f}")
    if step_at_64 is not None:
        cfg = config_for("cpu", "spatial_stats")
        n_train = len(dataset_split(cfg)["train"])
        steps = n_train // cfg.batch_size
        # validation: forward only on val images, roughly a third of a training step per batch
        n_val_batches = -(-len(dataset_split(cfg)["val"]) // cfg.batch_size)
        epoch = steps * step_at_64 + n_val_batches * step_at_64 / 3
        print(f"cpu profile ({cfg.n_images} images at {cfg.image_size}^2, {n_train} train, batch {cfg.batch_size}): "
              f"{steps} steps/epoch -> about {epoch / 60:.1f} min per epoch, "
              f"{cfg.epochs * epoch / 3600:.1f} h for {cfg.epochs} epochs (at {args.batch / step_at_64:.0f} img/s)")


if __name__ == "__main__":
    main()
