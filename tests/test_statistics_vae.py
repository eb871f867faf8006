"""The statistics VAE: a VAE whose decoder draws the statistics window, trained by utils.training.loop like every model,
and the images drawn from its statistics (utils.inverse.drawing)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

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


def test_its_loss_is_the_objective_on_the_decoded_windows_computed_directly(crops):
    """vae_loss with decoded statistics: Σ_r (w - f)² + 0.01 Σ_r (rho(w) - rho(f))², f the crops' soft-indicator
    window at eps 0.25, written out here without the Objective."""
    g = torch.Generator().manual_seed(0)
    x = torch.as_tensor(crops[:4])[:, None].double()
    windows = torch.rand(4, 7, 7, generator=g, dtype=torch.float64) * 0.5 + 0.25
    mu, logvar = torch.zeros(4, 9, dtype=torch.float64), torch.zeros(4, 9, dtype=torch.float64)
    objective = Objective(periodic=False, cutoff=3, autocovariance_weight=0.01)
    out = vae_loss(windows, x, mu, logvar, objective=objective, decoded_statistics=True)
    m = torch.exp(-x[:, 0] ** 2 / (2 * 0.25 ** 2))
    f = cutoff_window(spatial_statistics(x[:, 0], eps=0.25, periodic=False), 3)
    assert torch.allclose(f[:, 3, 3], m.square().mean(dim=(1, 2)))                 # f(0) = mean of m²
    rho = lambda v: (v - v[:, 3:4, 3:4] ** 2) / (v[:, 3:4, 3:4] * (1 - v[:, 3:4, 3:4]))
    expected = ((windows - f).square().sum(dim=(1, 2)) + 0.01 * (rho(windows) - rho(f)).square().sum(dim=(1, 2)))
    torch.testing.assert_close(out["recon"], expected.mean())
    torch.testing.assert_close(rho(f), normalised_autocovariance(f, uniform="zero"))
    with pytest.raises(ValueError, match="statistics loss"):
        vae_loss(windows, x, mu, logvar, loss="data", decoded_statistics=True)


def test_training_through_utils_train_lowers_the_error_and_is_seeded(cfg, run, tmp_path):
    history = read_history(run)
    assert history["val_recon"].iloc[-1] < 0.5 * history["val_recon"].iloc[0]
    assert {"train_total", "val_total", "lr", "seconds"} <= set(history.columns)
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.json", "finished.json", "history.csv", "last.pt"]
    again = train(cfg, tmp_path / "again", progress=False)
    a, b = load_run(run)[0], load_run(again)[0]
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    other = load_run(train(dataclasses.replace(cfg, seed=1, epochs=1), tmp_path / "other", progress=False))[0]
    assert not torch.equal(a.decoder.layers[0].weight, other.decoder.layers[0].weight)


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
    with pytest.raises(ValueError, match="only it takes a window"):
        ModelConfig(encoder="conv", image_size=16, window=3)
    with pytest.raises(ValueError, match="statistics decoder needs the conv encoder"):
        ModelConfig(encoder="resnet152", image_size=32, decoder="statistics", window=3)
    with pytest.raises(ValueError, match="autocovariance_weight applies to the non-periodic"):
        Objective(autocovariance_weight=0.01)
    model = build_vae(cfg.model)
    with pytest.raises(ValueError, match=r"expected a batch of shape \(B, 1, 16, 16\)"):
        model.encode(torch.zeros(2, 1, 32, 32))
    assert decode(model, np.zeros((2, 9), np.float32)).shape == (2, 7, 7)       # the decoded windows, whole
    with pytest.raises(ValueError, match="a statistics VAE decodes statistics"):
        refine_latent(model, np.zeros((1, 16, 16), np.float32), steps=1, progress=False)
    with pytest.raises(ValueError, match="needs a statistics VAE"):
        draw_images(build_vae(ModelConfig(image_size=16, base_channels=4)), np.zeros((1, 9), np.float32))
