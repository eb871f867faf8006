"""The run folder: what a training run writes, and reading it back.

A run folder holds ``config.json`` (the :class:`~utils.training.config.TrainConfig`), ``history.csv`` (per
epoch: lr, seconds and the train and validation losses by component, per image), ``last.pt``
(model + optimiser after the last finished epoch), ``best.pt`` (the lowest validation total),
``samples/epoch_XXXX.png`` (validation reconstructions and their statistics) and, once every
epoch is done, ``finished.json``.  Every file is written atomically (:mod:`utils.files`), so a
kill at any moment leaves the previous good version.

Reading: :func:`load_run` gives the trained model and its config; :func:`read_history`,
:func:`is_finished`; :func:`config_differences` says what a stored run was trained with that a
config would change (a run that differs can be neither resumed nor reused); :func:`dataset_split` gives
the train / val / test indices a run trains and is scored on.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from utils.data.store import load_dataset, split_from_labels, split_indices
from utils.files import atomic_path, write_text
from utils.training.config import REMOVED_FIELDS, REMOVED_VALUES, RUNTIME_FIELDS, TrainConfig
from utils.training.models import VAE, build_vae

__all__ = ["RUN_FILES", "RUN_DIRS", "save_checkpoint", "write_history", "save_epoch", "load_checkpoint", "load_state", "read_config",
           "dataset_split", "read_history", "is_finished", "load_run", "config_differences", "inspect_run_dir", "clear_run_dir",
           "StaleRuns", "move_aside"]

RUN_FILES = ("config.json", "history.csv", "last.pt", "best.pt", "finished.json")
RUN_DIRS = ("samples", "tensorboard")


def save_checkpoint(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save(obj, path)``, atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def write_history(run_dir: Path, history: list[dict[str, Any]]) -> None:
    """``history.csv``: one row per finished epoch."""
    write_text(run_dir / "history.csv", pd.DataFrame(history).to_csv(index=False))


def save_epoch(run_dir: Path, *, cfg: TrainConfig, net: nn.Module, optimizer: torch.optim.Optimizer, step: int,
               history: list[dict[str, Any]], best: tuple[float, int], stats_scale: float) -> tuple[float, int]:
    """After an epoch (``history[-1]``): ``best.pt`` when its validation total is the lowest so far
    (without the optimiser), ``last.pt`` (with it, to resume) and ``history.csv``.  Returns the new
    ``best`` = (lowest validation total, its epoch)."""
    row = history[-1]
    if row["val_total"] < best[0]:
        best = (row["val_total"], row["epoch"])
    checkpoint = {"format": 1, "epoch": row["epoch"], "step": step, "model": net.state_dict(),
                  "config": asdict(cfg), "history": history, "best_val": best[0], "best_epoch": best[1],
                  "stats_scale": stats_scale}
    if best[1] == row["epoch"]:
        save_checkpoint(checkpoint, run_dir / "best.pt")
    save_checkpoint({**checkpoint, "optimizer": optimizer.state_dict()}, run_dir / "last.pt")
    write_history(run_dir, history)
    return best


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
                                f"(python -m utils.training ... --out {path.parent}) or check the run folder")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # zip / unpickling / EOF errors all mean "unreadable"
        raise ValueError(f"checkpoint {path} is corrupt or truncated and cannot be read "
                         f"({_first_line(err)}); delete it and resume from the other checkpoint of the "
                         f"run, or retrain (--overwrite=true)") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "epoch" not in ckpt:
        raise ValueError(f"{path} is not a checkpoint written by utils.training.loop (expected a dict with 'model' "
                         f"and 'epoch'); point at a run folder's last.pt or best.pt")
    return ckpt


def load_state(target: nn.Module | torch.optim.Optimizer, state: dict[str, Any], path: Path) -> None:
    """``target.load_state_dict(state)`` with a clear ValueError when they do not match."""
    try:
        target.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as err:
        what = "model" if isinstance(target, nn.Module) else "optimiser"
        raise ValueError(f"checkpoint {path} does not match the {what} built from the config "
                         f"({_first_line(err)}); load it with the config.json of the run it came from "
                         f"(utils.training.runs.load_run(run_dir)), or retrain in a new folder") from None


def read_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The TrainConfig stored in ``run_dir/config.json`` (fields missing there take their defaults)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} is not a training run folder; "
                                "train one with python -m utils.training --out RUN_DIR")
    stored = json.loads(path.read_text())
    if removed := _removed_settings(stored):
        raise ValueError(f"{path} was trained with settings this code no longer has ({'; '.join(removed)}; "
                         "their code is at commit 8eec102, docs/design.md section 8): check that commit out to read it")
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in stored.items() if k in names})


def _removed_settings(stored: dict[str, Any]) -> list[str]:
    """"name = value" of each setting in a stored config that :data:`REMOVED_FIELDS` lists at a value other
    than its "off" one (older runs hold them at "off": those read as today's), or that holds a value
    :data:`REMOVED_VALUES` lists (a decoder that left the code)."""
    return ([f"{k} = {stored[k]!r}" for k, off in REMOVED_FIELDS.items() if k in stored and stored[k] != off]
            + [f"{k} = {stored[k]!r}" for k, gone in REMOVED_VALUES.items() if stored.get(k) in gone])


def dataset_split(cfg: TrainConfig) -> dict[str, np.ndarray]:
    """The train / val / test indices into ``cfg``'s dataset (evaluation uses "test").

    Lines: a seeded random split.  Micrographs: the dataset's ``split`` column (test = the crops of the
    held-out regions, :func:`utils.data.store.split_from_labels`), so the dataset must exist in ``cfg.data_dir``
    (training creates it).
    """
    if cfg.data_kind == "micrographs":
        _, labels = load_dataset(Path(cfg.data_dir) / cfg.dataset.name)
        return split_from_labels(labels, val_fraction=cfg.val_fraction, seed=cfg.data_seed)
    return split_indices(cfg.n_images, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
                         seed=cfg.data_seed)


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
    load_state(model, ckpt["model"], path)
    return model.to(device).eval(), cfg


def config_differences(run_dir: str | os.PathLike, cfg: TrainConfig) -> list[str]:
    """What the run in ``run_dir`` was trained with that ``cfg`` would change, one "field: run has
    ..., asked for ..." line per field (:data:`RUNTIME_FIELDS` ignored); [] when they agree or when
    the folder holds no ``config.json``.  A run that differs cannot be resumed or reused as ``cfg``."""
    config_path = Path(run_dir) / "config.json"
    if not config_path.is_file():
        return []
    stored = json.loads(config_path.read_text())
    diffs = [f"{setting} (a removed setting: see commit 8eec102)" for setting in _removed_settings(stored)]
    for f in fields(TrainConfig):
        if f.name in RUNTIME_FIELDS:
            continue
        old = stored.get(f.name, f.default)
        new = getattr(cfg, f.name)
        if old != new:
            diffs.append(f"{f.name}: run has {old!r}, asked for {new!r}")
    return diffs


def inspect_run_dir(run_dir: Path, cfg: TrainConfig, resume: bool) -> str:
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


def clear_run_dir(run_dir: Path) -> None:
    """Delete the files of a run (only those train() writes) so that a fresh run can start."""
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for name in RUN_DIRS:
        shutil.rmtree(run_dir / name, ignore_errors=True)


class StaleRuns(ValueError):
    """Runs on disk were made with other settings than their profile now gives: they can be neither reused nor
    resumed (the message names the ``make <job> FORCE=1`` that moves them aside and redoes them)."""


def move_aside(run: str | os.PathLike, stamp: str) -> Path:
    """Rename the run folder ``run`` to ``<run>.old-<stamp>`` (never deleting it); return the new path."""
    run = Path(run)
    target = run.with_name(f"{run.name}.old-{stamp}")
    run.rename(target)
    return target
