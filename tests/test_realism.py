"""The two-sample test of realism tells textures apart and not two draws of one texture; the Gaussians of codes
recover what they were fitted to and draw the same codes for the same seed; bad input is refused by name."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

import utils.evaluation
from utils.evaluation.realism import (REALISM_DESCRIPTORS, material_gaussians, prior_codes, realism_table,
                                      sample_codes, two_sample_accuracy)
from utils.statistics.descriptors import describe


def blobs(n: int, width: float, seed: int, size: int = 32) -> np.ndarray:
    """(n, size, size) in {0, 1}: Gaussian noise smoothed over ``width`` px, thresholded at each image's median
    (phase fraction 0.5 in every image, whatever the width)."""
    noise = np.random.default_rng(seed).normal(size=(n, size, size))
    smooth = gaussian_filter(noise, sigma=(0, width, width), mode="wrap")
    return (smooth >= np.median(smooth, axis=(1, 2), keepdims=True)).astype(np.float64)


@pytest.fixture(scope="module")
def textures() -> dict[tuple[float, int], pd.DataFrame]:
    """(smoothing width, seed) -> the descriptors of 100 images of that texture."""
    return {(width, seed): describe(blobs(100, width, seed)) for width in (1.5, 4.0) for seed in (1, 2)}


@pytest.mark.parametrize("width", [1.5, 4.0])
def test_two_draws_of_one_texture_are_indistinguishable(textures, width):
    accuracy = two_sample_accuracy(textures[width, 1], textures[width, 2])
    assert abs(accuracy - 0.5) <= 0.12, accuracy


def test_two_textures_at_the_same_phase_fraction_are_told_apart(textures):
    fine, coarse = textures[1.5, 1], textures[4.0, 2]
    assert np.allclose(fine["phase_fraction"], 0.5) and np.allclose(coarse["phase_fraction"], 0.5)
    assert two_sample_accuracy(fine, coarse) >= 0.9


def test_a_difference_of_spread_alone_is_caught():
    rng = np.random.default_rng(0)
    narrow = pd.DataFrame(8.0 + rng.normal(size=(100, 7)), columns=REALISM_DESCRIPTORS)
    wide = pd.DataFrame(8.0 + 2.0 * rng.normal(size=(100, 7)), columns=REALISM_DESCRIPTORS)
    assert two_sample_accuracy(narrow, wide) >= 0.75          # a linear classifier scores about 0.5 here


def test_unequal_sets_are_balanced_before_the_test(textures):
    # 100 real against 20 drawn rows of one texture: always guessing "real" would score 100 / 120 = 0.83 (the
    # quadratic classifier on the unbalanced rows: 0.83); balanced, there is no majority to guess
    accuracy = two_sample_accuracy(textures[4.0, 1], textures[4.0, 2].iloc[:20])
    assert accuracy <= 0.65, accuracy


def test_the_same_seed_gives_the_same_accuracy_and_another_seed_another_split(textures):
    real, drawn = textures[1.5, 1], textures[1.5, 2].iloc[:60]
    runs = [two_sample_accuracy(real, drawn, seed=s) for s in (3, 3, 4, 5, 6)]
    assert runs[0] == runs[1]
    assert len(set(runs[1:])) > 1                             # the seed does pick the rows and the folds


def test_sampled_codes_repeat_byte_for_byte_for_a_seed_and_differ_between_seeds():
    mean, cov = np.array([1.0, -2.0, 0.5]), np.diag([1.0, 2.0, 0.5])
    a, b, c = (sample_codes(mean, cov, 50, seed=s) for s in (7, 7, 8))
    assert a.shape == (50, 3) and a.dtype == np.float32
    assert a.tobytes() == b.tobytes() and not np.array_equal(a, c)
    p, q, r = (prior_codes(50, 4, seed=s) for s in (7, 7, 8))
    assert p.shape == (50, 4) and p.dtype == np.float32
    assert p.tobytes() == q.tobytes() and not np.array_equal(p, r)


def test_prior_codes_are_standard_normal():
    codes = prior_codes(20000, 3, seed=0).astype(np.float64)
    assert np.allclose(codes.mean(axis=0), 0.0, atol=0.03)
    assert np.allclose(np.cov(codes, rowvar=False), np.eye(3), atol=0.04)


def test_material_gaussians_recover_the_mean_and_covariance_of_known_gaussians():
    rng = np.random.default_rng(1)
    truth = {"b": (np.array([3.0, -1.0]), np.array([[2.0, 0.8], [0.8, 1.0]])),
             "a": (np.array([0.0, 5.0]), np.array([[0.5, -0.2], [-0.2, 0.3]]))}
    codes = np.vstack([rng.multivariate_normal(m, s, size=20000) for m, s in truth.values()])
    materials = ["b"] * 20000 + ["a"] * 20000
    fitted = material_gaussians(codes, materials)
    assert list(fitted) == ["a", "b"]
    for material, (mean, cov) in truth.items():
        assert fitted[material][0].shape == (2,) and fitted[material][1].shape == (2, 2)
        assert np.allclose(fitted[material][0], mean, atol=0.04)
        assert np.allclose(fitted[material][1], cov, atol=0.06)


def test_a_degenerate_material_gets_a_positive_definite_covariance():
    codes = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]])      # on a line: the plain covariance is singular
    (mean, cov), = material_gaussians(codes, ["x"] * 3).values()
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    assert sample_codes(mean, cov, 5, seed=0).shape == (5, 2)
    (_, one), = material_gaussians(codes[:, :1], ["x"] * 3).values()
    assert one.shape == (1, 1)


def test_realism_table_holds_one_row_per_method_and_material(textures):
    real = {"fine": textures[1.5, 1], "all": pd.concat([textures[1.5, 1], textures[4.0, 1]], ignore_index=True)}
    drawn = {"good": {"fine": textures[1.5, 2]}, "bad": {"fine": textures[4.0, 2], "all": textures[4.0, 2]}}
    table = realism_table(real, drawn, seed=0)
    assert table.columns.tolist() == ["method", "material", "accuracy", "n_real", "n_drawn"]
    assert table[["method", "material"]].values.tolist() == [["good", "fine"], ["bad", "fine"], ["bad", "all"]]
    assert table["n_real"].tolist() == [100, 100, 200] and table["n_drawn"].tolist() == [100, 100, 100]
    assert table["accuracy"].iloc[1] == two_sample_accuracy(real["fine"], textures[4.0, 2], seed=0)
    assert table["accuracy"].iloc[0] < 0.62 < 0.9 < table["accuracy"].iloc[1]
    assert utils.evaluation.realism_table is realism_table


def test_bad_input_is_refused_with_what_to_do(textures):
    real = textures[1.5, 1]
    with pytest.raises(ValueError, match=r"drawn lacks the columns \['clusters1'\].*describe"):
        two_sample_accuracy(real, real.drop(columns="clusters1"))
    with pytest.raises(ValueError, match="drawn has 4 rows, fewer than folds=5"):
        two_sample_accuracy(real, real.iloc[:4])
    with_nan = real.copy()
    with_nan.loc[3, "chord0_x"] = np.nan
    with pytest.raises(ValueError, match=r"real holds NaN or infinite values in \['chord0_x'\].*dropna"):
        two_sample_accuracy(with_nan, real)
    with pytest.raises(ValueError, match="folds must be an integer >= 2"):
        two_sample_accuracy(real, real, folds=1)
    with pytest.raises(ValueError, match="'glass', which real lacks"):
        realism_table({"fine": real}, {"vae": {"glass": real}})
    with pytest.raises(ValueError, match="must describe the same images"):
        material_gaussians(np.zeros((4, 2)), ["a"] * 3)
    with pytest.raises(ValueError, match="'b' has 1 code; a covariance needs at least 2"):
        material_gaussians(np.arange(8.0).reshape(4, 2), ["a", "a", "a", "b"])
    with pytest.raises(ValueError, match="codes hold NaN"):
        material_gaussians(np.array([[0.0], [np.nan]]), ["a", "a"])
    with pytest.raises(ValueError, match=r"mean must be \(k,\) and cov \(k, k\)"):
        sample_codes(np.zeros(2), np.eye(3), 5, seed=0)
