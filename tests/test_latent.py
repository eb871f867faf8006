"""Notebook 05 and what it calls: the PCA of the statistics (utils.statistics.pca), the codes (utils.inverse.latent), the explorer, the smoke sweep."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import read_json, seeded
from utils.data.lines import generate_lines
from utils.evaluation.latent_space import robustness
from utils.evaluation.sweep import LATENT_SIZES, sweep_runs
from utils.inverse.latent import decode, encode_means, features_to_spectra, interpolate
from utils.jobs import run_sweep
from utils.notebook.widgets import latent_explorer
from utils.statistics.pca import fit_statistics_pca, pca_errors, statistics_features
from utils.statistics.two_point import normalised_autocovariance, spatial_statistics
from utils.training.models import ModelConfig, build_vae


@pytest.mark.parametrize("k", [1, 3, 5])
def test_statistics_in_a_k_dimensional_subspace_need_exactly_k_components(k):
    rng = np.random.default_rng(k)
    features = rng.normal(size=(60, k)) @ rng.normal(size=(k, 40)) + rng.normal(size=40)
    pca = fit_statistics_pca(features, n_components=k + 2)
    errors = pca_errors(pca, features, [k - 1, k, k + 1])
    assert errors[0] > 1e-3 and errors[1] < 1e-20 and errors[2] < 1e-20


def test_features_are_the_statistics_and_their_autocovariance():
    images = generate_lines(3, size=16, seed=2)[0]
    raw = statistics_features(images)
    f = spatial_statistics(torch.as_tensor(images, dtype=torch.float64))
    np.testing.assert_allclose(raw, f.reshape(3, -1).numpy())
    cov = statistics_features(images, space="autocovariance").reshape(3, 16, 16)
    np.testing.assert_allclose(cov[:, 8, 8], 1.0)                       # r = 0: a correlation of 1
    np.testing.assert_allclose(cov, normalised_autocovariance(f).numpy())
    with pytest.raises(ValueError, match="space"):
        statistics_features(images, space="fourier")


def test_raw_statistics_back_to_spectra_round_trip():
    from utils.statistics.spectral import power_spectrum
    images = generate_lines(2, size=16, seed=5)[0]
    spectra = features_to_spectra(statistics_features(images), (16, 16))
    assert spectra.image_shape == (16, 16)
    np.testing.assert_allclose(spectra.values, power_spectrum(torch.as_tensor(images, dtype=torch.float64)).numpy(),
                               atol=1e-6)


def test_an_empty_phase_has_no_autocovariance():
    with pytest.raises(ValueError, match="empty or fills"):
        normalised_autocovariance(torch.zeros(1, 4, 4, dtype=torch.float64))


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_vae(ModelConfig(image_size=32, base_channels=8, latent_dim=3)).eval()


def test_the_explorer_redraws_the_decoded_image_and_its_own_statistics(model):
    starts = np.array([[0.0, 0.0, 0.0], [2.0, -1.0, 0.5]], dtype=np.float32)
    draw, controls = latent_explorer(model, starts)
    assert list(controls) == ["start", "z0", "z1", "z2"]
    controls["start"].value = 1                                  # moves the sliders to that code
    assert [controls[f"z{i}"].value for i in range(3)] == pytest.approx([2.0, -1.0, 0.5])
    shown = [draw(start=0, z0=0.0, z1=0.0, z2=0.0), draw(start=0, z0=2.5, z1=0.0, z2=0.0)]
    first, moved = (fig.axes[0].get_images()[0].get_array() for fig in shown)
    assert np.abs(np.asarray(moved) - np.asarray(first)).max() > 1e-3   # a coordinate changes the image
    decoded = decode(model, np.array([[2.5, 0.0, 0.0]]))[0]
    np.testing.assert_allclose(np.asarray(moved), decoded, atol=1e-6)
    stats = np.asarray(shown[1].axes[1].get_images()[0].get_array())
    np.testing.assert_allclose(stats, spatial_statistics(torch.as_tensor(decoded)).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="codes"):
        latent_explorer(model, np.zeros((2, 4)))


def test_robustness_starts_at_the_reconstruction_and_decodes_noise(model):
    images, labels = generate_lines(6, size=32, seed=1)
    table = robustness(model, images, labels, [0.0, 1.0], seed=0)
    assert table["sigma"].tolist() == [0.0, 1.0]
    from utils.evaluation.evaluate import per_image_table, reconstruct
    from utils.evaluation.report import summarise
    plain = summarise(per_image_table(images, labels, reconstruct(model, images)), percent=True)
    for key, value in plain.items():           # sigma = 0 is the plain reconstruction, scored the same way
        assert table.loc[0, key] == pytest.approx(value, rel=1e-5, abs=1e-9), key
    noisy = decode(model, encode_means(model, images) + 1.0 * np.random.default_rng(0).standard_normal((6, 3)))
    assert not np.allclose(noisy, reconstruct(model, images), atol=1e-3)
    path = interpolate(model, np.zeros(3), np.ones(3), steps=3)
    np.testing.assert_allclose(path[1], decode(model, np.full((1, 3), 0.5))[0], atol=1e-6)


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    """`make sweep` on the smoke profile (12 runs of seconds) and notebook 05 on it, once."""
    root = tmp_path_factory.mktemp("sweep")
    executed = run_sweep("smoke", root=root, progress=False, parameters=dict(
        FIG_DIR=str(root / "figures"), N_TEST=16, PCA_K=[1, 2, 3, 5, 9], DECODE_K=3, LIMIT_STEPS=50, SIGMAS=[0.0, 0.5]))
    return root, executed / "05_latent_space.ipynb"


def test_the_smoke_sweep_trains_every_size_of_both_losses(smoke_sweep):
    root, _ = smoke_sweep
    runs = sweep_runs("smoke", root / "runs")
    assert len(runs) == 2 * len(LATENT_SIZES) and all((run / "finished.json").is_file() for run in runs.values())
    assert read_json(runs[("data", 3)] / "config.json")["latent_dim"] == 3


def test_notebook_05_writes_its_scalars_and_figures(smoke_sweep):
    root, executed = smoke_sweep
    summary = read_json(root / "figures" / "05_summary.json")
    assert summary["profile"] == "smoke" and summary["n_test"] == 16
    assert list(summary["stats_mse_by_latent_dim"]) == [str(d) for d in LATENT_SIZES]
    pca = summary["pca_stats_mse"]
    assert pca["raw/k1"] > pca["raw/k9"] and pca["autocovariance/k1"] > pca["autocovariance/k9"]
    # seeded values of the smoke sweep (one thread, float32): a change here is a change of behaviour
    assert summary["stats_mse_by_latent_dim"]["9"] == pytest.approx(0.000361207037711829, rel=1e-3)
    assert summary["stats_mse_by_latent_dim"]["1"] == seeded(0.00041813569981309954, 0.0004200568063354423, rel=1e-3)
    assert pca["raw/k9"] == pytest.approx(4.587856119997764e-05, rel=1e-3)
    assert pca["autocovariance/k3"] == pytest.approx(0.009899473521383824, rel=1e-3)
    for name in ("05_latent_size.png", "05_pca_images.png", "05_latent_map.png", "05_latent_correlations.png",
                 "05_robustness.png", "05_prior_samples.png", "05_interpolation.png"):
        assert (root / "figures" / name).stat().st_size > 10_000, name
    from test_notebooks import _figure_cells, assert_quiet_and_static
    nb = read_json(executed)
    for source, outputs in _figure_cells(nb):
        assert any("image/png" in o.get("data", {}) for o in outputs), source
    assert_quiet_and_static(nb, "05_latent_space")
