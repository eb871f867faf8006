"""The project's names, defaults and folders: one definition each, imported everywhere.

* **The two models.**  Each is named by the reconstruction loss it is trained with (``LOSSES``:
  the ``loss`` of :class:`utils.training.config.TrainConfig` and the name of its run folder); ``MODEL_KEYS``
  are their keys in ``results.json`` and ``MODEL_LABELS`` what figures and tables call them.
  The micro profiles train a third model, ``STATISTICS_VAE``, whose decoder draws statistics windows.
  ``INFERENCE`` names the three ways notebook 04 reconstructs a test image from its statistics.
* **Defaults.**  ``DEFAULT_PROFILE`` is what ``make figures`` and every notebook use unless told
  otherwise; ``DEFAULT_LINES`` the paper's 1-5 lines per image.
* **Folders** (all under the repository, all git-ignored except ``figures/``):
  ``data/<dataset name>/``, ``runs/[lines<a>-<b>/]<profile>/<name>/`` and
  ``figures/[<profile>/][lines<a>-<b>/]``.  Only the profiles whose figures are committed write to
  ``figures/`` itself, so a ``smoke`` run never overwrites them (:func:`figures_dir`); and only the jobs behind
  ``make`` do: a notebook run by hand writes to ``runs/figures/<profile>/`` (:meth:`Folders.in_notebook`).  What the project writes into committed files names folders relative
  to the repository (:func:`repo_relative`), never a path of the machine that wrote it.

>>> figures_dir("cpu") == REPO / "figures", figures_dir("smoke", (3, 7)) == REPO / "figures/smoke/lines3-7"
(True, True)
>>> Folders.in_notebook("cpu").figures == REPO / "runs" / "figures" / "cpu"   # a notebook run by hand
True
>>> repo_relative(REPO / "runs" / "cpu")
'runs/cpu'
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["LOSSES", "STATISTICS_VAE", "MODEL_KEYS", "MODEL_LABELS", "INFERENCE", "DEFAULT_PROFILE", "SWEEP_PROFILE", "MICRO_PROFILE",
           "COMMITTED_PROFILES", "MICRO_THRESHOLD", "DEFAULT_LINES", "PAPER", "REPO",
           "lines_tag", "data_dir", "runs_dir", "run_folder", "figures_dir", "your_figures_dir", "Folders", "repo_relative"]

LOSSES = ("spatial_stats", "data")           # the paper's statistics loss, the vanilla VAE's pixel loss
STATISTICS_VAE = "statistics_vae"            # the micro profiles' third model: a VAE that decodes statistics
MODEL_KEYS = {"spatial_stats": "spatial_stats_vae", "data": "vanilla_vae"}     # keys in results.json
MODEL_LABELS = {"spatial_stats": "spatial-stats VAE", "data": "vanilla VAE",     # in figures and tables
                STATISTICS_VAE: "statistics VAE"}
# Beyond the paper's protocol: three ways to reconstruct a test image from its statistics (notebook 04)
# (our VAE at z = mu, the paper's protocol; its z refined under the statistics loss, decoder frozen;
# the pixels optimised to the statistics alone, no VAE: the per-image limit)
INFERENCE = {"z_mu": "z = mu", "refined": "z refined", "from_statistics": "from statistics"}

DEFAULT_PROFILE = "cpu"        # the small conv VAE at 64x64: what `make figures` trains on a laptop
SWEEP_PROFILE = "sweep"        # the latent-size sweep of notebook 05 (`make sweep`)
MICRO_PROFILE = "micro"        # the VAEs on crops of the seven micrographs, notebooks 07-08 (`make micro`)
COMMITTED_PROFILES = (DEFAULT_PROFILE, SWEEP_PROFILE, MICRO_PROFILE)   # whose figures go to figures/ itself
MICRO_THRESHOLD = 0.5          # a micrograph reconstruction's pixel below it is phase 0 (0 = phase 0, 1 = the rest)
DEFAULT_LINES = (1, 5)         # fewest and most lines per image (the paper's harder variant: (3, 7))

# The paper's results (its appendix B and its README), for comparison; never recomputed.
PAPER = {
    "n_test": 100,
    "orientation_correct": 98,
    "line_count_correct": 63,
    "volume_fraction_diff_mean": 17.0,          # percent
    "ratios": {"data_mse": 3.60, "spatial_stats_mse": 0.50},           # ours / vanilla, 1-5 lines
    "ratios_lines_3_7": {"data_mse": 3.02, "spatial_stats_mse": 0.27},  # the harder dataset
    "image_size": 224, "lines": [1, 5],
}

REPO = Path(__file__).resolve().parents[1]    # the checkout (utils is installed in editable mode)


def lines_tag(lines: Sequence[int] = DEFAULT_LINES) -> str:
    """``""`` for the default line range, else ``"lines<a>-<b>"``: the sub-folder of its runs and figures."""
    lo, hi = (int(v) for v in lines)
    return "" if (lo, hi) == DEFAULT_LINES else f"lines{lo}-{hi}"


def data_dir(root: Path = REPO) -> Path:
    """``data/``: one folder per generated dataset, named by its parameters."""
    return Path(root) / "data"


def runs_dir(lines: Sequence[int] = DEFAULT_LINES, root: Path = REPO) -> Path:
    """``runs/`` (default line range) or ``runs/lines<a>-<b>/``; each holds ``<profile>/<name>/``."""
    return Path(root) / "runs" / lines_tag(lines)


def run_folder(runs: str | os.PathLike, profile: str, name: str) -> Path:
    """The folder of one training run: ``<runs>/<profile>/<name>`` (``name``: its loss, ``<loss>-z<d>`` in the
    sweep, ``statistics_vae``).  Every job, notebook and loader finds its runs here."""
    return Path(runs) / profile / name


def figures_dir(profile: str = DEFAULT_PROFILE, lines: Sequence[int] = DEFAULT_LINES, root: Path = REPO) -> Path:
    """Where a notebook run of ``profile`` on ``lines`` writes its figures and summaries.

    ``figures/`` for the profiles whose figures are committed (``cpu`` for notebooks 01-04, ``sweep``
    for notebook 05, ``micro`` for notebooks 06-09), ``figures/<profile>/`` for any other, each with a ``lines<a>-<b>/``
    sub-folder for another line range.
    """
    return Path(root) / "figures" / ("" if profile in COMMITTED_PROFILES else profile) / lines_tag(lines)


def your_figures_dir(profile: str = DEFAULT_PROFILE, lines: Sequence[int] = DEFAULT_LINES, root: Path = REPO) -> Path:
    """Where a notebook run by hand writes its figures: ``runs/figures/<profile>/[lines<a>-<b>/]`` (git-ignored)."""
    return Path(root) / "runs" / "figures" / profile / lines_tag(lines)


@dataclass(frozen=True)
class Folders:
    """The data, runs and figures folders of a profile and line range (what every notebook uses)."""

    data: Path
    runs: Path
    figures: Path

    @classmethod
    def of(cls, profile: str = DEFAULT_PROFILE, lines: Sequence[int] = DEFAULT_LINES, *, root: Path = REPO,
           data: str | os.PathLike | None = None, runs: str | os.PathLike | None = None,
           figures: str | os.PathLike | None = None) -> "Folders":
        """The folders of :func:`data_dir`, :func:`runs_dir` and :func:`figures_dir` under ``root``, or
        the ones given (a notebook's DATA_DIR, RUNS_DIR and FIG_DIR parameters when not None)."""
        return cls(Path(data) if data is not None else data_dir(root),
                   Path(runs) if runs is not None else runs_dir(lines, root),
                   Path(figures) if figures is not None else figures_dir(profile, lines, root))

    @classmethod
    def in_notebook(cls, profile: str = DEFAULT_PROFILE, lines: Sequence[int] = DEFAULT_LINES, *, root: Path = REPO,
                    data: str | os.PathLike | None = None, runs: str | os.PathLike | None = None,
                    figures: str | os.PathLike | None = None) -> "Folders":
        """:meth:`of` for a notebook run by hand: its figures go to :func:`your_figures_dir` unless ``figures`` is
        given, so that running a notebook never rewrites the committed ``figures/`` (the jobs behind ``make``
        pass ``figures/`` as FIG_DIR)."""
        return cls.of(profile, lines, root=root, data=data, runs=runs,
                      figures=figures if figures is not None else your_figures_dir(profile, lines, root))

    def run(self, profile: str, name: str) -> Path:
        """:func:`run_folder` under these runs."""
        return run_folder(self.runs, profile, name)


def repo_relative(path: str | os.PathLike) -> str:
    """``path`` relative to the repository when it lies inside it (POSIX separators), else its name.

    What committed summaries store instead of an absolute path of the machine that wrote them.
    """
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:
        return path.name
