"""The main job: run the numbered notebooks headlessly with papermill, reusing finished work.

    python -m utils.pipeline                                # what `make figures` runs (cpu, 1-5 lines)
    python -m utils.pipeline --lines 3-7                    # the paper's harder variant
    python -m utils.pipeline --profile smoke --force        # a one-minute dry run, every step redone

Each notebook runs with cwd = notebooks/ (as in JupyterLab) and gets the profile, the line range
and the three folders of :class:`utils.project.Folders` (data, runs, figures) as parameters, the
same folders it would pick by itself; its executed copy is written to
``<runs>/executed/<profile>/``.  The notebooks reuse what is already there (the dataset, finished
or interrupted training runs), so a re-run or an interrupted run picks up where it stopped.
``--force`` moves earlier training runs aside (``<run>.old-<time>``, never deleted) and
re-executes everything.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.progress import ENV_VAR as PROGRESS_ENV
from utils.project import DEFAULT_LINES, DEFAULT_PROFILE, LOSSES, PIPELINE_PROFILES, REPO, SWEEP_PROFILE, Folders

__all__ = ["NOTEBOOKS", "Variant", "notebook_parameters", "move_runs_aside", "OutdatedRuns", "outdated_runs",
           "run_pipeline", "main"]

NOTEBOOKS = REPO / "notebooks"
KERNEL = "python3"       # the kernel `make setup` installs into the venv ("Python 3 (spatial-stats-vae)")
# the smoke profile is a dry run of seconds: its evaluation takes few optimisation steps too
SMOKE_EVALUATION = {"N_INFERENCE": 8, "REFINE_STEPS": 10, "LIMIT_STEPS": 100, "LIMIT_RESTARTS": 2}


@dataclass(frozen=True)
class Variant:
    """One end-to-end configuration of the pipeline: a profile on a line range, under ``root``."""

    profile: str = DEFAULT_PROFILE                 # training profile (one of PIPELINE_PROFILES)
    lines: tuple[int, int] = DEFAULT_LINES         # fewest and most lines per image
    root: Path = REPO                              # data/, runs/ and figures/ live under it

    @property
    def folders(self) -> Folders:
        return Folders.of(self.profile, self.lines, root=self.root)

    def runs_of(self, loss: str) -> Path:
        """The training run folder of ``loss``: ``<runs>/<profile>/<loss>``."""
        return self.folders.runs / self.profile / loss


def notebook_parameters(variant: Variant) -> dict[str, dict[str, Any]]:
    """Papermill parameters of each numbered notebook for ``variant`` (folders absolute)."""
    folders = variant.folders
    where = {"DATA_DIR": str(folders.data), "RUNS_DIR": str(folders.runs), "FIG_DIR": str(folders.figures)}
    common = {"PROFILE": variant.profile, "LINES": list(variant.lines), **where}
    return {
        "01_dataset_synthesis": {k: v for k, v in common.items() if k != "RUNS_DIR"},
        "02_autocorrelation": {"FIG_DIR": where["FIG_DIR"]},
        "03_train_vae": {**common, "REUSE": True},
        "04_evaluation": {**common, **(SMOKE_EVALUATION if variant.profile == "smoke" else {})},
    }


def move_runs_aside(variant: Variant) -> list[Path]:
    """Rename the variant's finished or partial training runs to ``<run>.old-<time>``; return the new names."""
    from utils.runs import move_aside

    stamp = time.strftime("%Y%m%d-%H%M%S")
    return [move_aside(variant.runs_of(loss), stamp) for loss in LOSSES if variant.runs_of(loss).exists()]


class OutdatedRuns(ValueError):
    """Training runs on disk were made with other settings than the profile now gives."""


def outdated_runs(variant: Variant) -> dict[Path, list[str]]:
    """The variant's training runs that were made with other settings than its profile gives now
    (e.g. after a ``git pull`` changed the profile), each with what differs; {} when none."""
    from utils.config import config_for
    from utils.runs import config_differences

    outdated = {}
    for loss in LOSSES:
        cfg = config_for(variant.profile, loss, lines=variant.lines, data_dir=str(variant.folders.data))
        diffs = config_differences(variant.runs_of(loss), cfg)
        if diffs:
            outdated[variant.runs_of(loss)] = diffs
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
    executed = variant.folders.runs / "executed" / variant.profile
    executed.mkdir(parents=True, exist_ok=True)
    params = notebook_parameters(variant)
    names = [n for n in params if (not only or n[:2] in only or n in only) and n not in skip]
    for i, name in enumerate(names, 1):
        print(f"\n=== [{i}/{len(names)}] {name} ({variant.profile}, lines "
              f"{variant.lines[0]}-{variant.lines[1]}) ===", flush=True)
        start = time.perf_counter()
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(executed / f"{name}.ipynb"),
                            parameters=params[name], cwd=str(NOTEBOOKS), kernel_name=KERNEL,
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
    parser.add_argument("--profile", default=DEFAULT_PROFILE, choices=PIPELINE_PROFILES,
                        help=f"training profile (default {DEFAULT_PROFILE}; the {SWEEP_PROFILE!r} profile is "
                             "notebook 05's: make sweep)")
    parser.add_argument("--lines", type=_parse_lines, default=DEFAULT_LINES,
                        help="range of lines per image, e.g. 1-5 (default, the paper's) or 3-7 (harder)")
    parser.add_argument("--force", action="store_true",
                        help="move earlier training runs aside and redo every step")
    parser.add_argument("--only", default="", help="comma-separated notebook numbers to run, e.g. 03,04")
    parser.add_argument("--skip-intro", action="store_true",
                        help="skip the teaching notebook 02 (it trains nothing)")
    args = parser.parse_args(argv)
    variant = Variant(args.profile, tuple(args.lines))
    only = [s.strip() for s in args.only.split(",") if s.strip()] or None
    skip = ("02_autocorrelation",) if args.skip_intro else ()
    start = time.perf_counter()
    try:
        out = run_pipeline(variant, force=args.force, only=only, skip=skip)
    except OutdatedRuns as err:
        parser.exit(2, f"error: {err}\n")
    print(f"\nAll done in {(time.perf_counter() - start) / 60:.1f} min. Executed notebooks: {out}; "
          f"figures: {variant.folders.figures}")


if __name__ == "__main__":
    main()
