"""utils.inverse.inversion: images from statistics (the per-image limit), latent refinement, the optimiser."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from utils.data.lines import generate_lines
from utils.evaluation.metrics import count_lines, threshold_image
from utils.inverse.inversion import minimise, recentre, reconstruct_from_statistics, refine_latent
from utils.inverse.targets import Spectra, Windows
from utils.statistics.objective import Objective
from utils.statistics.spectral import power_spectrum
from utils.statistics.two_point import spatial_statistics
from utils.training.models import ModelConfig, build_vae


def direct_loss(images: torch.Tensor, targets: np.ndarray) -> np.ndarray:
    """Σ_r (f(image) - f(target))² per image, from the statistics themselves (float64)."""
    f = spatial_statistics(torch.as_tensor(images, dtype=torch.float64))
    return (f - spatial_statistics(torch.as_tensor(targets, dtype=torch.float64))).square().sum(dim=(-2, -1)).numpy()


@pytest.fixture(scope="module")
def lines() -> np.ndarray:
    return generate_lines(4, size=32, seed=3)[0]


def test_minimise_finds_each_items_own_minimum():
    target = torch.tensor([[3.0], [-1.0]])
    best, loss = minimise(torch.zeros(2, 1), lambda p: ((p - target) ** 2).sum(dim=1), steps=400, lr=0.1,
                          progress=False)
    np.testing.assert_allclose(best.numpy(), target.numpy(), atol=1e-2)
    assert loss.dtype == torch.float64 and (loss < 1e-4).all()


def test_a_rising_rate_takes_steps_of_the_rate_of_their_step_and_is_refused_when_not_positive():
    steps, lr, rise = 10, 0.05, 5.0                 # a constant gradient: Adam moves each parameter by the rate
    best, _ = minimise(torch.zeros(3), lambda p: p, steps=steps, lr=lr, lr_rise=rise, progress=False)
    expected = -lr * sum(1 + (rise - 1) * k / steps for k in range(steps))
    np.testing.assert_allclose(best.numpy(), expected, rtol=1e-5)
    constant, _ = minimise(torch.zeros(3), lambda p: p, steps=steps, lr=lr, progress=False)
    np.testing.assert_allclose(constant.numpy(), -lr * steps, rtol=1e-5)
    with pytest.raises(ValueError, match="lr_rise"):
        minimise(torch.zeros(1), lambda p: p, steps=2, lr=0.1, lr_rise=0.0, progress=False)


def test_reconstruction_from_statistics_matches_them_and_counts_the_lines(lines):
    out = reconstruct_from_statistics(lines, steps=800, lr=0.1, restarts=2, progress=False)
    assert out.images.shape == lines.shape and out.images.dtype == np.float32
    assert ((out.images > 0) & (out.images < 1)).all()
    # the loss reported is the statistics distance of the returned (recentred) images
    direct = direct_loss(out.images, lines)
    np.testing.assert_allclose(out.loss, direct, rtol=1e-3)
    assert (out.loss < 0.02 * out.start_loss).all()
    counts = [count_lines(threshold_image(image)) for image in out.images]
    truth = [count_lines(image) for image in lines]
    assert sum(c == t for c, t in zip(counts, truth)) >= 3, (counts, truth)


def test_reconstruction_is_seeded_batch_independent_and_takes_spectra(lines):
    kw = dict(steps=30, progress=False)
    a = reconstruct_from_statistics(lines, **kw)
    b = reconstruct_from_statistics(lines, batch_size=3, **kw)
    c = reconstruct_from_statistics(Spectra(power_spectrum(torch.as_tensor(lines, dtype=torch.float64)), width=32), **kw)
    assert a.images.tobytes() == c.images.tobytes() == reconstruct_from_statistics(lines, **kw).images.tobytes()
    np.testing.assert_allclose(b.images, a.images, atol=1e-4)   # batched FFTs round in another order
    assert np.abs(reconstruct_from_statistics(lines, seed=1, **kw).images - a.images).max() > 0.1


def test_spectra_carry_the_width_of_the_images_they_stand_for(lines):
    wide = np.pad(lines, ((0, 0), (0, 0), (0, 1)), constant_values=1)   # W = 33 and W = 32 share 17 columns
    kw = dict(steps=20, progress=False)
    spectra = power_spectrum(torch.as_tensor(wide, dtype=torch.float64))
    assert spectra.shape[-1] == 17
    from_images = reconstruct_from_statistics(wide, **kw)
    from_spectra = reconstruct_from_statistics(Spectra(spectra, width=33), **kw)
    assert from_spectra.images.shape == wide.shape == (4, 32, 33)
    assert from_spectra.images.tobytes() == from_images.images.tobytes()
    assert reconstruct_from_statistics(Spectra(spectra, width=32), **kw).images.shape == (4, 32, 32)


def test_a_plain_array_is_images_whatever_its_shape():
    shaped_like_spectra = np.ones((1, 32, 17))                 # (1, 32, 17): the shape of a 32-px image's half spectrum
    shaped_like_spectra[0, :, 5:8] = 0                         # a line
    out = reconstruct_from_statistics(shaped_like_spectra, steps=5, progress=False)
    assert out.images.shape == (1, 32, 17)


def test_typed_statistics_check_their_shape_and_the_objective_they_fit(lines):
    spectra = power_spectrum(torch.as_tensor(lines, dtype=torch.float64))          # (4, 32, 17)
    with pytest.raises(ValueError, match=r"Spectra values must be \(n >= 1, H, 9\).*power_spectrum"):
        Spectra(spectra, width=16)
    with pytest.raises(ValueError, match="Spectra width .* must be an integer >= 1"):
        Spectra(spectra, width=32.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        Spectra(torch.full((1, 8, 5), float("nan")), width=8)
    with pytest.raises(ValueError, match="cannot be had"):
        reconstruct_from_statistics(Spectra(spectra, width=32), objective=Objective(periodic=False), progress=False)
    windows = np.full((2, 7, 7), 0.3, np.float32)
    for bad in (np.zeros((2, 6, 6)), np.zeros((2, 7, 5)), np.zeros((0, 7, 7)), np.zeros((2, 1, 1)), np.zeros((7, 7))):
        with pytest.raises(ValueError, match=r"Windows values must be \(n >= 1, 2c \+ 1, 2c \+ 1\)"):
            Windows(bad, (16, 16))
    with pytest.raises(ValueError, match="c in 1..2 for 6 x 16 images"):
        Windows(windows, (6, 16))                              # a 7 x 7 window needs images of 7 px at least
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W\)"):
        Windows(windows, 16)
    assert Windows(windows, (16, 16)).cutoff == 3 and Windows(windows, tuple(np.array([16, 16]))).image_shape == (16, 16)
    for objective, words in ((Objective(), "the objective is periodic"),
                             (Objective(periodic=False, cutoff=3, sharp_eps=0.1), "sharp term"),
                             (Objective(periodic=False, cutoff=4), "cutoff=3 .* compares cutoff=4"),
                             (Objective(periodic=False), "compares cutoff=0")):
        with pytest.raises(ValueError, match=words):
            reconstruct_from_statistics(Windows(windows, (16, 16)), objective=objective, progress=False)


def test_more_restarts_never_end_further_from_the_target(lines):
    one = reconstruct_from_statistics(lines, steps=100, restarts=1, progress=False)
    three = reconstruct_from_statistics(lines, steps=100, restarts=3, progress=False)
    assert (three.loss <= one.loss * (1 + 1e-6)).all()       # restart 0 of both is the same start


@settings(max_examples=25)
@given(st.integers(0, 2 ** 31 - 1))
def test_recentring_is_a_translation_that_leaves_the_border_empty(seed):
    image, labels = generate_lines(1, size=32, seed=seed)
    rolled = np.roll(image, (seed % 32, (seed // 32) % 32), axis=(1, 2)).astype(np.float64)  # lines may wrap
    centred = recentre(rolled)
    f = spatial_statistics(torch.as_tensor(rolled))
    np.testing.assert_allclose(spatial_statistics(torch.as_tensor(centred)).numpy(), f.numpy(), atol=1e-12)
    assert count_lines(centred[0]) == labels["n_lines"][0]     # no line is cut in two by the border
    assert sorted(centred.ravel()) == sorted(rolled.ravel())


def test_bad_targets_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="NaN or inf"):
        reconstruct_from_statistics(np.full((1, 8, 8), np.nan), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"image\[None\]"):
        reconstruct_from_statistics(np.ones((8, 8)), steps=1, progress=False)
    with pytest.raises(ValueError, match="restarts"):
        reconstruct_from_statistics(np.ones((1, 8, 8)), restarts=0, progress=False)
    with pytest.raises(ValueError, match="steps"):
        reconstruct_from_statistics(np.ones((1, 8, 8)), steps=-1, progress=False)
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        reconstruct_from_statistics([[0, 1]], progress=False)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_vae(ModelConfig(image_size=32, base_channels=8, latent_dim=3)).eval()


def test_refining_z_lowers_the_statistics_loss_and_leaves_the_decoder_alone(model, lines):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    out = refine_latent(model, lines, steps=60, lr=0.1, progress=False)
    assert out.z.shape == (4, 3) and out.images.shape == (4, 32, 32)
    assert (out.loss <= out.start_loss).all() and (out.loss < out.start_loss).any()
    # the same, measured independently of refine_latent's own bookkeeping: the loss at z = mu and at z
    with torch.no_grad():
        mu = model.encode(torch.as_tensor(lines, dtype=torch.float32)[:, None])[0]
        at_mu = direct_loss(model.decode(mu)[:, 0], lines)
        at_z = direct_loss(model.decode(torch.as_tensor(out.z))[:, 0], lines)
    assert (at_z <= at_mu * (1 + 1e-6)).all() and (at_z < 0.99 * at_mu).any()
    np.testing.assert_allclose(out.loss, at_z, rtol=1e-4)
    np.testing.assert_allclose(out.start_loss, at_mu, rtol=1e-4)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [p.requires_grad for p in model.parameters()] == flags
    with torch.no_grad():
        decoded = model.decode(torch.as_tensor(out.z))[:, 0].numpy()
    np.testing.assert_allclose(out.images, decoded, atol=1e-6)


def test_refining_zero_steps_is_the_encoders_reconstruction(model, lines):
    out = refine_latent(model, lines, steps=0, progress=False)
    with torch.no_grad():
        expected = model.reconstruct(torch.as_tensor(lines, dtype=torch.float32)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(out.images, expected, atol=1e-6)
    np.testing.assert_array_equal(out.loss, out.start_loss)


def test_refining_from_given_codes_needs_as_many_as_targets(model, lines):
    with pytest.raises(ValueError, match="z0 holds 2 codes but target 4"):
        refine_latent(model, lines, z0=np.zeros((2, 3), dtype=np.float32), steps=1, progress=False)


def test_refining_takes_spectra_with_the_codes_to_start_from(model, lines):
    spectra = Spectra(power_spectrum(torch.as_tensor(lines, dtype=torch.float64)), width=32)
    with torch.no_grad():
        mu = model.encode(torch.as_tensor(lines, dtype=torch.float32)[:, None])[0].numpy()
    from_images = refine_latent(model, lines, steps=5, progress=False)
    from_spectra = refine_latent(model, spectra, z0=mu, steps=5, progress=False)
    np.testing.assert_array_equal(from_spectra.z, from_images.z)
    with pytest.raises(ValueError, match="pass z0"):
        refine_latent(model, spectra, steps=1, progress=False)
    with pytest.raises(ValueError, match="periodic"):
        refine_latent(model, Windows(np.full((4, 7, 7), 0.3), (32, 32)), z0=mu, steps=1, progress=False)
