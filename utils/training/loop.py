"""Train every model of the project: the VAE with the spatial-statistics loss (the paper), the data-space loss
(vanilla VAE), and the statistics VAE (its decoder draws the statistics window; the loss is the same objective).

Command line (every option of :class:`TrainConfig` is also a ``--key=value`` flag; see --help)::

    python -m utils.training --profile smoke --model spatial_stats --out runs/smoke/spatial_stats
    python -m utils.training --profile cpu --model data --epochs=5 --lr=5e-4
    python -m utils.training --profile cpu --model data --resume          # continue from last.pt
    python -m utils.training --profile micro --model statistics_vae       # the statistics VAE of notebooks 07-08
    torchrun --nproc_per_node=2 -m utils.training --profile cpu ...      # DistributedDataParallel: one
                                                                      # GPU per process, else CPU (gloo)

or in Python: ``train(config_for("cpu", "data"), "runs/cpu/data", resume=True)``.

The settings of a run are a :class:`utils.training.config.TrainConfig` (one per profile and model:
:data:`utils.training.config.PROFILES`); each names its dataset, which is generated first when
it is missing.  What a run writes, and how to read it back: :mod:`utils.training.runs`.  Where it runs
(device, torchrun, bfloat16): :mod:`utils.training.device`.  This file is the loop and its command line.

Reproducibility
---------------
All randomness of epoch ``e`` -- the shuffle order and the reparameterisation noise -- comes from
generators seeded by (seed, e) alone, and the learning rate is a function of e, so resuming from
the checkpoint of the last finished epoch replays the rest exactly: on a CPU an interrupted and
resumed run ends with bit-identical weights to an uninterrupted one.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from utils.files import write_json
from utils.notebook import plots
from utils.progress import progress_bar
from utils.project import runs_dir
from utils.statistics.objective import Objective
from utils.training import losses
from utils.training.batches import TrainingData, prepare_training_data, training_loaders
from utils.training.config import TrainConfig, build_parser, config_for, lr_at
from utils.training.device import Dist, autocast_dtype
from utils.training.models import VAE, build_vae
from utils.training.statistics_vae import initialise_from_pca
from utils.training.runs import clear_run_dir, inspect_run_dir, load_checkpoint, load_state, save_epoch, write_history

__all__ = ["TrainingDiverged", "train", "main"]

COMPONENTS = ("total", "recon", "kl")
_SHUFFLE, _NOISE, _VAL_NOISE = 0, 1, 2   # independent random streams of an epoch


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint was left untouched."""


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
    data: TrainingData
    dist: Dist
    progress: bool
    autocast: torch.dtype | None = None   # dtype of the model's forward (autocast_dtype), None = float32
    step: int = 0                    # optimiser steps done in the whole run
    step_at_epoch_start: int = 0     # value of step when the current epoch began
    epoch: int = 0                   # the current epoch (0-based)

    @property
    def objective(self) -> Objective:
        """The reconstruction term of this run, its statistics divided by the data's ``stats_scale``."""
        return self.cfg.objective(self.data.stats_scale)


SYNC_EVERY = 25   # training steps between host synchronisations (NaN check, progress-bar loss)


def _batch_row(loop: _Loop, model: nn.Module, batch: Any,
               noise: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
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
                            objective=loop.objective, targets=None if target is None else (target,),
                            alpha=cfg.alpha, beta=cfg.beta,
                            feature_weights=loop.net.decoder.weights if loop.net.decodes_statistics else None)
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


# ----------------------------------------------------------------------------- saving and building

def _tensorboard(run_dir: Path | None) -> Any:
    """A SummaryWriter logging to ``run_dir/tensorboard`` (None: only check that tensorboard is installed)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ValueError("tensorboard=true but the tensorboard package is not installed; "
                         "pip install tensorboard, or leave --tensorboard off (history.csv has every number)") from None
    return None if run_dir is None else SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def _build(cfg: TrainConfig, ckpt: dict[str, Any] | None, ckpt_path: Path, dist: Dist,
           autocast: torch.dtype | None = None) -> tuple[VAE, nn.Module, torch.optim.Optimizer]:
    """The bare model, the model to train (DDP-wrapped under torchrun) and Adam; restored from ``ckpt``.

    ``autocast``: the dtype the forward pass will run in (:func:`autocast_dtype`); bfloat16 on a
    CPU also puts the weights in channels-last memory.
    """
    with torch.random.fork_rng(devices=[]):           # seeded weights without touching the global RNG
        torch.manual_seed(cfg.seed)
        net = build_vae(replace(cfg.model, pretrained=cfg.pretrained and ckpt is None))
    if ckpt is not None:
        load_state(net, ckpt["model"], ckpt_path)
    net.to(dist.device)
    if dist.device.type == "cpu" and autocast is not None:
        net.to(memory_format=torch.channels_last)      # oneDNN's fast bfloat16 layout (~15 % more)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.lr)
    if ckpt is not None:
        if "optimizer" not in ckpt:
            raise ValueError(f"{ckpt_path} holds no optimiser state, so it cannot be resumed; "
                             "retrain with --overwrite=true")
        load_state(optimizer, ckpt["optimizer"], ckpt_path)
    model: nn.Module = net
    if dist.active:
        model = nn.parallel.DistributedDataParallel(net, device_ids=[dist.device.index]
                                                    if dist.device.type == "cuda" else None)
    return net, model, optimizer


def _save_epoch(loop: _Loop, run_dir: Path, epoch: int, history: list[dict[str, Any]],
                best: tuple[float, int], tb: Any) -> tuple[float, int]:
    """Rank 0 after each epoch: the run folder's files (:func:`utils.training.runs.save_epoch`), samples, tensorboard."""
    cfg, row = loop.cfg, history[-1]
    best = save_epoch(run_dir, cfg=cfg, net=loop.net, optimizer=loop.optimizer, step=loop.step, history=history,
                      best=best, stats_scale=loop.data.stats_scale)
    if cfg.sample_every and not loop.net.decodes_statistics and (
            (epoch + 1) % cfg.sample_every == 0 or epoch + 1 == cfg.epochs):
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
    dist = Dist.from_env(cfg.device)
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


def _train(cfg: TrainConfig, run_dir: Path, resume: bool, progress: bool, dist: Dist) -> Path:
    action = inspect_run_dir(run_dir, cfg, resume)
    dist.barrier()                       # every rank has looked before rank 0 changes anything
    if action == "done":
        if dist.is_main:
            print(f"{run_dir} holds a finished run ({cfg.epochs} epochs); nothing to train.")
        return run_dir
    if dist.is_main:
        if action == "overwrite":
            clear_run_dir(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
    if cfg.tensorboard and dist.is_main:
        _tensorboard(None)                              # fail early when the package is missing
    data = prepare_training_data(cfg, dist, progress)

    ckpt = load_checkpoint(run_dir / "last.pt", device="cpu") if action == "resume" else None
    autocast = autocast_dtype(cfg.amp, dist.device)
    net, model, optimizer = _build(cfg, ckpt, run_dir / "last.pt", dist, autocast)
    if ckpt is None and cfg.model.encoder == "statistics":    # it starts as the PCA of the training crops' statistics
        crops = torch.as_tensor(np.asarray(data.images[data.split["train"]], dtype=np.float32)[:, None], device=dist.device)
        initialise_from_pca(net.encoder, net.decoder, crops)
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

    train_loader, val_loader = training_loaders(data, cfg, dist, shuffle_seed=_seed(cfg.seed, _SHUFFLE))

    t_run = time.perf_counter()
    tb = _tensorboard(run_dir) if cfg.tensorboard and dist.is_main else None
    epochs = progress_bar(range(start, cfg.epochs), initial=start, total=cfg.epochs, unit="epoch",
                  desc="training the statistics VAE" if net.decodes_statistics else f"training {cfg.loss} VAE", disable=not (progress and dist.is_main))
    try:
        for epoch in epochs:
            t0 = time.perf_counter()
            loop.epoch = epoch
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
        write_history(run_dir, history)                   # also after a late kill
        write_json(run_dir / "finished.json", {
            "epochs": cfg.epochs, "steps": loop.step, "best_epoch": best[1], "best_val_total": best[0],
            "final": history[-1] if history else None, "stats_scale": data.stats_scale,
            "model_dtype": str(loop.autocast or torch.float32).removeprefix("torch."),   # what amp resolved to
            "seconds_this_session": round(time.perf_counter() - t_run, 3)})
    dist.barrier()
    return run_dir


# ----------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 error, 2 diverged)."""
    parser = build_parser(prog="python -m utils.training", description=__doc__.split("\n\n")[0])
    args = parser.parse_args(argv)
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
                 if f.name not in ("profile", "loss") and getattr(args, f.name) is not None}
    try:
        cfg = config_for(args.profile, args.model, **overrides)
        out = Path(args.out) if args.out else runs_dir((cfg.min_lines, cfg.max_lines)) / args.profile / args.model
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
