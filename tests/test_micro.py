"""The micrograph models' pieces: the dataset on disk and its split, the non-periodic loss and limit,
and the scores of notebook 07 (utils.evaluation.micro), each against a direct computation on small inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.data.micrographs import MATERIALS, MicrographSpec, as_vae_images, load_micrograph
from utils.data.store import ensure_dataset, load_dataset, save_dataset, split_from_labels
from utils.evaluation.micro import classify, pca_start, score
from utils.inverse.latent import encode_means
from utils.training.models import ModelConfig, build_vae
from utils.inverse.inversion import reconstruct_from_statistics
from utils.inverse.targets import Spectra
from utils.statistics.crops import crop_statistics
from utils.statistics.objective import Objective
from utils.statistics.pca import StatisticsPCA
from utils.statistics.two_point import phase_indicator
from utils.training.config import config_for
from utils.training.losses import vae_loss
from utils.training.runs import dataset_split


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest: tiny tensors on one thread


def direct_nonperiodic(m: np.ndarray) -> np.ndarray:
    """f(r) = sum over the pairs (x, x + r) inside the image of m(x) m(x + r), over their number;
    r = 0 at (H // 2, W // 2), offsets -H//2 .. H - 1 - H//2 (the layout of utils.statistics.two_point)."""
    h, w = m.shape
    f = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            ry, rx = i - h // 2, j - w // 2
            total, pairs = 0.0, 0
            for y in range(h):
                for x in range(w):
                    if 0 <= y + ry < h and 0 <= x + rx < w:
                        total += m[y, x] * m[y + ry, x + rx]
                        pairs += 1
            f[i, j] = total / pairs
    return f


small = arrays(np.float64, st.tuples(st.integers(3, 6), st.integers(3, 6)), elements=st.floats(0, 1))


@settings(max_examples=15, deadline=None)
@given(small, small, st.sampled_from([0.0, 0.1]))
def test_the_nonperiodic_loss_is_the_direct_sum_over_offsets(x, recon, sharp_eps):
    h, w = min(x.shape[0], recon.shape[0]), min(x.shape[1], recon.shape[1])
    x, recon = (x[:h, :w] > 0.5).astype(np.float64), recon[:h, :w]
    out = vae_loss(torch.tensor(recon)[None, None], torch.tensor(x)[None, None], torch.zeros(1, 2), torch.zeros(1, 2),
                   objective=Objective(periodic=False, sharp_eps=sharp_eps), alpha=1.0, beta=1.0)["recon"].item()
    expected = 0.0
    for width in (0.25, sharp_eps) if sharp_eps else (0.25,):
        m = lambda a: phase_indicator(torch.tensor(a), 0.0, width).numpy()
        expected += ((direct_nonperiodic(m(recon)) - direct_nonperiodic(m(x))) ** 2).sum()
    assert out == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_the_cutoff_compares_only_the_window_of_offsets():
    rng = np.random.default_rng(1)
    x = torch.tensor((rng.random((1, 1, 9, 9)) > 0.5).astype(np.float64))
    recon = torch.tensor(rng.random((1, 1, 9, 9)))
    out = vae_loss(recon, x, torch.zeros(1, 2), torch.zeros(1, 2),
                   objective=Objective(periodic=False, cutoff=2))["recon"].item()
    m = lambda a: phase_indicator(torch.tensor(a), 0.0, 0.25).numpy()
    window = np.s_[4 - 2:4 + 3, 4 - 2:4 + 3]
    diff = direct_nonperiodic(m(recon.numpy()[0, 0])) - direct_nonperiodic(m(x.numpy()[0, 0]))
    assert out == pytest.approx((diff[window] ** 2).sum(), rel=1e-6)
    assert out < (diff ** 2).sum()
    with pytest.raises(ValueError, match="non-periodic"):
        Objective(cutoff=2)
    with pytest.raises(ValueError, match="cutoff=40"):
        config_for("micro", cutoff=40)


def test_the_nonperiodic_loss_sees_the_border():
    x = torch.ones(1, 1, 8, 8)
    x[..., 3:5, :] = 0                               # a 2-px band in the middle
    moved = torch.roll(x, 4, dims=-2)                # cut in two by the border: rows 0 and 7
    kw = dict(mu=torch.zeros(1, 2), logvar=torch.zeros(1, 2))
    assert vae_loss(moved, x, **kw)["recon"].item() < 1e-9                        # wrapped: the same statistics
    assert vae_loss(moved, x, objective=Objective(periodic=False), **kw)["recon"].item() > 1e-3   # not wrapped


def test_the_micrograph_dataset_round_trips_with_its_labels(tmp_path):
    spec = MicrographSpec(size=32, n_train=6, n_test=2)
    folder = ensure_dataset(spec, tmp_path, progress=False)
    images, labels = load_dataset(folder)
    assert images.shape == (spec.n_images, 32, 32) and set(np.unique(images)) <= {0, 1}
    assert list(labels.columns) == ["file", "material", "source", "split", "y", "x"]
    first = labels.index[(labels["material"] == "sandstone") & (labels["split"] == "test")][0]
    y, x = labels.loc[first, ["y", "x"]]
    expected = as_vae_images(load_micrograph("sandstone")[y:y + 32, x:x + 32])
    assert np.array_equal(images[first], expected)
    assert (labels.loc[labels["split"] == "test", "x"] >= 192).all()       # the held-out quarter
    assert (labels.loc[labels["split"] == "train", "x"] + 32 <= 192).all()
    assert ensure_dataset(spec, tmp_path, progress=False) == folder       # reused, not rebuilt
    with pytest.raises(ValueError, match="column 'file'"):
        save_dataset(tmp_path / "bad", images, labels.drop(columns="file"))


def test_the_split_follows_the_split_column():
    labels = pd.DataFrame({"split": ["train"] * 10 + ["test"] * 3 + ["train"] * 10})
    parts = split_from_labels(labels, val_fraction=0.2, seed=3)
    assert parts["test"].tolist() == [10, 11, 12]
    assert len(parts["val"]) == 4 and not set(parts["val"]) & set(parts["train"])
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(23))
    with pytest.raises(ValueError, match="'split' column"):
        split_from_labels(labels.rename(columns={"split": "region"}))
    with pytest.raises(ValueError, match="'held out'"):
        split_from_labels(pd.DataFrame({"split": ["train", "held out"]}))


def test_the_micro_profile_trains_on_held_out_regions(tmp_path):
    cfg = config_for("micro-smoke", data_dir=str(tmp_path))
    assert isinstance(cfg.dataset, MicrographSpec) and not cfg.periodic
    ensure_dataset(cfg.dataset, tmp_path, progress=False)
    _, labels = load_dataset(tmp_path / cfg.dataset.name)
    split = dataset_split(cfg)
    assert len(split["test"]) == 4 * len(MATERIALS)
    assert (labels.loc[split["test"], "x"] >= 192).all()                       # the held-out right quarter
    assert (labels.loc[np.concatenate([split["train"], split["val"]]), "x"] + 32 <= 192).all()


def test_the_nonperiodic_limit_matches_a_crop_and_refuses_spectra():
    crop = as_vae_images(load_micrograph("ceramics")[:16, :16])[None]
    out = reconstruct_from_statistics(crop, objective=Objective(periodic=False), steps=300, progress=False)
    assert out.images.shape == (1, 16, 16) and out.loss[0] < 0.05 * out.start_loss[0]   # the start already has phi and the interfaces
    with pytest.raises(ValueError, match="Spectra hold periodic statistics"):
        reconstruct_from_statistics(Spectra(np.zeros((1, 16, 9), np.float32), width=16), objective=Objective(periodic=False),
                                    steps=1, progress=False)


@settings(max_examples=10, deadline=None)
@given(arrays(np.uint8, (2, 7, 7), elements=st.integers(0, 1)))
def test_crop_statistics_are_the_direct_window_of_the_hard_indicator(images):
    stats = crop_statistics(images, cutoff=2)
    for image, f, cov, phi in zip(images, stats.maps("raw"), stats.maps("autocovariance"), stats.fraction):
        full = direct_nonperiodic((image == 0).astype(np.float64))[3 - 2:3 + 3, 3 - 2:3 + 3]
        assert np.allclose(f, full) and phi == pytest.approx((image == 0).mean())
        spread = phi * (1 - phi)
        assert np.allclose(cov, (full - phi ** 2) / spread if spread > 1e-12 else 0.0)


def test_scores_are_the_mean_square_and_the_fraction_in_points():
    a = crop_statistics(np.array([[[0, 1, 1], [1, 0, 1], [1, 1, 1]]]), cutoff=1)
    b = crop_statistics(np.array([[[0, 0, 1], [1, 0, 1], [1, 1, 1]]]), cutoff=1)
    row = score(a, b, ["m"], "x").iloc[0]
    assert row["vf_diff"] == pytest.approx(100 / 9)
    assert row["autocovariance_mse"] == pytest.approx(((a.autocovariance - b.autocovariance) ** 2).mean())


def test_a_uniform_candidate_is_collapsed_whatever_the_fft_rounds_its_fraction_to():
    from utils.statistics.crops import CropStatistics
    truth = crop_statistics(np.array([[[0, 1, 1], [1, 0, 1], [1, 1, 1]]]), cutoff=1)
    raw = np.zeros((4, 9))
    raw[:, 4] = [1.0, 1 - 2e-16, 4e-17, 0.5]          # filled, filled with rounding, empty with rounding, half
    rows = score(truth.rows(np.zeros(4, int)), CropStatistics.from_raw(raw, 1), ["m"] * 4, "x")
    assert rows["collapsed"].tolist() == [True, True, True, False]


def test_the_pca_is_exact_with_enough_components_and_codes_classify():
    rng = np.random.default_rng(0)
    images = (rng.random((40, 12, 12)) < np.repeat([0.2, 0.6], 20)[:, None, None]).astype(np.uint8)
    stats = crop_statistics(images, cutoff=3)
    full = StatisticsPCA.fit(stats, 39)
    assert np.allclose(full.project(stats).raw, stats.raw, atol=1e-8)
    assert np.allclose(full.project(stats).fraction, stats.fraction, atol=1e-8)
    few = StatisticsPCA.fit(stats, 2)
    assert not np.allclose(few.project(stats).autocovariance, stats.autocovariance, atol=1e-3)
    names = ["sparse"] * 20 + ["dense"] * 20
    accuracy, table = classify(few.codes(stats)[::2], names[::2], few.codes(stats)[1::2], names[1::2])
    assert accuracy == 1.0 and int(np.trace(table.to_numpy())) == 20


def test_the_pca_start_is_the_statistics_vae_before_training_with_whitened_codes():
    """pca_start: the statistics VAE's architecture whose codes are the whitened PCA coefficients of the training
    crops' features (unit spread, zero mean over them), the same bytes every call; an image VAE is refused."""
    rng = np.random.default_rng(1)
    crops = (rng.random((40, 16, 16)) < np.repeat([0.3, 0.6], 20)[:, None, None]).astype(np.float32)
    model = build_vae(ModelConfig(encoder="statistics", decoder="statistics", image_size=16, window=3,
                                  latent_dim=4, hidden_dim=8))
    start = pca_start(model, crops)
    codes = encode_means(start, crops)
    np.testing.assert_allclose(codes.std(axis=0), 1.0, atol=1e-3)
    np.testing.assert_allclose(codes.mean(axis=0), 0.0, atol=1e-3)
    assert encode_means(pca_start(model, crops), crops).tobytes() == codes.tobytes()
    assert not start.training and start.decode(torch.as_tensor(codes)).shape == (40, 7, 7)
    with pytest.raises(ValueError, match="needs a statistics VAE"):
        pca_start(build_vae(ModelConfig(image_size=16, base_channels=4)), crops)


def test_the_limit_refuses_single_phase_crops_nan_and_crops_smaller_than_the_cutoff():
    crop = as_vae_images(load_micrograph("ceramics")[:16, :16])[None].astype(np.float32)
    with pytest.raises(ValueError, match="target image 1 is a single phase"):
        reconstruct_from_statistics(np.concatenate([crop, np.ones_like(crop)]), objective=Objective(periodic=False), steps=1, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        reconstruct_from_statistics(np.where(crop == 0, np.nan, crop), objective=Objective(periodic=False), steps=1, progress=False)
    with pytest.raises(ValueError, match="cutoff must lie in"):
        reconstruct_from_statistics(crop, objective=Objective(periodic=False, cutoff=9), steps=1, progress=False)


def test_the_nonperiodic_limit_keeps_the_phase_fraction_exactly_and_draws_few_extra_interfaces():
    from utils.statistics.descriptors import describe

    crops = as_vae_images(np.stack([load_micrograph(m)[:48, :48] for m in ("ceramics", "composite")])).astype(np.float32)
    out = reconstruct_from_statistics(crops, objective=Objective(periodic=False), steps=400, progress=False)
    assert set(np.unique(out.images)) == {0.0, 1.0}
    assert ((out.images == 0).sum(axis=(1, 2)) == (crops == 0).sum(axis=(1, 2))).all()
    ratio = describe(out.images)["interface_density"] / describe(crops)["interface_density"]
    assert ratio.between(0.75, 1.5).all(), ratio.tolist()


def test_the_limit_of_the_bright_phase_mirrors_that_of_the_dark_one():
    crop = as_vae_images(load_micrograph("composite")[:24, :24])[None].astype(np.float32)
    dark = reconstruct_from_statistics(crop, objective=Objective(periodic=False), steps=50, progress=False)
    bright = reconstruct_from_statistics(1 - crop, objective=Objective(phase=1.0, periodic=False), steps=50, progress=False)
    assert ((bright.images == 1).sum() == (crop == 0).sum())       # the bright phase keeps its fraction
    np.testing.assert_array_equal(bright.images, 1 - dark.images)
