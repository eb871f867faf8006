"""Each notebook teaches to the end: it saves its numbers, then ends on its conclusion (Markdown written from those
numbers by :mod:`utils.notebook.endings`), three to five questions with collapsed answers, and what to try next, naming its
own parameters.  Notebook 03 shows one training step in the open before it trains, and that step computes the
objective exactly as the training loop does."""
from __future__ import annotations

import ast
import json
import re

import pytest

from utils.notebook import endings
from utils.project import PAPER, REPO

NOTEBOOKS = {"01": "01_dataset_synthesis", "02": "02_autocorrelation", "03": "03_train_vae", "04": "04_evaluation",
             "05": "05_latent_space", "06": "06_microstructure_statistics", "07": "07_microstructure_vaes",
             "08": "08_latent_design", "09": "09_volumes"}
FIGURES = REPO / "figures"


def _cells(key: str) -> list[dict]:
    cells = json.loads((REPO / "notebooks" / f"{NOTEBOOKS[key]}.ipynb").read_text())["cells"]
    return [{**c, "source": "".join(c["source"])} for c in cells]


def _parameters(cells: list[dict]) -> set[str]:
    """The names the cell tagged ``parameters`` assigns."""
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return {t.id for node in ast.parse(cell["source"]).body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _summary(key: str) -> dict:
    return json.loads((FIGURES / f"{key}_summary.json").read_text())


# ----------------------------------------------------------------------------- the shape of each ending

@pytest.mark.parametrize("key", NOTEBOOKS)
def test_the_notebook_ends_on_its_conclusion_then_questions_then_what_to_try(key):
    cells = _cells(key)
    conclusion, questions, to_try = cells[-3:]
    assert conclusion["cell_type"] == "code"
    assert re.fullmatch(rf"display\(Markdown\(endings\.conclusion_{key}\(.*\)\)\)\s*", conclusion["source"], re.S)
    assert re.search(r"^from IPython\.display import .*\bMarkdown\b", cells[1]["source"], re.M)
    assert re.search(r"^from utils.notebook import .*\bendings\b", cells[1]["source"], re.M)
    writer = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and f'"{key}_summary.json"' in c["source"]]
    assert writer and "write_json(" in cells[writer[-1]]["source"] and writer[-1] < len(cells) - 3, \
        "the numbers are saved before the ending"
    assert not any("print(f" in c["source"] for c in cells[writer[-1] + 1:]), "the conclusion is Markdown, not printed"

    assert questions["cell_type"] == "markdown" and questions["source"].startswith("## Questions")
    text = questions["source"]
    numbers = [int(n) for n in re.findall(r"^\*\*(\d+)\. .+\?\*\*$", text, re.M)]
    assert 3 <= len(numbers) <= 5 and numbers == list(range(1, len(numbers) + 1))
    answers = re.findall(r"<details><summary>Answer</summary>\n\n(.+?)\n\n</details>", text, re.S)
    assert len(answers) == len(numbers) == text.count("<details>") and all(len(a) > 80 for a in answers)
    # each question is followed by its own answer
    assert re.fullmatch(r"## Questions\n\n[^*]+(\n\n\*\*\d+\. .+?\*\*\n\n<details>.+?</details>)+", text, re.S)

    assert to_try["cell_type"] == "markdown" and to_try["source"].startswith("## What to try next")
    bullets = re.findall(r"^\* (.+)$", to_try["source"], re.M)
    assert 3 <= len(bullets) <= 5
    parameters = _parameters(cells)
    for bullet in bullets:
        named = set(re.findall(r"`([A-Z][A-Z0-9_]*)\b", bullet))
        assert named or "`make " in bullet, f"{key}: a bullet names no parameter nor make command: {bullet}"
        assert named <= parameters, f"{key}: {named - parameters} are not parameters of the notebook"


def test_every_conclusion_function_is_used_by_its_notebook_and_the_module_stays_short():
    assert endings.__all__ == [f"conclusion_{k}" for k in NOTEBOOKS]
    assert len((REPO / "utils" / "notebook" / "endings.py").read_text().splitlines()) <= 400


# ----------------------------------------------------------------------------- the conclusions, on the committed numbers

def test_conclusion_01_gives_the_dataset_and_its_volume_fraction():
    s = _summary("01")
    text = endings.conclusion_01(s)
    assert s["dataset"] in text and f"{s['n_images']} images" in text
    assert f"{s['vertical_fraction']:.1%}" in text and f"{s['mean_volume_fraction']:.4f}" in text
    assert all(f"{k} line{'s' if k != '1' else ''}: {v}" in text for k, v in s["n_lines_counts"].items())


def test_conclusion_02_gives_the_three_checks():
    s = _summary("02")
    text = endings.conclusion_02(s)
    assert f"{s['fft_vs_direct_max_abs_diff']:.1e}" in text and f"{s['translation_max_abs_diff']:.1e}" in text
    assert f"f(0) = {s['centre_value']:.6f}" in text and f"{s['volume_fraction']:.6f}" in text


def test_conclusion_03_gives_each_runs_epochs_and_final_validation_loss():
    s = _summary("03")
    text = endings.conclusion_03(s)
    for loss, value in s["final_val_loss"].items():
        assert f"{s['epochs'][loss]} epochs, final validation loss {value:.4f}" in text
    assert f"`{s['profile']}`" in text


def test_conclusion_04_sets_the_counts_and_ratios_against_the_paper_and_the_limit():
    s, results = _summary("04"), json.loads((FIGURES / "results.json").read_text())
    text = endings.conclusion_04(s, results)
    assert f"{s['orientation_correct']} / {s['n_test']}" in text and f"{s['line_count_correct']} / {s['n_test']}" in text
    assert f"{s['volume_fraction_diff_mean']:.1f} %" in text
    assert f"{s['ratios']['spatial_stats_mse']:.3f} (the paper: {PAPER['ratios']['spatial_stats_mse']:.2f})" in text
    assert f"{s['ratios']['data_mse']:.2f} (the paper: {PAPER['ratios']['data_mse']:.2f})" in text
    assert "0.50" in text and "3.60" in text
    assert f"{results['inference']['from_statistics']['line_count_correct_pct']:.1f} %" in text
    assert f"{results['whole_split']['models']['spatial_stats_vae']['line_count_correct_pct']:.1f} %" in text
    assert "claim holds" in text
    # it says what the numbers show whichever way they go
    turned = {**s, "ratios": {"spatial_stats_mse": 1.2, "data_mse": 1.03}}
    assert "does not hold here" in endings.conclusion_04(turned) and "claim holds" not in endings.conclusion_04(turned)


def test_conclusion_05_gives_the_errors_and_counts_of_the_sweep():
    s = _summary("05")
    text = endings.conclusion_05(s, decode_k=9)
    assert f"to {min(s['stats_mse_by_latent_dim'].values()):.2g}" in text
    assert f"count {s['pca_decoded_line_count_pct']:.0f} % of the lines right" in text
    assert f"score {s['pca_decoded_stats_mse']:.2g}" in text           # the PCA on images too, not only on statistics
    assert f"{s['robustness_line_count_pct']['0.3']:.0f} %" in text
    # it says which code wins, whichever way the counts go
    ahead = {**s, "line_count_pct_by_latent_dim": {**s["line_count_pct_by_latent_dim"], "9": 99.0}}
    behind = s["line_count_pct_by_latent_dim"]["9"] <= s["pca_decoded_line_count_pct"]
    assert ("does not beat" in text) == behind
    assert "counts more lines right" in endings.conclusion_05(ahead, decode_k=9)


def test_conclusion_06_gives_the_border_effect_and_the_closed_form_check():
    s = _summary("06")
    text = endings.conclusion_06(s, crop=64, n_disc_images=16)
    assert f"up to {s['periodic_vs_not_max_abs_diff']:.3f}" in text and "known answer" in text
    assert f"within {s['discs_closed_form_max_abs_diff']:.4f}" in text
    assert f"{s['correlation_length_px']['composite']:.1f} px (composite)" in text   # the micrographs' longest


def test_conclusion_07_gives_the_scores_and_the_classifier():
    s = _summary("07")
    text = endings.conclusion_07(s, latent_dim=9)
    assert f"On {s['n_test_crops']} held-out crops the " in text
    assert f"{s['scores']['from_statistics']['autocovariance_mse']:.4f}" in text
    assert f"statistics VAE {100 * s['classifier_accuracy']['statistics_vae']:.1f} %" in text
    # both yardsticks, and which code wins whichever way it goes
    ours, pca = s["statistics_scores"]["statistics_vae"], s["statistics_scores"]["pca"]
    assert f"({ours:.4f} against {pca:.4f}" in text
    assert f"{s['scores']['pca']['autocovariance_mse']:.4f}" in text
    swapped = {**s, "statistics_scores": {**s["statistics_scores"], "statistics_vae": pca, "pca": ours}}
    assert ("do not beat" in text) == (ours >= pca)
    assert ("do not beat" in text) != ("do not beat" in endings.conclusion_07(swapped, latent_dim=9))
    # the samples: how often the two-sample test tells them apart, per method
    prior = s["samples"]["statistics_vae/prior"]["two_sample_accuracy"]
    assert f"(prior {100 * prior:.0f} %)" in text and f"({s['n_samples']} per material" in text


def test_conclusion_08_gives_the_first_design_the_routes_and_the_path():
    s = _summary("08")
    text = endings.conclusion_08(s, path=("ceramics", "copolymer"))
    assert f"met the volume fraction within {s['first_design']['vf_miss']:.4f}" in text
    assert f"({s['comparison']['from_statistics']['statistics_error']:.3g} against" in text
    assert "from ceramics to copolymer, the volume fraction changes monotonically" in text
    turned = {**s, "path_monotone": {**s["path_monotone"], "volume_fraction": False}}
    assert "does not change monotonically" in endings.conclusion_08(turned, path=("ceramics", "copolymer"))


def test_conclusion_09_gives_the_slices_against_the_2d_limit_the_connectivity_and_the_design():
    s = _summary("09")
    text = endings.conclusion_09(s)
    rows = s["materials"]
    worst = max(rows, key=lambda m: rows[m]["plane_ratio_max"])
    assert f"at most {rows[worst]['plane_ratio_max']:.2f}× the 2D limit's" in text and f"(worst: {worst})" in text
    within = sum(r["plane_ratio_max"] <= 1.5 for r in rows.values())
    assert f"{within} of {len(rows)} materials stay within 1.5×" in text
    closer = sum(max(r["error"].values()) <= r["real_crops_error"] for r in rows.values())
    assert f"In {closer} of {len(rows)} materials every plane's slices are closer" in text
    transposed = sum(max(r["plane_error"].values()) <= r["transposed_error"] for r in rows.values())
    assert f"in {transposed} of {len(rows)} every plane's statistics are closer" in text
    assert f"alloy {min(rows['alloy']['connectivity']['phase 0'].values()):.2f}" in text
    truth = s["truth"]
    ratio = truth["reconstruction"]["slices, worst plane"] / truth["true volume"]["slices, worst plane"]
    assert f"({ratio:.2f}× the truth's)" in text
    assert f"phase-0 clusters, the truth's {truth['true volume']['phase-0 clusters']:.2f}×" in text
    spans = {**s, "truth": {**truth, "reconstruction": {**truth["reconstruction"], "phase 0 spanning, least axis": 1.0},
                            "true volume": {**truth["true volume"], "phase 0 spanning, least axis": 0.0}}}
    assert "one section's statistics do not fix it" in endings.conclusion_09(spans)
    design = s["design"]
    assert f"ξx/ξy = {design['target_anisotropy']:.2f}" in text and f"{design['anisotropy']['yz']:.2f} in the yz" in text
    better = {**s, "materials": {m: {**r, "plane_ratio_max": 1.0} for m, r in rows.items()}}
    assert f"{len(rows)} of {len(rows)} materials stay within 1.5×" in endings.conclusion_09(better)
    apart = {**s, "materials": {m: {**r, "transposed_error": 1.0 if m in ("alloy", "ceramics") else 0.0,
                                     "plane_ratio_max": 9.0 if m in ("carbonate", "pmma") else 1.0}
                                for m, r in rows.items()}}
    assert "isotropic are alloy and ceramics; the furthest from the 2D limit, carbonate and pmma" in \
        endings.conclusion_09(apart)


# ----------------------------------------------------------------------------- notebook 03's open training step

def _open_step(cells: list[dict]) -> tuple[int, int]:
    """Indices of the cell that takes the open step and of the cell that calls ``train(``."""
    step = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and "optimizer.step()" in c["source"])
    trains = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and re.search(r"(?<![.\w])train\(", c["source"]))
    return step, trains


def test_notebook_03_takes_one_training_step_in_the_open_before_it_trains():
    cells = _cells("03")
    step, trains = _open_step(cells)
    assert step < trains
    heading = max(i for i, c in enumerate(cells[:step]) if c["cell_type"] == "markdown" and c["source"].startswith("## "))
    assert cells[heading]["source"].startswith("## One training step in the open")
    opened = "\n".join(c["source"] for c in cells[heading:step + 1])
    for piece in ("prepare_training_data(", "ours.objective(data.stats_scale)", "torch.manual_seed(ours.seed)", "build_vae(ours.model)",
                  "torch.optim.Adam(", "losses.vae_loss(", "targets=(target,)", "manual_seed(SEED)"):
        assert piece in opened, piece


def test_notebook_03s_open_step_computes_the_training_loops_objective_and_lowers_it(tmp_path):
    """The open step's cells, run on the smoke profile: its objective before the step is the one the training loop
    computes (utils.training.loop._batch_row) on that batch with that noise, and the step lowers it."""
    import torch

    from utils.training import loop as loop_code
    from utils.training.device import Dist
    from utils.training.batches import prepare_training_data

    cells = _cells("03")
    step, _ = _open_step(cells)
    namespace: dict = {}
    exec(cells[1]["source"], namespace)                                    # the imports
    exec(next(c["source"] for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), namespace)
    namespace.update(PROFILE="smoke", DATA_DIR=str(tmp_path / "data"), RUNS_DIR=str(tmp_path / "runs"),
                     FIG_DIR=str(tmp_path / "figures"))
    setup = [c for c in cells[2:step + 1] if c["cell_type"] == "code" and "parameters" not in c.get("metadata", {}).get("tags", [])]
    for cell in setup:
        exec(cell["source"], namespace)
    before, after = namespace["before"], namespace["after"]
    assert after["total"].item() < before["total"].item()

    cfg = namespace["ours"]
    dist = Dist.from_env("cpu")
    data = prepare_training_data(cfg, dist, False)
    net, model, optimizer = loop_code._build(cfg, None, None, dist, namespace["autocast"])
    net.train()
    loop = loop_code._Loop(cfg, model, net, optimizer, data, dist, False, autocast=namespace["autocast"])
    _, parts = loop_code._batch_row(loop, model, (namespace["x"], namespace["target"]),
                                    torch.Generator().manual_seed(namespace["SEED"]))
    assert data.stats_scale == namespace["data"].stats_scale
    for key in ("total", "recon", "kl"):
        assert parts[key].item() == before[key].item(), key
