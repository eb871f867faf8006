"""The main job end to end on the smoke profile: every figure and results.json, reuse, --force."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from utils.pipeline import OutdatedRuns, Variant, main, outdated_runs, run_pipeline
from utils.train import config_for, write_json

EXPECTED_FIGURES = ["01_samples.png", "01_label_distribution.png", "02_autocorrelation_examples.png",
                    "03_loss_curves.png", "03_reconstructions.png", "03_prior_samples.png",
                    "04_line_counts.png", "04_volume_fraction.png", "04_overfit_data_mse.png",
                    "04_overfit_stats_mse.png", "04_examples_stats.png", "04_examples_neighbors.png",
                    "results.json", "results.md"]


def test_smoke_pipeline_writes_every_figure_then_reuses_then_forces(tmp_path: Path):
    variant = Variant("smoke", 3, 7, runs_root=tmp_path / "runs", fig_root=tmp_path / "figures",
                      data_dir=tmp_path / "data")
    executed = run_pipeline(variant, log_output=False)
    assert variant.fig_dir == tmp_path / "figures" / "smoke" / "lines3-7"
    missing = [name for name in EXPECTED_FIGURES if not (variant.fig_dir / name).is_file()]
    assert not missing, f"the pipeline did not write {missing}"
    assert sorted(p.name for p in executed.glob("*.ipynb")) == [
        "01_dataset_synthesis.ipynb", "02_autocorrelation.ipynb", "03_train_vae.ipynb", "04_evaluation.ipynb"]
    results = json.loads((variant.fig_dir / "results.json").read_text())
    assert results["profile"] == "smoke" and results["dataset"]["lines"] == [3, 7]

    # a second run reuses the finished training runs: their checkpoints are not rewritten
    run = variant.runs_dir / "smoke" / "spatial_stats"
    stamp = (run / "last.pt").stat().st_mtime_ns
    run_pipeline(variant, only=["03"], log_output=False)
    assert (run / "last.pt").stat().st_mtime_ns == stamp

    # --force keeps the earlier runs (moved aside) and trains afresh
    run_pipeline(variant, force=True, only=["03"], log_output=False)
    kept = sorted(p.name for p in run.parent.iterdir())
    assert any(name.startswith("spatial_stats.old-") for name in kept), kept
    assert (run / "last.pt").stat().st_mtime_ns != stamp


@pytest.mark.parametrize("bad", ["5-1", "x", "0-3"])
def test_bad_line_range_is_refused_with_a_message(bad, capsys):
    with pytest.raises(SystemExit):
        main(["--lines", bad])
    assert "--lines" in capsys.readouterr().err


def test_a_run_made_with_other_settings_stops_the_pipeline_before_anything_runs(tmp_path: Path):
    # e.g. a finished run from before a `git pull` that changed the profile's epochs
    variant = Variant("smoke", runs_root=tmp_path / "runs", fig_root=tmp_path / "figures", data_dir=tmp_path / "data")
    run = variant.runs_dir / "smoke" / "spatial_stats"
    old = config_for("smoke", "spatial_stats", epochs=7, data_dir="elsewhere")   # data_dir may differ
    write_json(run / "config.json", dataclasses.asdict(old))
    assert list(outdated_runs(variant)) == [run]
    assert outdated_runs(variant)[run] == ["epochs: run has 7, asked for 2"]

    with pytest.raises(OutdatedRuns, match=r"(?s)spatial_stats: epochs: run has 7.*FORCE=1"):
        run_pipeline(variant, log_output=False)
    assert not (variant.runs_dir / "executed").exists() and not variant.data_dir.exists()   # nothing ran
    assert (run / "config.json").is_file()                                                 # nothing lost

    old_same = config_for("smoke", "spatial_stats", data_dir="elsewhere", num_threads=1)  # runtime fields only
    write_json(run / "config.json", dataclasses.asdict(old_same))
    assert outdated_runs(variant) == {}


def test_the_command_line_reports_outdated_runs_without_a_traceback(monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise OutdatedRuns("these training runs were made with other settings ... FORCE=1")
    monkeypatch.setattr("utils.pipeline.run_pipeline", refuse)
    with pytest.raises(SystemExit) as exit_info:
        main(["--profile", "smoke"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: these training runs") and "FORCE=1" in err and "Traceback" not in err
