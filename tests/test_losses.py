"""The training objective against direct (slow, obvious) computations on small inputs: the statistics term
(utils.statistics.objective.Objective, the one definition), the data-space loss, KL and their sum (utils.training.losses)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.statistics.objective import Objective
from utils.statistics.spectral import power_spectrum
from utils.statistics.two_point import spatial_statistics
from utils.training.losses import data_loss, kl_divergence, vae_loss


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest: tiny tensors on one thread


def direct_autocorrelation(m: np.ndarray, periodic: bool = True) -> np.ndarray:
    """f(r) = Σ_x m(x) m(x + r) / (number of pairs), r = 0 at (H//2, W//2), by a double loop: periodic (every
    pair, wrapped) or not (the pairs inside the image)."""
    h, w = m.shape
    f = np.zeros((h, w))
    for ry, rx in itertools.product(range(-(h // 2), h - h // 2), range(-(w // 2), w - w // 2)):
        pairs = [(y, x) for y in range(h) for x in range(w) if periodic or (0 <= y + ry < h and 0 <= x + rx < w)]
        f[ry + h // 2, rx + w // 2] = sum(m[y, x] * m[(y + ry) % h, (x + rx) % w] for y, x in pairs) / len(pairs)
    return f


def direct_stats(x: np.ndarray, phase: float = 0.0, eps: float = 0.25, periodic: bool = True) -> np.ndarray:
    return direct_autocorrelation(np.exp(-((x - phase) ** 2) / (2 * eps ** 2)), periodic)


def window(f: np.ndarray, c: int) -> np.ndarray:
    h, w = f.shape
    return f[h // 2 - c:h // 2 + c + 1, w // 2 - c:w // 2 + c + 1] if c else f


images = st.integers(1, 3).flatmap(lambda b: st.tuples(st.integers(2, 5), st.integers(2, 5)).flatmap(
    lambda hw: st.tuples(arrays(np.float64, (b, 1, *hw), elements=st.floats(0, 1)),
                         arrays(np.float64, (b, 1, *hw), elements=st.floats(0, 1)))))


@settings(max_examples=30, deadline=None)
@given(images, st.sampled_from([1.0, 0.04]), st.sampled_from([0.0, 0.1]), st.booleans(), st.sampled_from([0, 1]))
def test_the_objective_is_the_direct_sum_over_widths_and_offsets(pair, scale, sharp_eps, periodic, cutoff):
    """Σ_widths Σ_r ((f(x') - f(x)) / scale)² per image: periodic from the targets' power spectra (Parseval, one FFT
    each way; the narrow term's target derived from the eps one), or non-periodic in real space, in a window."""
    recon, x = pair
    cutoff = 0 if periodic or min(x.shape[-2:]) < 3 else cutoff
    objective = Objective(scale=scale, sharp_eps=sharp_eps, periodic=periodic, cutoff=cutoff)
    binary = (x > 0.5).astype(np.float64)          # the narrow term's target is derived exactly for binary targets
    expected = [sum(np.sum(((window(direct_stats(r[0], eps=e, periodic=periodic), cutoff)
                             - window(direct_stats(t[0], eps=e, periodic=periodic), cutoff)) / scale) ** 2)
                    for e in objective.widths) for r, t in zip(recon, binary)]
    targets = objective.targets(torch.from_numpy(binary))
    got = objective.per_image(torch.from_numpy(recon), targets)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-12)
    flat = objective.per_image(torch.from_numpy(recon[:, 0]), objective.targets(torch.from_numpy(binary[:, 0])))
    np.testing.assert_allclose(flat.numpy(), expected, rtol=1e-9, atol=1e-12)      # (n, H, W) as (n, 1, H, W)


@pytest.mark.parametrize("shape", [(3, 1, 8, 7), (2, 6, 6), (2, 1, 9, 10)])
@pytest.mark.parametrize("scale", [1.0, 0.04])
def test_the_periodic_objective_has_the_gradient_of_the_real_space_sum(shape, scale):
    gen = torch.Generator().manual_seed(5)
    recon = torch.rand(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    x = (torch.rand(shape, dtype=torch.float64, generator=gen) > 0.6).double()
    objective = Objective(scale=scale)
    fast = objective.per_image(recon, objective.targets(x)).sum()
    slow = ((spatial_statistics(recon) - spatial_statistics(x)) / scale).square().sum()
    assert fast.item() == pytest.approx(slow.item(), rel=1e-12)
    (g_slow,) = torch.autograd.grad(slow, recon)
    (g_fast,) = torch.autograd.grad(fast, recon)
    torch.testing.assert_close(g_fast, g_slow, rtol=1e-9, atol=1e-15)
    assert torch.autograd.gradcheck(lambda r: objective.per_image(r, (power_spectrum(x) * 0.9,)), (recon,))


def test_the_fast_path_in_float32_agrees_with_real_space_on_lines_images():
    """The float32 training case: both paths agree to ~1e-6 relative (loss and gradient)."""
    from utils.data.lines import generate_lines
    images, _ = generate_lines(8, size=64, seed=3)
    x = torch.from_numpy(images).float()[:, None]
    recon = torch.rand(x.shape, generator=torch.Generator().manual_seed(7)).requires_grad_(True)
    objective = Objective()
    ref = (spatial_statistics(recon.double()) - spatial_statistics(x.double())).square().sum()
    slow = (spatial_statistics(recon) - spatial_statistics(x)).square().sum()
    fast = objective.per_image(recon, objective.targets(x)).sum()
    assert fast.dtype == torch.float32
    assert fast.item() == pytest.approx(slow.item(), rel=3e-6)
    assert fast.item() == pytest.approx(ref.item(), rel=3e-6)     # float32 summation kept accurate
    (g_slow,) = torch.autograd.grad(slow, recon)
    (g_fast,) = torch.autograd.grad(fast, recon)
    assert ((g_fast - g_slow).norm() / g_slow.norm()).item() < 1e-5


def test_the_objective_by_hand_on_one_white_image():
    """One 2x2 white image against a target of zero statistics (a zero spectrum)."""
    recon = torch.ones(1, 1, 2, 2, dtype=torch.float64)
    m = np.exp(-1 / (2 * 0.25 ** 2))        # indicator of a white pixel, exp(-8)
    # every offset pairs 4 pixels of value m: f(r) = 4 m^2 / 4 = m^2 at all 4 offsets
    expected = 4 * (m ** 2) ** 2
    assert Objective().per_image(recon, (torch.zeros(1, 1, 2, 2, dtype=torch.float64),)).item() == \
        pytest.approx(expected, rel=1e-12)


def test_the_objective_is_zero_for_own_statistics_and_differentiable():
    x = torch.rand(2, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    objective = Objective(periodic=False)
    target = objective.targets(x.detach())
    assert objective.per_image(x, target).abs().max().item() == pytest.approx(0.0, abs=1e-20)
    assert torch.autograd.gradcheck(lambda r: objective.per_image(r, (target[0] * 0.9,)), (x,))


@settings(max_examples=25, deadline=None)
@given(images, st.sampled_from(["sum", "mean"]))
def test_data_loss_matches_numpy(pair, reduction):
    recon, x = pair
    sq = (recon - x) ** 2
    expected = sq.reshape(len(sq), -1).sum(1).mean() if reduction == "sum" else sq.reshape(len(sq), -1).mean(1).mean()
    assert data_loss(torch.from_numpy(recon), torch.from_numpy(x), reduction=reduction).item() == \
        pytest.approx(expected, rel=1e-12, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4).flatmap(lambda b: st.integers(1, 6).flatmap(lambda d: st.tuples(
    arrays(np.float64, (b, d), elements=st.floats(-3, 3)), arrays(np.float64, (b, d), elements=st.floats(-4, 2))))))
def test_kl_matches_closed_form_and_torch_distributions(pair):
    mu, logvar = pair
    var = np.exp(logvar)
    # KL(N(mu, var) || N(0, 1)) per dimension = (var + mu^2 - 1 - log var) / 2
    expected = (0.5 * (var + mu ** 2 - 1 - logvar)).sum(axis=1).mean()
    got = kl_divergence(torch.from_numpy(mu), torch.from_numpy(logvar))
    assert got.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    q = torch.distributions.Normal(torch.from_numpy(mu), torch.from_numpy(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(mu.shape, dtype=torch.float64), 1.0)
    ref = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert got.item() == pytest.approx(ref.item(), rel=1e-9, abs=1e-12)
    assert kl_divergence(torch.from_numpy(mu), torch.from_numpy(logvar), reduction="mean").item() == \
        pytest.approx(expected / mu.shape[1], rel=1e-9, abs=1e-12)


def test_kl_is_zero_only_at_the_prior():
    assert kl_divergence(torch.zeros(3, 9), torch.zeros(3, 9)).item() == 0.0
    assert kl_divergence(torch.full((3, 9), 0.1), torch.zeros(3, 9)).item() > 0


@pytest.mark.parametrize("loss", ["spatial_stats", "data"])
def test_vae_loss_combines_weighted_components(loss):
    torch.manual_seed(0)
    x = (torch.rand(3, 1, 8, 8) > 0.7).float()
    recon = torch.rand(3, 1, 8, 8)
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    parts = vae_loss(recon, x, mu, logvar, loss=loss, alpha=2.0, beta=0.5)
    if loss == "spatial_stats":
        rec = (spatial_statistics(recon) - spatial_statistics(x)).square().sum(dim=(1, 2, 3)).mean()
        given_target = vae_loss(recon, x, mu, logvar, loss=loss, alpha=2.0, beta=0.5, targets=(power_spectrum(x),))
        assert given_target["recon"].item() == pytest.approx(rec.item(), rel=1e-6)
    else:
        rec = data_loss(recon, x)
    assert parts["recon"].item() == pytest.approx(rec.item(), rel=1e-6)
    assert parts["kl"].item() == pytest.approx(kl_divergence(mu, logvar).item(), rel=1e-6)
    assert parts["total"].item() == pytest.approx(2.0 * rec.item() + 0.5 * parts["kl"].item(), rel=1e-6)


def test_bad_arguments_are_rejected():
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="reduction"):
        data_loss(x, x, reduction="max")
    with pytest.raises(ValueError, match="same shape"):
        data_loss(x, x[:1])
    with pytest.raises(ValueError, match="scale must be > 0"):
        Objective(scale=0.0)
    with pytest.raises(ValueError, match="loss must be"):
        vae_loss(x, x, torch.zeros(2, 3), torch.zeros(2, 3), loss="l1")
    with pytest.raises(ValueError, match="half spectrum"):
        Objective().per_image(x, (spatial_statistics(x),))
    with pytest.raises(ValueError, match="same number of images"):
        Objective().per_image(x, (power_spectrum(x)[:1],))
    with pytest.raises(ValueError, match="same number of items"):
        Objective(periodic=False).per_image(x, (spatial_statistics(x, periodic=False)[:1],))


def test_the_sharp_term_adds_the_narrow_indicator_term_computed_directly():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1, 16, 16, generator=g, dtype=torch.float64) > 0.8).double()
    recon = torch.rand(4, 1, 16, 16, generator=g, dtype=torch.float64)
    mu, logvar = torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 3, dtype=torch.float64)
    out = vae_loss(recon, x, mu, logvar, targets=(power_spectrum(x),), objective=Objective(sharp_eps=0.1, scale=0.3))
    expected = sum(((spatial_statistics(recon, eps=e) - spatial_statistics(x, eps=e)) / 0.3).square().sum(dim=(1, 2, 3))
                   for e in (0.25, 0.1)).mean()
    torch.testing.assert_close(out["recon"], expected)
    plain = vae_loss(recon, x, mu, logvar, targets=(power_spectrum(x),), objective=Objective(scale=0.3))
    assert out["recon"] > plain["recon"]
