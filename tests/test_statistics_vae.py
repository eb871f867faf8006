"""utils.statistics_vae: a VAE whose decoder draws the statistics window, images drawn from them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.micro import crop_statistics
from utils.micrographs import as_vae_images, load_micrograph, random_crops
from utils.statistics_vae import (StatisticsVAEConfig, build_statistics_vae, crop_windows, draw_images,
                                  load_statistics_vae, save_statistics_vae, train_statistics_vae)

pytestmark = pytest.mark.usefixtures("one_thread")
CFG = StatisticsVAEConfig(image_size=16, cutoff=3, base_channels=4, hidden=32, epochs=30, batch_size=8, lr=3e-3)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    two = [as_vae_images(random_crops(load_micrograph(m), 16, size=16, seed=1)[0]) for m in ("ceramics", "copolymer")]
    return np.concatenate(two).astype(np.float32)


def test_the_windows_are_the_crops_statistics(crops):
    windows = crop_windows(crops, 3)
    assert windows.shape == (32, 7, 7) and windows.dtype == np.float32
    np.testing.assert_allclose(windows[:, 3, 3], (crops < 0.5).mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(windows, crop_statistics(crops, cutoff=3).maps("raw"), rtol=1e-6)


def test_training_lowers_the_statistics_error_and_is_seeded(crops):
    model, history = train_statistics_vae(crops, CFG, progress=False)
    again, _ = train_statistics_vae(crops, CFG, progress=False)
    assert history["statistics"].iloc[-1] < 0.5 * history["statistics"].iloc[0]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    other, _ = train_statistics_vae(crops, StatisticsVAEConfig(**{**CFG.__dict__, "seed": 1}), progress=False)
    assert not torch.equal(model.decoder[0].weight, other.decoder[0].weight)


def test_drawn_images_have_the_decoded_phase_fraction_and_follow_the_field_seed(crops, tmp_path):
    model, _ = train_statistics_vae(crops, CFG, progress=False)
    z = np.zeros((2, CFG.latent_dim), np.float32)
    out = draw_images(model, z, steps=300)                     # fewer pixel steps than the default: seconds less
    phi = model.decode(torch.as_tensor(z))[:, 3, 3].detach().numpy()
    assert out.images.shape == (2, 16, 16) and set(np.unique(out.images)) <= {0.0, 1.0}
    np.testing.assert_array_equal((out.images == 0).sum(axis=(1, 2)), np.round(phi * 256))
    assert draw_images(model, z, steps=300).images.tobytes() == out.images.tobytes()          # fixed seed: the same image
    assert np.abs(draw_images(model, z, seed=1, steps=300).images - out.images).max() == 1     # fresh seed: elsewhere
    loaded = load_statistics_vae(save_statistics_vae(model, tmp_path / "m"))
    assert loaded.config == CFG and torch.equal(loaded.decoder[0].weight, model.decoder[0].weight)


def test_bad_settings_and_inputs_are_refused(crops, tmp_path):
    with pytest.raises(ValueError, match="multiple of 16"):
        StatisticsVAEConfig(image_size=40)
    with pytest.raises(ValueError, match="cutoff must lie in"):
        StatisticsVAEConfig(image_size=16, cutoff=8)
    with pytest.raises(ValueError, match="do not fit image_size=16"):
        train_statistics_vae(np.zeros((2, 32, 32), np.float32), CFG, progress=False)
    with pytest.raises(ValueError, match="expected crops of shape"):
        build_statistics_vae(CFG).encode(torch.zeros(2, 1, 32, 32))
    with pytest.raises(FileNotFoundError, match="holds no statistics VAE"):
        load_statistics_vae(tmp_path)
