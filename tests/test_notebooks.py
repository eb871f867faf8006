"""The four notebooks as the pipeline runs them (papermill, smoke profile, once per test run): the
scalars each writes, pinned to their seeded values, and figures that render as images.

The pinned numbers come from the smoke run on this project's 2-core CPU (float32; the smoke
profile trains with one thread).  A change to the generator, the statistics, the model, the loss,
the training loop or the evaluation moves them; re-pin them only when such a change is meant.
"""
from __future__ import annotations

import re

import pytest

from conftest import executed, read_json, seeded
from utils.data.lines import generate_lines
from utils.data.store import load_dataset
from utils.project import REPO
from utils.training.runs import is_finished, load_checkpoint, read_config, read_history

NOTEBOOK_NAMES = ("01_dataset_synthesis", "02_autocorrelation", "03_train_vae", "04_evaluation")


def test_notebook_01_writes_the_profiles_dataset_and_its_summary(smoke_pipeline):
    folders = smoke_pipeline.folders
    summary = read_json(folders.figures / "01_summary.json")
    assert summary == {
        "dataset": "lines_n256_s32_l1-5_seed0", "n_images": 256, "image_size": 32,
        "n_lines_counts": {"1": 52, "2": 51, "3": 60, "4": 48, "5": 45},
        "vertical_fraction": 0.5078125, "mean_volume_fraction": pytest.approx(0.06725311279296875, rel=1e-12)}
    images, labels = load_dataset(folders.data / summary["dataset"])
    expected, _ = generate_lines(256, size=32, seed=0)         # the smoke profile's dataset, regenerated
    assert images.tobytes() == expected.tobytes()
    assert len(list((folders.data / summary["dataset"] / "images").glob("*.png"))) == 256


def test_notebook_02_checks_the_fft_against_the_direct_sum(smoke_pipeline):
    summary = read_json(smoke_pipeline.folders.figures / "02_summary.json")
    assert summary["fft_vs_direct_max_abs_diff"] < 1e-15        # float64 FFT vs the O(S²) sum: rounding only
    assert summary["translation_max_abs_diff"] < 1e-6           # float32, periodic: exact up to rounding
    assert summary["volume_fraction"] == pytest.approx(0.0380859375, rel=1e-12)     # image 0 of seed 0, 128²
    assert summary["centre_value"] == pytest.approx(summary["volume_fraction"], abs=1e-12)


def test_notebook_03_trains_both_models_and_records_their_runs(smoke_pipeline):
    summary = read_json(smoke_pipeline.folders.figures / "03_summary.json")
    assert summary["profile"] == "smoke" and summary["epochs"] == {"spatial_stats": 2, "data": 2}
    assert summary["runs"] == {"spatial_stats": "spatial_stats", "data": "data"}   # names, never machine paths
    assert summary["final_val_loss"] == {"spatial_stats": seeded(0.3718320090396732, 0.3721153432247685),
                                         "data": seeded(251.23162213493796, 251.2386749865962)}
    for loss in ("spatial_stats", "data"):
        run = smoke_pipeline.runs_of(loss)
        cfg = read_config(run)
        assert is_finished(run) and cfg.loss == loss and cfg.profile == "smoke"
        history = read_history(run)
        assert len(history) == cfg.epochs == load_checkpoint(run / "last.pt")["epoch"]
        assert summary["final_val_loss"][loss] == history["val_total"].iloc[-1]


def test_notebook_04_writes_the_results(smoke_pipeline):
    results = read_json(smoke_pipeline.folders.figures / "results.json")
    assert results["profile"] == "smoke" and results["n_test"] == 26 == results["dataset"]["n_test_split"]
    ours, vanilla = results["models"]["spatial_stats_vae"], results["models"]["vanilla_vae"]
    # two smoke epochs learn a grey image: nothing survives the 0.05 threshold
    assert (ours["orientation_correct"], ours["line_count_correct"], ours["volume_fraction_diff_mean"]) == (0, 0, 100.0)
    assert ours["data_mse"] == seeded(0.25328921844713115, 0.2532394455241114)
    assert ours["spatial_stats_mse"] == seeded(0.0003726269055292345, 0.00037255588828391366)
    assert vanilla["data_mse"] == seeded(0.24550045215521135, 0.2454746177508699)
    assert vanilla["spatial_stats_mse"] == seeded(0.00030905795645581196, 0.00030876593705634947)
    assert results["ratios"] == {"data_mse": seeded(1.03172607717641, 1.0316318967899236),
                                 "spatial_stats_mse": seeded(1.205686175507057, 1.2065964653864087)}
    assert (results["nearest_to_original_count_correct"], ours["nearest_stats_count_correct"]) == (14, 6)
    whole = results["whole_split"]
    assert whole["n"] == 26 and whole["nearest_to_original"] == {"n": 26, "count_correct_pct": pytest.approx(14 / 26 * 100)}
    assert whole["models"]["spatial_stats_vae"]["data_mse"] == pytest.approx(ours["data_mse"])   # the sample is the split
    assert results["overfit"]["spatial_stats_mean_mse_train"] == seeded(0.00037791505522518715, 0.0003778567435618805)
    markdown = (smoke_pipeline.folders.figures / "results.md").read_text()
    assert "| correct orientation | 0 / 26 | 0 / 26 | 98 / 100 |" in markdown
    inference = results["inference"]          # beyond the paper: the first 8 test images three ways (smoke steps)
    assert inference["n"] == 8 and set(inference) == {"n", "z_mu", "refined", "from_statistics"}
    assert inference["refined"]["spatial_stats_mse"] == seeded(0.0003487562437242041, 0.00034868413379736065)
    assert inference["refined"]["spatial_stats_mse"] < inference["z_mu"]["spatial_stats_mse"]
    limit = inference["from_statistics"]      # 100 pixel steps already match the statistics better than the VAE
    assert limit["spatial_stats_mse"] == seeded(None, 3.019997109832595e-06, rel=1e-3)   # from the field start
    assert limit["orientation_correct_pct"] == 100.0
    assert limit["line_count_correct_pct"] == seeded(None, 25.0, abs=0, unmeasured_abs=25)   # 2 of 8 in 100 steps
    assert f"| from statistics | 100 | {limit['line_count_correct_pct']:g} |" in markdown


def _figure_cells(notebook: dict) -> list[tuple[str, list[dict]]]:
    """(source, outputs) of each code cell that draws a figure (shows or saves one)."""
    cells = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and re.search(r"save_figure\(|display\(fig|display\(show\(|update\(", source):
            cells.append((source, cell.get("outputs", [])))
    return cells


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_figure_of_the_executed_notebook_is_an_image(smoke_pipeline, name):
    """What JupyterLab shows: a figure cell must have an image/png output, never "<Figure size ...>"."""
    notebook = executed(smoke_pipeline, name)
    cells = _figure_cells(notebook)
    assert cells, f"{name} draws no figure?"
    for source, outputs in cells:
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        saved = source.count("save_figure(")
        assert len(images) >= max(saved, 1), f"{name}: a figure cell shows {len(images)} images:\n{source}"
    as_text = [o for c in notebook["cells"] for o in c.get("outputs", [])
               if "image/png" not in o.get("data", {}) and "<Figure size" in "".join(o.get("data", {}).get("text/plain", ""))]
    assert not as_text, f"{name} shows a figure as text: {as_text[0]}"


WIDGET_REPR = re.compile(r"^(interactive|HBox|VBox|Box|Output|IntSlider|FloatSlider|Dropdown|Button)\(")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def assert_quiet_and_static(notebook: dict, name: str) -> None:
    """What a reader of the executed copy sees: progress as plain stdout lines, no red stderr bar; each
    widget (stored without its state) says in words what it is and has a static figure after it."""
    for cell in notebook["cells"]:
        outputs = cell.get("outputs", [])
        for i, o in enumerate(outputs):
            if o["output_type"] == "stream" and o["name"] == "stderr":
                assert "%|" not in "".join(o["text"]), f"{name}: a progress bar on stderr: {''.join(o['text'])[:120]}"
            data = o.get("data", {})
            assert not WIDGET_REPR.match("".join(data.get("text/plain", ""))), \
                f"{name}: a widget shows as {''.join(data['text/plain'])[:60]!r} (utils.notebook.widgets.noted)"
            if WIDGET_VIEW in data:
                assert any("image/png" in later.get("data", {}) for later in outputs[i + 1:]), \
                    f"{name}: a widget without a static figure after it:\n{''.join(cell['source'])}"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_the_executed_notebook_shows_progress_quietly_and_every_widget_statically(smoke_pipeline, name):
    assert_quiet_and_static(executed(smoke_pipeline, name), name)


def test_a_notebook_run_by_hand_writes_its_figures_to_runs_never_to_the_committed_ones(run_notebook, tmp_path):
    committed = REPO / "figures" / "01_summary.json"
    before = committed.read_bytes()
    mine = REPO / "runs" / "figures" / "smoke" / "01_summary.json"
    mine.unlink(missing_ok=True)
    run_notebook("01_dataset_synthesis", PROFILE="smoke", DATA_DIR=str(tmp_path / "data"))      # FIG_DIR left None
    assert read_json(mine)["dataset"] == "lines_n256_s32_l1-5_seed0"
    assert committed.read_bytes() == before

