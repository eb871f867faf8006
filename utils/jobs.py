"""The one job runner behind `make figures`, `make sweep`, `make micro` and `make ship`: train what is missing,
then run notebooks; ship finished runs.

    python -m utils.jobs figures                         # make figures: notebooks 01-04 (cpu profile, 1-5 lines)
    python -m utils.jobs figures --lines 3-7             # the paper's harder variant
    python -m utils.jobs figures --profile smoke --force # a one-minute dry run, every step redone
    python -m utils.jobs sweep                           # make sweep: 12 trainings, then notebook 05
    python -m utils.jobs micro                           # make micro: three VAEs on micrograph crops, notebooks 06-09
    python -m utils.jobs ship                            # make ship: your finished runs -> trained_models/

Every job does the same four things, here once:

1. **Profiles** (:data:`JOBS`): each job runs the profiles listed for it.  A profile whose figures are
   committed (``cpu``, ``sweep``, ``micro``) belongs to one job only: any other job would write its
   notebooks' figures over them, so it is refused with the list of the job's profiles.
2. **Stale runs** (:func:`stale_runs`, :class:`StaleRuns`): a training run on disk made with other settings
   than its profile now gives (e.g. after a ``git pull``) can be neither reused nor resumed; the job stops
   before anything runs, naming ``make <job> FORCE=1``, which moves the runs aside (``<run>.old-<time>``,
   never deleted) and redoes them.
3. **Training** (:func:`train_plan`): finished runs reused, interrupted ones resumed, one after the other,
   each in :func:`utils.project.run_folder`.  (Notebook 03 trains the figures job's two runs itself.)
4. **Notebooks** (:func:`execute_notebooks`): papermill with cwd = notebooks/ (as in JupyterLab), the
   folders of :class:`utils.project.Folders` as parameters, executed copies in ``<runs>/executed/<profile>/``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import papermill as pm

from utils.evaluation.micro import micro_runs
from utils.evaluation.sweep import ship_scores, sweep_runs
from utils.inverse.inversion import NONPERIODIC_STEPS
from utils.progress import ENV_VAR as PROGRESS_ENV
from utils.project import DEFAULT_LINES, DEFAULT_PROFILE, Folders, LOSSES, MICRO_PROFILE, REPO, SWEEP_PROFILE
from utils.training.config import TrainConfig, config_for
from utils.training.loop import train
from utils.training.runs import StaleRuns, config_differences, move_aside
from utils.training.shipped import SHIPMENTS, SHIPPED_BUDGET_MB, ship, shipped_megabytes

__all__ = ["NOTEBOOKS", "KERNEL", "FULL_SIZE", "Job", "JOBS", "StaleRuns", "stale_runs", "redo_command",
           "check_or_move_aside", "train_plan", "execute_notebooks",
           "Variant", "notebook_parameters", "run_figures", "run_sweep", "run_micro", "micro_notebook_parameters",
           "MICRO_SMOKE_NOTEBOOKS", "run_ship", "job_parser", "main"]

NOTEBOOKS = REPO / "notebooks"
KERNEL = "python3"       # the kernel `make setup` installs into the venv ("Python 3 (spatial-stats-vae)")
# the smoke profile is a dry run of seconds: its evaluation takes few optimisation steps too
SMOKE_EVALUATION = {"N_INFERENCE": 8, "REFINE_STEPS": 10, "LIMIT_STEPS": 100, "LIMIT_RESTARTS": 2}
# The committed figures' sizes, where a notebook's default is smaller so that "Run All" by hand takes minutes:
# make passes these, a notebook run by hand uses its parameters cell (and writes to runs/figures/, not figures/)
FULL_SIZE = {"04_evaluation": {"N_INFERENCE": 500},
             "07_microstructure_vaes": {"LIMIT_STEPS": NONPERIODIC_STEPS, "N_SAMPLES": 100},
             "08_latent_design": {"LIMIT_STEPS": NONPERIODIC_STEPS}}
# ... and so is micro-smoke: few disc images, one crop per material for the limit, few designs and limit steps
MICRO_SMOKE_NOTEBOOKS = {"06_microstructure_statistics": {"N_DISC_IMAGES": 8},
                         "07_microstructure_vaes": {"N_LIMIT": 1, "LIMIT_STEPS": 300, "N_SAMPLES": 6,
                                                    "SAMPLE_STEPS": 30},
                         "08_latent_design": {"RESTARTS": 4, "STEPS": 20, "N_CODES": 40, "LIMIT_STEPS": 30},
                         "09_volumes": {"SIZE": 32, "STEPS": 10, "MATERIALS": ["alloy", "ceramics"]}}


@dataclass(frozen=True)
class Job:
    """One make target: the profiles it runs (the first is its default) and the notebooks it executes."""

    target: str                    # `make <target>`
    profiles: tuple[str, ...]      # what --profile accepts
    notebooks: tuple[str, ...]     # executed in this order


JOBS = {
    "figures": Job("figures", (DEFAULT_PROFILE, "class", "smoke", "paper"),
                   ("01_dataset_synthesis", "02_autocorrelation", "03_train_vae", "04_evaluation")),
    "sweep": Job("sweep", (SWEEP_PROFILE, "smoke"), ("05_latent_space",)),
    "micro": Job("micro", (MICRO_PROFILE, "micro-smoke"), ("06_microstructure_statistics", "07_microstructure_vaes",
                                                           "08_latent_design", "09_volumes")),
}


def stale_runs(plan: Mapping[Path, TrainConfig]) -> dict[Path, list[str]]:
    """The runs of ``plan`` (run folder -> the config it should hold) made with other settings, each with what
    differs (:func:`utils.training.runs.config_differences`; runtime fields ignored); {} when none."""
    return {Path(run): diffs for run, cfg in plan.items() if (diffs := config_differences(run, cfg))}


def redo_command(job: str, cfg: TrainConfig) -> str:
    """The make command that redoes the runs of ``cfg``'s profile (and line range) from scratch."""
    extra = "" if cfg.profile == JOBS[job].profiles[0] else f" PROFILE={cfg.profile}"
    if cfg.data_kind == "lines" and (cfg.min_lines, cfg.max_lines) != tuple(DEFAULT_LINES):
        extra += f" LINES={cfg.min_lines}-{cfg.max_lines}"
    return f"make {job} FORCE=1{extra}"


def check_or_move_aside(plan: Mapping[Path, TrainConfig], job: str, *, force: bool) -> None:
    """Without ``force``: raise :class:`StaleRuns` naming :func:`redo_command` when a run of ``plan`` is stale.
    With it: move every existing run of the plan aside (``<run>.old-<time>``), never deleting one."""
    if force:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for run in plan:
            if Path(run).exists():
                print(f"FORCE: earlier run kept at {move_aside(run, stamp)}", flush=True)
        return
    stale = stale_runs(plan)
    if stale:
        lines = "\n".join(f"  {run}: " + "; ".join(diffs) for run, diffs in stale.items())
        raise StaleRuns(f"these training runs were made with other settings than their profile now gives:\n{lines}\n"
                        f"Redo them with `{redo_command(job, next(iter(plan.values())))}`: the old runs are moved "
                        "aside to <run>.old-<time>, "
                        "not deleted.")


def train_plan(plan: Mapping[Path, TrainConfig], job: str, *, force: bool = False, progress: bool = True) -> None:
    """Train (or reuse, or resume) each run of ``plan`` (run folder -> its config), one after the other, after
    :func:`check_or_move_aside`."""
    check_or_move_aside(plan, job, force=force)
    for i, (run, cfg) in enumerate(plan.items(), 1):
        kind = "statistics" if cfg.decoder == "statistics" else cfg.loss
        print(f"--- [{i}/{len(plan)}] {kind} VAE, profile {cfg.profile}, latent size {cfg.latent_dim}: {run}", flush=True)
        train(cfg, run, resume=True, progress=progress)


def execute_notebooks(parameters: Mapping[str, Mapping[str, Any]], executed: Path, *, progress: bool = True) -> Path:
    """Run each notebook of ``parameters`` (name -> its papermill parameters) in order, cwd = notebooks/, its
    executed copy written to ``executed/<name>.ipynb``; return ``executed``."""
    executed.mkdir(parents=True, exist_ok=True)
    os.environ[PROGRESS_ENV] = "text"     # the kernels papermill starts inherit it: text progress bars, not widgets
    for i, (name, params) in enumerate(parameters.items(), 1):
        print(f"\n=== [{i}/{len(parameters)}] {name} ===", flush=True)
        start = time.perf_counter()
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(executed / f"{name}.ipynb"), parameters=dict(params),
                            cwd=str(NOTEBOOKS), kernel_name=KERNEL, log_output=progress, progress_bar=progress)
        print(f"=== {name} done in {time.perf_counter() - start:.0f} s ===", flush=True)
    return executed


def _where(folders: Folders) -> dict[str, str]:
    return {"DATA_DIR": str(folders.data), "RUNS_DIR": str(folders.runs), "FIG_DIR": str(folders.figures)}


# ----------------------------------------------------------------------------- make figures

@dataclass(frozen=True)
class Variant:
    """One end-to-end configuration of `make figures`: a profile on a line range, under ``root``."""

    profile: str = DEFAULT_PROFILE                 # training profile (one of JOBS["figures"].profiles)
    lines: tuple[int, int] = DEFAULT_LINES         # fewest and most lines per image
    root: Path = REPO                              # data/, runs/ and figures/ live under it

    @property
    def folders(self) -> Folders:
        return Folders.of(self.profile, self.lines, root=self.root)

    def runs_of(self, loss: str) -> Path:
        """The training run folder of ``loss``: ``<runs>/<profile>/<loss>``."""
        return self.folders.run(self.profile, loss)

    def plan(self) -> dict[Path, TrainConfig]:
        """{run folder: config} of the two runs notebook 03 trains."""
        return {self.runs_of(loss): config_for(self.profile, loss, lines=self.lines, data_dir=str(self.folders.data))
                for loss in LOSSES}


def notebook_parameters(variant: Variant) -> dict[str, dict[str, Any]]:
    """Papermill parameters of each notebook of `make figures` for ``variant`` (folders absolute)."""
    where = _where(variant.folders)
    common = {"PROFILE": variant.profile, "LINES": list(variant.lines), **where}
    return {
        "01_dataset_synthesis": {k: v for k, v in common.items() if k != "RUNS_DIR"},
        "02_autocorrelation": {"FIG_DIR": where["FIG_DIR"]},
        "03_train_vae": {**common, "TRAIN": True, "REUSE": True},
        "04_evaluation": {**common, **(SMOKE_EVALUATION if variant.profile == "smoke" else FULL_SIZE["04_evaluation"])},
    }


def run_figures(variant: Variant, *, force: bool = False, only: list[str] | None = None,
                skip: tuple[str, ...] = (), progress: bool = True) -> Path:
    """`make figures`: notebooks 01-04 of ``variant`` (``only``: names or number prefixes to run; ``skip``);
    return the folder of their executed copies.  Stale runs stop it before anything runs (:class:`StaleRuns`)."""
    check_or_move_aside(variant.plan(), "figures", force=force)
    params = notebook_parameters(variant)
    chosen = {n: p for n, p in params.items() if (not only or n[:2] in only or n in only) and n not in skip}
    return execute_notebooks(chosen, variant.folders.runs / "executed" / variant.profile, progress=progress)


# ----------------------------------------------------------------------------- make sweep and make micro

def run_sweep(profile: str = SWEEP_PROFILE, *, root: Path = REPO, force: bool = False, progress: bool = True,
              parameters: Mapping[str, object] | None = None) -> Path:
    """`make sweep`: every run of notebook 05's latent-size sweep (:func:`utils.evaluation.sweep.sweep_runs`), then the notebook
    (``parameters``: its extra papermill parameters); return the folder of its executed copy."""
    folders = Folders.of(profile, DEFAULT_LINES, root=root)
    runs = sweep_runs(profile, folders.runs)
    train_plan({runs[key]: config_for(profile, key[0], latent_dim=key[1], data_dir=str(folders.data)) for key in runs},
               "sweep", force=force, progress=progress)
    return execute_notebooks({"05_latent_space": {"PROFILE": profile, **_where(folders), **(parameters or {})}},
                             folders.runs / "executed" / profile, progress=progress)


def run_micro(profile: str = MICRO_PROFILE, *, root: Path = REPO, force: bool = False, progress: bool = True,
              parameters: Mapping[str, Mapping[str, object]] | None = None) -> Path:
    """`make micro`: both image VAEs of ``profile`` and its statistics VAE, then notebooks 06-09 (``parameters``:
    notebook -> extra papermill parameters); return the folder of their executed copies."""
    folders = Folders.of(profile, root=root)
    runs = micro_runs(profile, folders.runs)
    train_plan({run: config_for(profile, name, data_dir=str(folders.data)) for name, run in runs.items()}, "micro",
               force=force, progress=progress)
    return execute_notebooks(micro_notebook_parameters(profile, folders, parameters), folders.runs / "executed" / profile,
                             progress=progress)


def micro_notebook_parameters(profile: str, folders: Folders,
                              extra: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, dict[str, Any]]:
    """Papermill parameters of each notebook of `make micro` (folders absolute): 06 trains nothing and reads no
    run, so it gets its figure folder only; micro-smoke adds :data:`MICRO_SMOKE_NOTEBOOKS`; ``extra`` last."""
    where = {"PROFILE": profile, **_where(folders)}
    chosen = {name: dict(where) for name in JOBS["micro"].notebooks}
    chosen["06_microstructure_statistics"] = {"FIG_DIR": where["FIG_DIR"]}
    for name, params in chosen.items():
        sized = MICRO_SMOKE_NOTEBOOKS if profile == "micro-smoke" else FULL_SIZE
        params.update({**sized.get(name, {}), **(extra or {}).get(name, {})})
    return chosen


# ----------------------------------------------------------------------------- make ship

def run_ship(root: Path = REPO) -> list[str]:
    """`make ship`: copy every finished run of :data:`utils.training.shipped.SHIPMENTS` (and the sweep's scores) from
    ``root/runs`` into ``trained_models/``; return one line per model.  Raises SystemExit when the shipped
    models would weigh more than :data:`utils.training.shipped.SHIPPED_BUDGET_MB`."""
    done = [ship(shipment, root / "runs") for shipment in SHIPMENTS]
    folders = Folders.of(SWEEP_PROFILE, root=root)
    done.append(ship_scores(SWEEP_PROFILE, folders.runs, folders.data))
    size = shipped_megabytes()
    done.append(f"trained_models/ weighs {size:.1f} MB (at most {SHIPPED_BUDGET_MB} MB)")
    if size > SHIPPED_BUDGET_MB:
        raise SystemExit(f"error: trained_models/ weighs {size:.1f} MB, over {SHIPPED_BUDGET_MB} MB: ship fewer models")
    return done


# ----------------------------------------------------------------------------- the command line

def _parse_lines(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--lines must look like 1-5, got {text!r}") from None
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"--lines needs 1 <= min <= max, got {text!r}")
    return lo, hi


def job_parser() -> argparse.ArgumentParser:
    """``python -m utils.jobs {figures,sweep,micro}``, each with --profile (its profiles only) and --force."""
    parser = argparse.ArgumentParser(prog="python -m utils.jobs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="job", required=True, metavar="{" + ",".join([*JOBS, "ship"]) + "}")
    for job in JOBS.values():
        p = sub.add_parser(job.target, help=f"make {job.target}: notebooks {', '.join(n[:2] for n in job.notebooks)}")
        p.add_argument("--profile", default=job.profiles[0], choices=job.profiles,
                       help=f"training profile (default {job.profiles[0]}; another job's committed figures are "
                            "not this job's to overwrite)")
        p.add_argument("--force", action="store_true", help="move earlier runs aside (never deleted) and redo them")
    sub.add_parser("ship", help="make ship: copy your finished runs into trained_models/ (weights only; about a minute)")
    figures = sub.choices["figures"]
    figures.add_argument("--lines", type=_parse_lines, default=DEFAULT_LINES,
                         help="range of lines per image, e.g. 1-5 (default, the paper's) or 3-7 (harder)")
    figures.add_argument("--only", default="", help="comma-separated notebook numbers to run, e.g. 03,04")
    figures.add_argument("--skip-intro", action="store_true", help="skip the teaching notebook 02 (it trains nothing)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = job_parser()
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.job == "figures":
            variant = Variant(args.profile, tuple(args.lines))
            only = [s.strip() for s in args.only.split(",") if s.strip()] or None
            executed = run_figures(variant, force=args.force, only=only,
                                   skip=("02_autocorrelation",) if args.skip_intro else ())
        elif args.job == "ship":
            print("\n".join(run_ship()))
            return
        elif args.job == "sweep":
            executed = run_sweep(args.profile, force=args.force)
        else:
            executed = run_micro(args.profile, force=args.force)
    except StaleRuns as err:
        parser.exit(2, f"error: {err}\n")
    print(f"\nmake {args.job} done in {(time.perf_counter() - start) / 60:.1f} min; executed notebooks in {executed}",
          file=sys.stdout)


if __name__ == "__main__":
    main()
