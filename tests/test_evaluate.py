"""utils.evaluation.evaluate on stand-in models whose reconstructions are known (no training needed)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from utils.data.lines import DatasetSpec, generate_lines
from utils.data.store import split_indices
from utils.evaluation.evaluate import EvalData, evaluate_test_set, overfit_check, per_image_table, pick, reconstruct
from utils.evaluation.metrics import spatial_stats_mse_batch
from utils.evaluation.report import build_results, comparison_table, results_markdown, whole_split_scores, write_results


class Perfect(torch.nn.Module):
    """reconstruct(x) = x: every metric must say "right"."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


class Transposed(Perfect):
    """reconstruct(x) = x transposed: right counts, wrong orientation, far in data space."""

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(-1, -2).clone()


@pytest.fixture(scope="module")
def data() -> EvalData:
    spec = DatasetSpec(n_images=200, size=32, seed=2)
    images, labels = generate_lines(spec.n_images, size=spec.size, seed=spec.seed)
    return EvalData(images, labels, split_indices(spec.n_images, seed=spec.seed), spec, folder=None)


def test_reconstruct_batches_and_returns_float32(data):
    out = reconstruct(Transposed(), data.images[:10], batch_size=3)
    assert out.dtype == np.float32 and out.shape == (10, 32, 32)
    np.testing.assert_array_equal(out, data.images[:10].transpose(0, 2, 1))


def test_per_image_table_of_perfect_and_transposed_reconstructions(data):
    originals, labels = data.images[:20], data.labels.iloc[:20].reset_index(drop=True)
    perfect = per_image_table(originals, labels, originals.astype(np.float32))
    assert perfect["orientation_correct"].all() and perfect["line_count_correct"].all()
    assert (perfect["volume_fraction_diff"] == 0).all() and (perfect["data_mse"] == 0).all()
    assert (perfect["spatial_stats_mse"] == 0).all()
    flipped = per_image_table(originals, labels, originals.transpose(0, 2, 1).astype(np.float32))
    assert not flipped["orientation_correct"].any() and flipped["line_count_correct"].all()
    assert (flipped["data_mse"] > 0).all() and (flipped["volume_fraction_diff"] == 0).all()


def test_evaluate_test_set_and_results(data, tmp_path):
    models = {"spatial_stats": (Perfect(), None), "data": (Transposed(), None)}
    evaluation = evaluate_test_set(models, data, n_test=15, seed=0, progress=False)
    split, sample = evaluation.split, evaluation.sample
    np.testing.assert_array_equal(split.indices, data.split["test"])
    assert set(sample.indices) <= set(data.split["test"]) and len(sample.indices) == 15
    np.testing.assert_array_equal(sample.indices, pick(data.split["test"], 15, seed=0))
    np.testing.assert_array_equal(split.indices[evaluation.sample_positions], sample.indices)
    ours = sample.tables["spatial_stats"]
    # the sample's rows are the whole split's rows of those images
    split_rows = split.tables["spatial_stats"].iloc[evaluation.sample_positions].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[split_rows.columns], split_rows)
    # a perfect reconstruction is a test image itself: its nearest training image in statistics space has the
    # count of the one nearest to the original (the yardstick), found by a brute-force search here
    test, train = data.split["test"], data.split["train"]
    counts = data.labels["n_lines"].to_numpy()
    mse = np.stack([spatial_stats_mse_batch(np.repeat(data.images[i][None], len(train), 0), data.images[train])
                    for i in test])                                  # (n_test, n_train)
    nearest = train[mse.argmin(axis=1)]
    np.testing.assert_array_equal(ours["nearest_stats_index"], nearest[evaluation.sample_positions])
    assert set(ours["nearest_data_index"]) <= set(data.split["train"])
    np.testing.assert_array_equal(evaluation.nearest_to_original.loc[np.arange(len(test))], counts[nearest])

    overfit = overfit_check(Perfect(), data, n=12, seed=0, progress=False)
    assert len(overfit) == 2 * 2 * 12 and set(overfit["split"]) == {"train", "val"}
    train_rows = overfit[(overfit["split"] == "train") & (overfit["space"] == "data")]
    assert (train_rows["nearest_mse"] == 0).all()          # a perfect reconstruction of a training image

    results = build_results("test", evaluation, data, overfit)
    whole = results["whole_split"]
    n_split = len(data.split["test"])
    assert whole["n"] == n_split > 15
    ours_pct, vanilla_pct = whole["models"]["spatial_stats_vae"], whole["models"]["vanilla_vae"]
    assert ours_pct["orientation_correct_pct"] == ours_pct["line_count_correct_pct"] == 100.0 == 100 - \
        vanilla_pct["orientation_correct_pct"]              # transposed: every orientation wrong
    assert ours_pct["data_mse"] == 0.0 and whole["ratios"]["data_mse"] == 0.0 and vanilla_pct["data_mse"] > 0
    assert ours_pct["spatial_stats_mse"] == 0.0 and ours_pct["volume_fraction_diff_mean"] == 0.0
    expected = 100 * np.mean(counts[nearest] == counts[test])
    assert 0 < expected < 100   # a check that can fail both ways
    assert whole["nearest_to_original"] == {"n": n_split, "count_correct_pct": pytest.approx(expected)}
    capped = evaluate_test_set(models, data, n_test=15, n_nearest=5, progress=False)
    assert whole_split_scores(capped, data)["nearest_to_original"]["n"] == 5
    with pytest.raises(ValueError, match="n_nearest"):
        evaluate_test_set(models, data, n_nearest=0, progress=False)

    assert results["orientation_correct"] == results["line_count_correct"] == 15
    assert results["models"]["vanilla_vae"]["orientation_correct"] == 0
    assert results["data_mse"]["spatial_stats_vae"] == 0.0 and results["ratios"]["data_mse"] == 0.0
    assert results["volume_fraction_diff_mean"] == 0.0
    assert results["nearest_stats_count_correct"] == results["nearest_to_original_count_correct"] == \
        int(np.sum(counts[nearest][evaluation.sample_positions] == counts[sample.indices]))
    assert results["dataset"]["n_train"] == len(data.split["train"])
    json_path, md_path = write_results(tmp_path, results)
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(results))
    assert md_path.read_text() == results_markdown(results)
    assert "| correct orientation | 15 / 15 | 0 / 15 | 98 / 100 |" in md_path.read_text()
    assert f"on all {n_split} images of the test split" in md_path.read_text()
    assert "| correct number of lines (%) | 100 |" in md_path.read_text()
    assert f"Sanity check on {n_split} images of the test split" in md_path.read_text()
    # on the 3-7 lines dataset the paper reports only its two ratios: no 1-5 numbers in its column
    hard = results_markdown({**results, "dataset": {**results["dataset"], "lines": [3, 7]}})
    assert "| correct orientation | 15 / 15 | 0 / 15 | - |" in hard and "98 / 100" not in hard
    assert "| 3.02 |" in hard and "| 0.27 |" in hard and "| 3.6 |" not in hard
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]

    table = comparison_table(results)
    assert table.loc["correct orientation (of 15)"].tolist() == [15, 0, 98]
    assert table.loc["spatial-statistics MSE, ours / vanilla", "paper"] == 0.50
    hard_table = comparison_table({**results, "dataset": {**results["dataset"], "lines": [3, 7]}})
    assert hard_table.loc["correct orientation (of 15)", "paper"] is None
    assert hard_table.loc["data-space MSE, ours / vanilla", "paper"] == 3.02
