"""The job runner (utils.jobs): `make figures` end to end on the smoke profile (every figure, the folder rule,
reuse, --force), stale runs, and which job may run which profile."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from utils.files import write_json
from utils.jobs import (FULL_SIZE, JOBS, MICRO_SMOKE_NOTEBOOKS, StaleRuns, Variant, main, micro_notebook_parameters,
                        notebook_parameters, run_figures, stale_runs)
from utils.project import COMMITTED_PROFILES, Folders, REPO, figures_dir
from utils.training.config import config_for

EXPECTED_FIGURES = ["01_samples.png", "01_label_distribution.png", "02_autocorrelation_examples.png",
                    "03_loss_curves.png", "03_reconstructions.png", "03_prior_samples.png",
                    "04_line_counts.png", "04_volume_fraction.png", "04_overfit_data_mse.png",
                    "04_overfit_stats_mse.png", "04_examples_stats.png", "04_examples_neighbors.png", "04_inference.png",
                    "results.json", "results.md"]


def test_the_smoke_pipeline_writes_every_figure_into_its_own_folder(smoke_pipeline):
    folders = smoke_pipeline.folders
    assert folders.figures == smoke_pipeline.root / "figures" / "smoke"      # never figures/ itself
    missing = [name for name in EXPECTED_FIGURES if not (folders.figures / name).is_file()]
    assert not missing, f"the pipeline did not write {missing}"
    executed = folders.runs / "executed" / "smoke"
    assert sorted(p.name for p in executed.glob("*.ipynb")) == [
        "01_dataset_synthesis.ipynb", "02_autocorrelation.ipynb", "03_train_vae.ipynb", "04_evaluation.ipynb"]
    assert not list(folders.figures.glob(".*tmp*"))


def test_every_notebook_gets_the_same_folders_it_would_pick_itself():
    variant = Variant("smoke", (3, 7))
    params = notebook_parameters(variant)
    assert Folders.of("smoke", (3, 7)) == variant.folders
    assert variant.folders.figures == REPO / "figures" / "smoke" / "lines3-7"
    assert variant.folders.runs == REPO / "runs" / "lines3-7"
    for name in ("01_dataset_synthesis", "03_train_vae", "04_evaluation"):
        assert params[name]["PROFILE"] == "smoke" and params[name]["LINES"] == [3, 7], name
        assert params[name]["FIG_DIR"] == str(variant.folders.figures), name
    assert params["03_train_vae"]["RUNS_DIR"] == params["04_evaluation"]["RUNS_DIR"] == str(variant.folders.runs)
    assert figures_dir("cpu") == REPO / "figures" and figures_dir("paper") == REPO / "figures" / "paper"


def test_make_micro_gives_each_notebook_its_folders_and_micro_smoke_its_quick_settings():
    folders = Folders.of("micro")
    full = micro_notebook_parameters("micro", folders)
    assert list(full) == list(JOBS["micro"].notebooks)
    assert full["06_microstructure_statistics"] == {"FIG_DIR": str(folders.figures)}     # trains nothing
    for name in JOBS["micro"].notebooks[1:]:       # the folders, and the committed figures' sizes
        assert full[name] == {"PROFILE": "micro", "DATA_DIR": str(folders.data), "RUNS_DIR": str(folders.runs),
                              "FIG_DIR": str(folders.figures), **FULL_SIZE.get(name, {})}, name
    smoke = micro_notebook_parameters("micro-smoke", Folders.of("micro-smoke"), {"08_latent_design": {"STEPS": 5}})
    assert smoke["07_microstructure_vaes"]["N_LIMIT"] == MICRO_SMOKE_NOTEBOOKS["07_microstructure_vaes"]["N_LIMIT"]
    assert smoke["08_latent_design"]["STEPS"] == 5 and smoke["08_latent_design"]["RESTARTS"] == 4   # extra wins
    assert smoke["07_microstructure_vaes"]["FIG_DIR"] == str(REPO / "figures" / "micro-smoke")


def test_a_second_run_reuses_the_runs_and_force_moves_them_aside_first(smoke_pipeline, tmp_path):
    copy = Variant("smoke", root=tmp_path)                 # a copy, to leave the shared run alone
    for name in ("data", "runs"):
        shutil.copytree(smoke_pipeline.root / name, tmp_path / name)
    run = copy.runs_of("spatial_stats")
    stamp = (run / "last.pt").stat().st_mtime_ns
    run_figures(copy, only=["03"], progress=False)
    assert (run / "last.pt").stat().st_mtime_ns == stamp    # reused, not rewritten

    checkpoint = (run / "last.pt").read_bytes()
    run_figures(copy, force=True, only=["none"], progress=False)     # --force, then no notebook
    kept = sorted(p.name for p in run.parent.iterdir() if p.name != "executed")
    assert not run.exists() and len(kept) == 2 and all(".old-" in name for name in kept), kept
    assert (run.parent / [k for k in kept if k.startswith("spatial_stats")][0] / "last.pt").read_bytes() == checkpoint


@pytest.mark.parametrize("bad", ["5-1", "x", "0-3"])
def test_bad_line_range_is_refused_with_a_message(bad, capsys):
    with pytest.raises(SystemExit):
        main(["figures", "--lines", bad])
    assert "--lines" in capsys.readouterr().err


def test_a_run_made_with_other_settings_stops_the_pipeline_before_anything_runs(tmp_path: Path):
    # e.g. a finished run from before a `git pull` that changed the profile's epochs
    variant = Variant("smoke", root=tmp_path)
    run = variant.runs_of("spatial_stats")
    old = config_for("smoke", "spatial_stats", epochs=7, data_dir="elsewhere")   # data_dir may differ
    write_json(run / "config.json", dataclasses.asdict(old))
    assert list(stale_runs(variant.plan())) == [run]
    assert stale_runs(variant.plan())[run] == ["epochs: run has 7, asked for 2"]

    with pytest.raises(StaleRuns, match=r"(?s)spatial_stats: epochs: run has 7.*`make figures FORCE=1 PROFILE=smoke`"):
        run_figures(variant, progress=False)
    assert not (variant.folders.runs / "executed").exists() and not variant.folders.data.exists()   # nothing ran
    assert (run / "config.json").is_file()                                                         # nothing lost

    old_same = config_for("smoke", "spatial_stats", data_dir="elsewhere", num_threads=1)  # runtime fields only
    write_json(run / "config.json", dataclasses.asdict(old_same))
    assert stale_runs(variant.plan()) == {}


@pytest.mark.parametrize("job", list(JOBS))
def test_the_command_line_reports_stale_runs_without_a_traceback(job, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise StaleRuns("these training runs were made with other settings ... FORCE=1")
    monkeypatch.setattr(f"utils.jobs.run_{job}", refuse)
    with pytest.raises(SystemExit) as exit_info:
        main([job, "--profile", JOBS[job].profiles[-1]])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: these training runs") and "FORCE=1" in err and "Traceback" not in err


def test_a_profile_whose_figures_are_committed_belongs_to_one_job_and_every_other_refuses_it(capsys):
    """e.g. `make figures PROFILE=sweep` would write 10-epoch results over figures/ (the sweep's figures folder too),
    and `make sweep PROFILE=cpu` twelve 40-epoch trainings, then notebook 05's figures over the sweep's."""
    assert figures_dir("sweep") == figures_dir("cpu") == figures_dir("micro")
    for profile in COMMITTED_PROFILES:
        owners = [job for job in JOBS.values() if profile in job.profiles]
        assert len(owners) == 1, profile
        for job in JOBS:
            if job != owners[0].target:
                with pytest.raises(SystemExit):
                    main([job, "--profile", profile])
                assert f"invalid choice: '{profile}'" in capsys.readouterr().err, (job, profile)


def test_make_passes_the_committed_sizes_of_what_a_notebook_run_by_hand_shrinks():
    """FULL_SIZE names parameters that exist in each notebook's parameters cell, at a value other than its default
    (the default is the quick one a student runs); make figures / sweep / micro pass them."""
    import json

    for name, sizes in FULL_SIZE.items():
        cells = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())["cells"]
        source = "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])
        defaults = {line.split("=")[0].strip(): line.split("=", 1)[1].split("#")[0].strip()
                    for line in source.splitlines() if "=" in line and not line.startswith(" ")}
        for key, value in sizes.items():
            assert key in defaults and defaults[key] != repr(value), (name, key)
    assert notebook_parameters(Variant())["04_evaluation"]["N_INFERENCE"] == FULL_SIZE["04_evaluation"]["N_INFERENCE"]
    assert notebook_parameters(Variant("smoke"))["04_evaluation"]["N_INFERENCE"] == 8
