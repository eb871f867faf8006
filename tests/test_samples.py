"""Samples of the code spaces (utils.evaluation.samples): each sampler draws with its own model, the same seed gives
the same images and table, and every material and the prior are judged."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from utils.evaluation.micro import pca_start
from utils.evaluation.samples import PRIOR, sample_and_judge, statistics_samplers
from utils.inverse.drawing import draw_images
from utils.training.models import ModelConfig, build_vae

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def setting():
    rng = np.random.default_rng(0)
    crops = (rng.random((24, 16, 16)) < np.repeat([0.3, 0.6], 12)[:, None, None]).astype(np.float32)
    torch.manual_seed(0)
    model = build_vae(ModelConfig(encoder="statistics", decoder="statistics", image_size=16, window=3,
                                  latent_dim=3, hidden_dim=8)).eval()
    return model, crops, ["sparse"] * 12 + ["dense"] * 12


def test_each_sampler_draws_with_its_own_model(setting):
    model, crops, _ = setting
    ours, pca = statistics_samplers(model, crops, steps=5)
    z = np.zeros((2, 3), np.float32) + 0.5
    assert ours.draw(z, 3).tobytes() == draw_images(model, z, seed=3, steps=5).images.tobytes()
    assert pca.draw(z, 3).tobytes() == draw_images(pca_start(model, crops), z, seed=3, steps=5).images.tobytes()
    assert ours.prior_is_normal and not pca.prior_is_normal
    np.testing.assert_allclose(pca.train_codes.std(axis=0), 1.0, atol=1e-3)     # whitened PCA coefficients


def test_the_same_seed_gives_the_same_samples_and_every_material_is_judged(setting):
    model, crops, materials = setting
    real = {"sparse": crops[:12], "dense": crops[12:]}
    first, again = (sample_and_judge(statistics_samplers(model, crops, steps=5), real, materials, n=6, seed=1,
                                     progress=False) for _ in range(2))
    assert first.table.equals(again.table)
    assert all(first.images[m][k].tobytes() == again.images[m][k].tobytes() for m in first.images for k in first.images[m])
    assert set(first.table["material"]) == {"sparse", "dense", PRIOR} and set(first.table["method"]) == {
        "statistics_vae", "pca"}
    assert first.table["recognised"].isna().sum() == 2 and first.table["accuracy"].between(0, 1).all()
    other = sample_and_judge(statistics_samplers(model, crops, steps=5), real, materials, n=6, seed=2, progress=False)
    assert other.images["pca"]["dense"].tobytes() != first.images["pca"]["dense"].tobytes()
