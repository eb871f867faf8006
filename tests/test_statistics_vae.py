"""The statistics VAE: a VAE that reads and decodes the statistics window, starting as their PCA, trained by
utils.training.loop like every model, and the images drawn from its statistics (utils.inverse.drawing)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from utils.data.micrographs import as_vae_images, load_micrograph, random_crops
from utils.inverse.drawing import draw_images
from utils.inverse.inversion import refine_latent
from utils.inverse.latent import decode
from utils.statistics.maps import cutoff_window
from utils.statistics.objective import Objective
from utils.statistics.two_point import normalised_autocovariance, spatial_statistics
from utils.training.config import TrainConfig, config_for
from utils.training.loop import train
from utils.training.losses import vae_loss
from utils.training.models import ModelConfig, build_vae
from utils.training.runs import load_run, read_history
from utils.training.statistics_vae import (StatisticsDecoder, StatisticsEncoder, feature_weights, initialise_from_pca,
                                           window_features, windows_from_features)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> TrainConfig:
    return config_for("micro-smoke", "statistics_vae", image_size=16, cutoff=3, base_channels=4, hidden_dim=32,
                      n_crops=8, n_test_crops=2, epochs=30, batch_size=8, lr=3e-3,
                      data_dir=str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def run(cfg, tmp_path_factory):
    return train(cfg, tmp_path_factory.mktemp("runs") / "statistics_vae", progress=False)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    two = [as_vae_images(random_crops(load_micrograph(m), 16, size=16, seed=1)[0]) for m in ("ceramics", "copolymer")]
    return np.concatenate(two).astype(np.float32)


def test_its_loss_is_the_weighted_feature_distance_computed_directly(crops):
    """vae_loss with a statistics VAE's feature weights: Σ_r w_r² (rho(w) - rho(f))² + w_phi² (w(0) - f(0))², f the
    crops' soft-indicator window at eps 0.25, rho = (f - phi²) / (phi (1 - phi)), written out here by hand."""
    g = torch.Generator().manual_seed(0)
    x = torch.as_tensor(crops[:4])[:, None].double()
    windows = torch.rand(4, 7, 7, generator=g, dtype=torch.float64) * 0.5 + 0.25
    mu, logvar = torch.zeros(4, 9, dtype=torch.float64), torch.zeros(4, 9, dtype=torch.float64)
    weights = feature_weights(3, 2, outer_weight=0.1, phi_weight=1.0).double()
    objective = Objective(periodic=False, cutoff=3)
    out = vae_loss(windows, x, mu, logvar, objective=objective, feature_weights=weights)
    m = torch.exp(-x[:, 0] ** 2 / (2 * 0.25 ** 2))
    f = cutoff_window(spatial_statistics(x[:, 0], eps=0.25, periodic=False), 3)
    assert torch.allclose(f[:, 3, 3], m.square().mean(dim=(1, 2)))                 # f(0) = mean of m²
    rho = lambda v: (v - v[:, 3:4, 3:4] ** 2) / (v[:, 3:4, 3:4] * (1 - v[:, 3:4, 3:4]))
    w = torch.full((7, 7), 0.1, dtype=torch.float64)
    w[1:6, 1:6] = 1.0                                                              # |r| <= 2: weight 1
    expected = ((w * (rho(windows) - rho(f))).square().sum(dim=(1, 2))
                + 25 * (windows[:, 3, 3] - f[:, 3, 3]).square())                  # phi weighs sqrt(25 inner offsets)
    torch.testing.assert_close(out["recon"], expected.mean())
    torch.testing.assert_close(rho(f), normalised_autocovariance(f, uniform="zero"))
    with pytest.raises(ValueError, match="statistics loss"):
        vae_loss(windows, x, mu, logvar, loss="data", feature_weights=weights)


def test_features_and_windows_are_inverse_and_the_start_is_the_pca(crops):
    """windows_from_features undoes window_features; after initialise_from_pca, decode(mu) is the k-component PCA
    projection of the crops' features (scikit-learn's), and mu is whitened."""
    x = torch.as_tensor(crops)[:, None]
    weights = feature_weights(3, 2)
    f = cutoff_window(spatial_statistics(x[:, 0].double(), eps=0.25, periodic=False), 3).float()
    features = window_features(f, weights)
    torch.testing.assert_close(windows_from_features(features, 3, weights), f, atol=1e-6, rtol=1e-5)
    encoder, decoder = StatisticsEncoder(4, 3, 16, inner=2), StatisticsDecoder(4, 3, 16, inner=2)
    initialise_from_pca(encoder, decoder, x)
    with torch.no_grad():
        mu = encoder(x)[0]
        decoded = window_features(decoder(mu), weights).double()
    pca = PCA(n_components=4, svd_solver="full").fit(features.double().numpy())
    projected = pca.inverse_transform(pca.transform(features.double().numpy()))
    np.testing.assert_allclose(decoded.numpy(), projected, atol=2e-4)
    np.testing.assert_allclose(mu.std(dim=0, unbiased=False).numpy(), 1.0, atol=1e-4)
    assert np.abs(decoded.numpy() - features.double().numpy()).max() > 1e-3      # 4 numbers are not every feature
    with pytest.raises(ValueError, match="more than latent_dim = 4 crops"):
        initialise_from_pca(encoder, decoder, x[:4])


def test_training_through_utils_train_lowers_the_error_and_is_seeded(cfg, run, tmp_path):
    history = read_history(run)
    assert history["val_recon"].iloc[-1] < 0.9 * history["val_recon"].iloc[0]     # it starts as the PCA: already close
    assert {"train_total", "val_total", "lr", "seconds"} <= set(history.columns)
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.json", "finished.json", "history.csv", "last.pt"]
    again = train(cfg, tmp_path / "again", progress=False)
    a, b = load_run(run)[0], load_run(again)[0]
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    other = load_run(train(dataclasses.replace(cfg, seed=1, epochs=1), tmp_path / "other", progress=False))[0]
    assert not torch.equal(a.decoder.residual[0].weight, other.decoder.residual[0].weight)


def test_drawn_images_have_the_decoded_phase_fraction_and_follow_the_field_seed(run):
    model, cfg = load_run(run)
    assert model.decodes_statistics and cfg.decoder == "statistics"
    z = np.zeros((2, cfg.latent_dim), np.float32)
    out = draw_images(model, z, steps=300)                     # fewer pixel steps than the default: seconds less
    with torch.no_grad():
        phi = model.decode(torch.as_tensor(z))[:, 3, 3].numpy()
    assert out.images.shape == (2, 16, 16) and set(np.unique(out.images)) <= {0.0, 1.0}
    np.testing.assert_array_equal((out.images == 0).sum(axis=(1, 2)), np.round(phi * 256))
    assert draw_images(model, z, steps=300).images.tobytes() == out.images.tobytes()          # fixed seed: the same image
    assert np.abs(draw_images(model, z, seed=1, steps=300).images - out.images).max() == 1     # fresh seed: elsewhere


def test_bad_settings_and_inputs_are_refused(cfg):
    with pytest.raises(ValueError, match="needs loss=spatial_stats, periodic=false"):
        dataclasses.replace(cfg, loss="data")
    with pytest.raises(ValueError, match="cutoff=9 needs periodic=false and 0 < cutoff <= 7"):
        dataclasses.replace(cfg, cutoff=9)
    with pytest.raises(ValueError, match="needs loss=spatial_stats"):
        dataclasses.replace(cfg, sharp_eps=0.1)
    with pytest.raises(ValueError, match="phase=0 and eps=0.25"):
        dataclasses.replace(cfg, eps=0.1)
    with pytest.raises(ValueError, match="only they take a window"):
        ModelConfig(encoder="conv", image_size=16, window=3)
    with pytest.raises(ValueError, match="statistics encoder and decoder go together"):
        ModelConfig(encoder="conv", image_size=32, decoder="statistics", window=3)
    with pytest.raises(ValueError, match="statistics encoder and decoder go together"):
        ModelConfig(encoder="statistics", image_size=32, window=3)
    model = build_vae(cfg.model)
    with pytest.raises(ValueError, match=r"expected a batch of shape \(B, 1, 16, 16\)"):
        model.encode(torch.zeros(2, 1, 32, 32))
    assert decode(model, np.zeros((2, 9), np.float32)).shape == (2, 7, 7)       # the decoded windows, whole
    with pytest.raises(ValueError, match="a statistics VAE decodes statistics"):
        refine_latent(model, np.zeros((1, 16, 16), np.float32), steps=1, progress=False)
    with pytest.raises(ValueError, match="needs a statistics VAE"):
        draw_images(build_vae(ModelConfig(image_size=16, base_channels=4)), np.zeros((1, 9), np.float32))


def test_a_fresh_run_starts_from_the_pca_of_its_training_crops(cfg, tmp_path):
    """The loop calls initialise_from_pca on a fresh run: after one step at a negligible rate its linear maps are
    pca_start's, the PCA of the same training crops."""
    from utils.data.store import ensure_dataset, load_dataset
    from utils.evaluation.micro import pca_start
    from utils.training.runs import dataset_split

    model = load_run(train(dataclasses.replace(cfg, epochs=1, lr=1e-12), tmp_path / "start", progress=False))[0]
    images, _ = load_dataset(ensure_dataset(cfg.dataset, cfg.data_dir, progress=False))
    start = pca_start(model, images[dataset_split(cfg)["train"]].astype(np.float32))
    for name in ("encoder", "decoder"):
        for part in ("weight", "bias"):
            ours, pca = (getattr(getattr(m, name).linear, part) for m in (model, start))
            torch.testing.assert_close(ours, pca, atol=1e-6, rtol=1e-5)
    assert torch.abs(model.encoder.linear.weight).max() > 0.1        # not a blank start either
