"""The main job: run the numbered notebooks headlessly with papermill, reusing finished work.

    python -m utils.pipeline --profile cpu --lines 1-5      # what `make figures` runs
    python -m utils.pipeline --profile cpu --lines 3-7      # the paper's harder variant
    python -m utils.pipeline --profile smoke --force        # redo every step

Each notebook runs with cwd = notebooks/ (as in JupyterLab) and its executed copy is written to
``runs/<variant>/executed/``.  The notebooks themselves reuse what is already there (the
dataset folder, finished or interrupted training runs), so a re-run or an interrupted run picks
up where it stopped.  ``--force`` moves earlier training runs aside (``<run>.old-<time>``,
never deleted) and re-executes everything.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LOSSES = ("spatial_stats", "data")
PROGRESS_ENV = "SSVAE_PROGRESS"   # see utils.progress


@dataclass
class Variant:
    """One end-to-end configuration of the pipeline."""
    profile: str = "cpu"              # training profile of utils.train (smoke | cpu | paper)
    min_lines: int = 1                # fewest lines per image (the paper's main dataset: 1-5)
    max_lines: int = 5                # most lines per image (the harder variant: 3-7)
    runs_root: Path = REPO / "runs"   # training runs and executed notebooks (git-ignored)
    fig_root: Path = REPO / "figures" # figures, results.json, results.md (committed)
    data_dir: Path = REPO / "data"    # datasets, one folder each (git-ignored)

    @property
    def is_default(self) -> bool:
        return (self.min_lines, self.max_lines) == (1, 5)

    @property
    def _lines(self) -> str:
        return "" if self.is_default else f"lines{self.min_lines}-{self.max_lines}"

    @property
    def runs_dir(self) -> Path:
        """Runs of the main dataset live in runs/, those of other line ranges in runs/lines<a>-<b>/
        (each holds <profile>/<loss>/ and executed/<profile>/)."""
        return self.runs_root / self._lines

    @property
    def fig_dir(self) -> Path:
        """figures/ holds the committed outputs of the cpu profile on the main dataset; other profiles
        write to figures/<profile>/ and other line ranges to .../lines<a>-<b>/, so a smoke run never
        overwrites them."""
        return self.fig_root / ("" if self.profile == "cpu" else self.profile) / self._lines

    def overrides(self) -> dict[str, Any]:
        return {} if self.is_default else {"min_lines": self.min_lines, "max_lines": self.max_lines}


def notebook_parameters(variant: Variant) -> dict[str, dict[str, Any]]:
    """Papermill parameters of each numbered notebook for ``variant`` (paths absolute)."""
    from utils.train import config_for

    spec = config_for(variant.profile, "spatial_stats", **variant.overrides()).dataset
    common = {"FIG_DIR": str(variant.fig_dir), "DATA_DIR": str(variant.data_dir)}
    return {
        "01_dataset_synthesis": {**common, "N_IMAGES": spec.n_images, "IMAGE_SIZE": spec.size,
                                 "MIN_LINES": spec.min_lines, "MAX_LINES": spec.max_lines,
                                 "SEED": spec.seed},
        "02_autocorrelation": {"FIG_DIR": str(variant.fig_dir)},
        "03_train_vae": {**common, "PROFILE": variant.profile, "RUNS_DIR": str(variant.runs_dir),
                         "REUSE": True, "OVERRIDES": variant.overrides()},
        "04_evaluation": {**common, "PROFILE": variant.profile, "RUNS_DIR": str(variant.runs_dir)},
    }


def move_runs_aside(variant: Variant) -> list[Path]:
    """Rename the variant's finished or partial training runs to ``<run>.old-<time>``; return the new names."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for loss in LOSSES:
        run = variant.runs_dir / variant.profile / loss
        if run.exists():
            target = run.with_name(f"{run.name}.old-{stamp}")
            run.rename(target)
            moved.append(target)
    return moved


class OutdatedRuns(ValueError):
    """Training runs on disk were made with other settings than the profile now gives."""


def outdated_runs(variant: Variant) -> dict[Path, list[str]]:
    """The variant's training runs that were made with other settings than its profile gives now
    (e.g. after a ``git pull`` changed the profile), each with what differs; {} when none."""
    from utils.train import config_differences, config_for

    outdated = {}
    for loss in LOSSES:
        run = variant.runs_dir / variant.profile / loss
        cfg = config_for(variant.profile, loss, data_dir=str(variant.data_dir), **variant.overrides())
        diffs = config_differences(run, cfg)
        if diffs:
            outdated[run] = diffs
    return outdated


def run_pipeline(variant: Variant, *, force: bool = False, only: list[str] | None = None,
                 skip: tuple[str, ...] = (), log_output: bool = True) -> Path:
    """Execute the notebooks of ``variant`` in order; return the folder of executed copies.

    Raises :class:`OutdatedRuns` (a ValueError) before running anything when a training run on
    disk was made with other settings than the profile now gives (without ``force``): such a run
    can be neither reused nor resumed.
    """
    import papermill as pm

    os.environ[PROGRESS_ENV] = "text"     # the kernels papermill starts inherit it: text progress bars

    outdated = {} if force else outdated_runs(variant)
    if outdated:
        lines = "\n".join(f"  {run}: " + "; ".join(diffs) for run, diffs in outdated.items())
        raise OutdatedRuns(f"these training runs were made with other settings than the {variant.profile!r} "
                           f"profile now gives:\n{lines}\nRedo them with `make figures FORCE=1` (python -m "
                           "utils.pipeline --force): the old runs are moved aside to <run>.old-<time>, not deleted.")
    if force:
        for path in move_runs_aside(variant):
            print(f"--force: earlier run kept at {path}")
    executed = variant.runs_dir / "executed" / variant.profile
    executed.mkdir(parents=True, exist_ok=True)
    variant.fig_dir.mkdir(parents=True, exist_ok=True)
    params = notebook_parameters(variant)
    names = [n for n in params if (not only or n[:2] in only or n in only) and n not in skip]
    for i, name in enumerate(names, 1):
        print(f"\n=== [{i}/{len(names)}] {name} ({variant.profile}, lines "
              f"{variant.min_lines}-{variant.max_lines}) ===", flush=True)
        start = time.perf_counter()
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(executed / f"{name}.ipynb"),
                            parameters=params[name], cwd=str(NOTEBOOKS), kernel_name="python3",
                            log_output=log_output, progress_bar=log_output)
        print(f"=== {name} done in {time.perf_counter() - start:.0f} s ===", flush=True)
    return executed


def _parse_lines(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--lines must look like 1-5, got {text!r}") from None
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"--lines needs 1 <= min <= max, got {text!r}")
    return lo, hi


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", help="training profile: smoke | cpu | paper (default cpu)")
    parser.add_argument("--lines", type=_parse_lines, default=(1, 5),
                        help="range of lines per image, e.g. 1-5 (default, the paper's) or 3-7 (harder)")
    parser.add_argument("--force", action="store_true",
                        help="move earlier training runs aside and redo every step")
    parser.add_argument("--only", default="", help="comma-separated notebook numbers to run, e.g. 03,04")
    parser.add_argument("--skip-intro", action="store_true",
                        help="skip the teaching notebook 02 (it trains nothing)")
    args = parser.parse_args(argv)
    variant = Variant(args.profile, *args.lines)
    only = [s.strip() for s in args.only.split(",") if s.strip()] or None
    skip = ("02_autocorrelation",) if args.skip_intro else ()
    start = time.perf_counter()
    try:
        out = run_pipeline(variant, force=args.force, only=only, skip=skip)
    except OutdatedRuns as err:
        parser.exit(2, f"error: {err}\n")
    print(f"\nAll done in {(time.perf_counter() - start) / 60:.1f} min. Executed notebooks: {out}; "
          f"figures: {variant.fig_dir}")


if __name__ == "__main__":
    main()
