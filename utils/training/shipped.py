"""The trained models shipped in ``trained_models/``, and which run a notebook uses: yours or the shipped one.

A fresh clone can open every notebook without training because the models behind the committed figures
are in the repository.  ``trained_models/`` mirrors ``runs/`` (:func:`shipped_run`):

====================================================  =====================================================
``trained_models/cpu/{spatial_stats,data}/``          the two lines VAEs of ``make figures`` (notebooks 03-04)
``trained_models/class/{spatial_stats,data}/``        the same at 10 / 6 epochs (``make figures PROFILE=class``)
``trained_models/lines3-7/cpu/{spatial_stats,data}/`` ``make figures LINES=3-7``
``trained_models/sweep/spatial_stats-z9/``            the sweep's 9-number VAE, and ``sweep/scores.csv``: what
                                                      notebook 05 reads of the sweep's twelve runs
``trained_models/micro/{spatial_stats,data,``         the three models of ``make micro`` (notebooks 07-08)
``statistics_vae}/``
====================================================  =====================================================

A shipped folder holds what a finished run folder holds (:mod:`utils.training.runs`) less its optimiser state:
``config.json``, ``history.csv``, ``best.pt`` (weights, epoch and statistics scale, float32), ``finished.json``.
Each also holds ``made.json``: the
command that trained it and the commit it was shipped at (whose training code made it).

Choosing (:func:`choose_run`): a finished run of your own wins; without one the shipped model is used, and one
line says so; a shipped model made with other settings than its profile now gives is refused with the
``make ... FORCE=1`` that remakes it (:class:`utils.training.runs.StaleRuns`), never used silently.  ``make ship``
(:func:`ship`, for each of :data:`SHIPMENTS`) copies your finished runs into ``trained_models/``; weights that
did not change are left as they are, so a model is recommitted only when the code that made it changes.

>>> shipped_run("cpu", "data").relative_to(REPO).as_posix()
'trained_models/cpu/data'
>>> shipped_run("cpu", "data", (3, 7)).relative_to(REPO).as_posix()
'trained_models/lines3-7/cpu/data'
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from utils.files import atomic_path, write_bytes, write_json
from utils.project import (DEFAULT_LINES, LOSSES, MICRO_PROFILE, REPO, STATISTICS_VAE, SWEEP_PROFILE, lines_tag,
                           repo_relative)
from utils.training.config import TrainConfig, config_for
from utils.training.runs import StaleRuns, config_differences, is_finished

__all__ = ["SHIPPED", "SHIPPED_BUDGET_MB", "Shipment", "SHIPMENTS", "shipped_run", "choose_run",
           "train_hint", "ship", "shipped_megabytes", "current_commit"]

SHIPPED = REPO / "trained_models"
SHIPPED_BUDGET_MB = 25          # the most the shipped models may weigh, all together
SHIPPED_FILES = ("config.json", "history.csv", "best.pt", "finished.json")


@dataclass(frozen=True)
class Shipment:
    """One shipped model: its profile, run name and line range, and the make command that trains it."""

    profile: str
    name: str                                   # a loss, ``<loss>-z<d>`` (the sweep) or ``statistics_vae``
    lines: tuple[int, int] = DEFAULT_LINES
    make: str = "make figures"                  # the job that trains it from scratch
    takes: str = "about 25 min"                 # how long that job takes on 2 cores (README's table)

    @property
    def remake(self) -> str:
        """The command that remakes it from scratch (earlier runs are moved aside, never deleted)."""
        return f"{self.make} FORCE=1"


SHIPMENTS = (
    *(Shipment("cpu", loss) for loss in LOSSES),
    *(Shipment("class", loss, make="make figures PROFILE=class", takes="about 8 min") for loss in LOSSES),
    *(Shipment("cpu", loss, (3, 7), make="make figures LINES=3-7", takes="about 23 min") for loss in LOSSES),
    Shipment(SWEEP_PROFILE, "spatial_stats-z9", make="make sweep", takes="20-60 min"),
    *(Shipment(MICRO_PROFILE, name, make="make micro", takes="about 31 min") for name in (*LOSSES, STATISTICS_VAE)),
)


def shipped_run(profile: str, name: str, lines: Sequence[int] = DEFAULT_LINES, *, root: Path = SHIPPED) -> Path:
    """The shipped folder of a run: ``trained_models/[lines<a>-<b>/]<profile>/<name>``."""
    return Path(root) / lines_tag(lines) / profile / name


def _shipment(profile: str, name: str, lines: Sequence[int]) -> Shipment | None:
    lines = tuple(int(v) for v in lines)
    return next((s for s in SHIPMENTS if (s.profile, s.name, s.lines) == (profile, name, lines)), None)


def train_hint(profile: str, name: str, lines: Sequence[int] = DEFAULT_LINES) -> str:
    """The make command that trains ``profile``'s run ``name`` from scratch, with its time where it is shipped."""
    shipment = _shipment(profile, name, lines)
    if shipment is not None:
        return f"`{shipment.make}` ({shipment.takes} on 2 cores)"
    if "-z" in name:
        return f"`make sweep PROFILE={profile}`"
    if config_for(profile).data_kind == "micrographs":
        return f"`make micro PROFILE={profile}`"
    lo, hi = (int(v) for v in lines)
    return f"`make figures PROFILE={profile}{'' if (lo, hi) == DEFAULT_LINES else f' LINES={lo}-{hi}'}`"


def choose_run(own: str | Path, profile: str, name: str, lines: Sequence[int] = DEFAULT_LINES, *,
               expected: TrainConfig | None = None, root: Path = SHIPPED, announce: bool = True) -> Path:
    """The run folder to load for ``profile``'s run ``name``: ``own`` when it holds a finished run, else the
    shipped one (printing one line that says so).

    ``expected``: the config the run should hold.  Given, your own run is checked against it too (notebook 03
    passes its config, OVERRIDES included); the shipped model is always checked, against ``expected`` or
    ``config_for(profile, loss)`` on ``lines`` (the sweep's ``<loss>-z<d>`` names give the latent size).  A run
    that differs raises :class:`~utils.training.runs.StaleRuns` naming the command that remakes it.  No finished run and
    nothing shipped: FileNotFoundError naming the command that trains it.
    """
    own = Path(own)
    if is_finished(own):
        if expected is not None and (diffs := config_differences(own, expected)):
            raise StaleRuns(f"{repo_relative(own)} was trained with other settings ({'; '.join(diffs)}); train it "
                            f"again with TRAIN = True and REUSE = False (or {train_hint(profile, name, lines)} "
                            "with FORCE=1), or move it aside to use the shipped model")
        return own
    shipment = _shipment(profile, name, lines)
    folder = shipped_run(profile, name, lines, root=root)
    if shipment is None or not is_finished(folder):
        raise FileNotFoundError(f"{repo_relative(own)} holds no finished training run and no model of profile "
                                f"{profile!r} is shipped for it; train it with {train_hint(profile, name, lines)}")
    diffs = config_differences(folder, expected if expected is not None else _expected_config(profile, name, lines))
    if diffs:
        raise StaleRuns(f"the shipped model {repo_relative(folder)} was made with other settings than profile "
                        f"{profile!r} now gives ({'; '.join(diffs)}); remake it with `{shipment.remake}`, then "
                        "`make ship` to ship it")
    if announce:
        print(f"using the shipped model {repo_relative(folder)} (no finished run of your own in {repo_relative(own)}; "
              f"`{shipment.make}` trains one)", flush=True)
    return folder


def _expected_config(profile: str, name: str, lines: Sequence[int]) -> TrainConfig:
    loss, _, size = name.partition("-z")
    extra = {"latent_dim": int(size)} if size else {}
    return config_for(profile, loss, lines=lines, **extra)


# ----------------------------------------------------------------------------- shipping your runs

def current_commit() -> str:
    """The checked-out commit (``unknown`` outside a git checkout)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _same_weights(a: Path, b: Path) -> bool:
    """True when the checkpoints ``a`` and ``b`` hold the same tensors (their other bytes may differ)."""
    if not (a.is_file() and b.is_file()):
        return False
    wa, wb = (torch.load(p, map_location="cpu", weights_only=True) for p in (a, b))
    wa, wb = (w.get("model", w) for w in (wa, wb))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _forget_data_dir(folder: Path) -> None:
    """Store ``data_dir`` as ``data`` in a shipped run's ``config.json`` and ``best.pt``: the folder is a runtime
    setting (every loader takes the data folder from the notebook), and nothing committed names a path of the
    machine that wrote it."""
    config = json.loads((folder / "config.json").read_text())
    write_json(folder / "config.json", {**config, "data_dir": "data"})
    checkpoint = torch.load(folder / "best.pt", map_location="cpu", weights_only=True)
    checkpoint["config"] = {**checkpoint["config"], "data_dir": "data"}
    with atomic_path(folder / "best.pt") as tmp:
        torch.save(checkpoint, tmp)


def ship(shipment: Shipment, runs_root: Path = REPO / "runs", *, root: Path = SHIPPED) -> str:
    """Copy the finished run of ``shipment`` from ``runs_root`` into ``root``; return what was done.

    Only the files of :data:`SHIPPED_FILES` are copied: ``last.pt`` and
    its optimiser state stay behind.  A shipped model with the same weights is left as it is ("unchanged"),
    so that its ``made.json`` keeps the commit that made it."""
    own = Path(runs_root) / lines_tag(shipment.lines) / shipment.profile / shipment.name
    target = shipped_run(shipment.profile, shipment.name, shipment.lines, root=root)
    if not is_finished(own):
        return f"skipped {repo_relative(own)}: no finished run (train it with `{shipment.make}`)"
    stale = config_differences(own, _expected_config(shipment.profile, shipment.name, shipment.lines))
    if stale:
        return f"skipped {repo_relative(own)}: made with other settings than its profile gives ({stale})"
    if _same_weights(own / "best.pt", target / "best.pt"):
        return f"unchanged {repo_relative(target)}"
    for name in SHIPPED_FILES:
        write_bytes(target / name, (own / name).read_bytes())
    for old in target.iterdir():          # files of an earlier shipment that this one does not hold
        if old.name not in (*SHIPPED_FILES, "made.json"):
            old.unlink()
    _forget_data_dir(target)
    write_json(target / "made.json", {"command": shipment.make, "shipped_at": current_commit(), "shipment": asdict(shipment)})
    return f"shipped {repo_relative(own)} -> {repo_relative(target)}"


def shipped_megabytes(root: Path = SHIPPED) -> float:
    """What every file under ``root`` weighs together, in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file()) / 1e6
