"""utils.losses against direct (slow, obvious) computations on small inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from utils.losses import data_loss, kl_divergence, spatial_stats_loss, vae_loss
from utils.objective import Objective
from utils.spectral import power_spectrum
from utils.stats import spatial_statistics


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest: tiny tensors on one thread


def direct_autocorrelation(m: np.ndarray) -> np.ndarray:
    """f(r) = 1/S sum_x m(x) m(x + r) (periodic), r = 0 at (H//2, W//2), by a double loop."""
    h, w = m.shape
    f = np.zeros((h, w))
    for ry in range(h):
        for rx in range(w):
            total = sum(m[y, x] * m[(y + ry) % h, (x + rx) % w] for y in range(h) for x in range(w))
            f[(ry + h // 2) % h, (rx + w // 2) % w] = total / (h * w)
    return f


def direct_stats(x: np.ndarray, phase: float = 0.0, eps: float = 0.25) -> np.ndarray:
    return direct_autocorrelation(np.exp(-((x - phase) ** 2) / (2 * eps ** 2)))


images = st.integers(1, 3).flatmap(lambda b: st.tuples(st.integers(2, 5), st.integers(2, 5)).flatmap(
    lambda hw: st.tuples(arrays(np.float64, (b, 1, *hw), elements=st.floats(0, 1)),
                         arrays(np.float64, (b, 1, *hw), elements=st.floats(0, 1)))))


@settings(max_examples=25, deadline=None)
@given(images, st.sampled_from(["sum", "mean"]), st.sampled_from([1.0, 0.04]),
       st.sampled_from(["target_stats", "target_spectrum"]))
def test_spatial_stats_loss_matches_direct_sum(pair, reduction, scale, target_kind):
    """Both targets give the direct real-space value: real-space statistics, or their power spectra
    (the fast path: Parseval, one FFT each way), on odd and even sides."""
    recon, x = pair
    target = np.stack([direct_stats(img[0]) for img in x])
    per_image = [((direct_stats(r[0]) - t) / scale) ** 2 for r, t in zip(recon, target)]
    reduce = np.sum if reduction == "sum" else np.mean
    expected = np.mean([reduce(p) for p in per_image])
    given_target = (torch.from_numpy(target) if target_kind == "target_stats"
                    else power_spectrum(torch.from_numpy(x)))
    got = spatial_stats_loss(torch.from_numpy(recon), reduction=reduction, scale=scale, **{target_kind: given_target})
    assert got.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # targets with a channel dim, (B, 1, H, W) or (B, 1, H, W//2 + 1), serve (B, 1, H, W) reconstructions too
    again = spatial_stats_loss(torch.from_numpy(recon), reduction=reduction, scale=scale,
                               **{target_kind: given_target.reshape(len(recon), 1, *given_target.shape[-2:])})
    assert again.item() == pytest.approx(got.item(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("shape", [(3, 1, 8, 7), (2, 6, 6), (2, 1, 9, 10)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("scale", [1.0, 0.04])
def test_fast_path_gradient_equals_real_space_gradient(shape, reduction, scale):
    gen = torch.Generator().manual_seed(5)
    recon = torch.rand(shape, dtype=torch.float64, generator=gen, requires_grad=True)
    x = (torch.rand(shape, dtype=torch.float64, generator=gen) > 0.6).double()
    slow = spatial_stats_loss(recon, spatial_statistics(x), reduction=reduction, scale=scale)
    fast = spatial_stats_loss(recon, target_spectrum=power_spectrum(x), reduction=reduction, scale=scale)
    assert fast.item() == pytest.approx(slow.item(), rel=1e-12)
    (g_slow,) = torch.autograd.grad(slow, recon)
    (g_fast,) = torch.autograd.grad(fast, recon)
    torch.testing.assert_close(g_fast, g_slow, rtol=1e-9, atol=1e-15)
    assert torch.autograd.gradcheck(
        lambda r: spatial_stats_loss(r, target_spectrum=power_spectrum(x) * 0.9, reduction=reduction, scale=scale),
        (recon,))


def test_normalisation_divides_both_statistics_and_both_spectra():
    """scale c: the loss of f / c, i.e. of spectra / c; = the unscaled loss / c²."""
    gen = torch.Generator().manual_seed(6)
    recon = torch.rand(3, 1, 12, 12, dtype=torch.float64, generator=gen)
    x = (torch.rand(3, 1, 12, 12, dtype=torch.float64, generator=gen) > 0.8).double()
    c = spatial_statistics(x).amax().item()                # the batch's largest statistic
    by_hand = ((spatial_statistics(recon) / c - spatial_statistics(x) / c) ** 2).sum((1, 2, 3)).mean()
    fast = spatial_stats_loss(recon, target_spectrum=power_spectrum(x), scale=c)
    assert fast.item() == pytest.approx(by_hand.item(), rel=1e-12)
    assert fast.item() == pytest.approx(spatial_stats_loss(recon, target_spectrum=power_spectrum(x)).item() / c**2,
                                        rel=1e-12)


def test_fast_path_float32_agrees_with_real_space_on_lines_images():
    """The float32 training case: both paths agree to ~1e-6 relative (loss and gradient)."""
    from utils.lines import generate_lines
    images, _ = generate_lines(8, size=64, seed=3)
    x = torch.from_numpy(images).float()[:, None]
    recon = torch.rand(x.shape, generator=torch.Generator().manual_seed(7)).requires_grad_(True)
    ref = spatial_stats_loss(recon.double(), spatial_statistics(x.double()))
    slow = spatial_stats_loss(recon, spatial_statistics(x))
    fast = spatial_stats_loss(recon, target_spectrum=power_spectrum(x))
    assert fast.dtype == torch.float32
    assert fast.item() == pytest.approx(slow.item(), rel=3e-6)
    assert fast.item() == pytest.approx(ref.item(), rel=3e-6)     # float32 summation kept accurate
    (g_slow,) = torch.autograd.grad(slow, recon)
    (g_fast,) = torch.autograd.grad(fast, recon)
    assert ((g_fast - g_slow).norm() / g_slow.norm()).item() < 1e-5


def test_spatial_stats_loss_hand_example():
    """One 2x2 image by hand: white recon vs a target of zeros."""
    recon = torch.ones(1, 1, 2, 2, dtype=torch.float64)
    m = np.exp(-1 / (2 * 0.25 ** 2))        # indicator of a white pixel, exp(-8)
    # every offset pairs 4 pixels of value m: f(r) = 4 m^2 / 4 = m^2 at all 4 offsets
    expected = 4 * (m ** 2) ** 2
    got = spatial_stats_loss(recon, torch.zeros(1, 2, 2, dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-12)
    assert spatial_stats_loss(recon, torch.zeros(1, 2, 2, dtype=torch.float64), reduction="mean").item() == \
        pytest.approx(expected / 4, rel=1e-12)


def test_spatial_stats_loss_zero_for_own_statistics_and_differentiable():
    x = torch.rand(2, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    target = spatial_statistics(x.detach())
    assert spatial_stats_loss(x, target).item() == pytest.approx(0.0, abs=1e-20)
    assert torch.autograd.gradcheck(lambda r: spatial_stats_loss(r, target[:, 0] * 0.9), (x,))


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
        rec = spatial_stats_loss(recon, spatial_statistics(x))
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
    with pytest.raises(ValueError, match="scale"):
        spatial_stats_loss(x, x, scale=0.0)
    with pytest.raises(ValueError, match="loss must be"):
        vae_loss(x, x, torch.zeros(2, 3), torch.zeros(2, 3), loss="l1")
    with pytest.raises(ValueError, match="exactly one"):
        spatial_stats_loss(x)
    with pytest.raises(ValueError, match="exactly one"):
        spatial_stats_loss(x, spatial_statistics(x), target_spectrum=power_spectrum(x))
    with pytest.raises(ValueError, match="half spectrum"):
        spatial_stats_loss(x, target_spectrum=spatial_statistics(x))
    with pytest.raises(ValueError, match="same number of images"):
        spatial_stats_loss(x, target_spectrum=power_spectrum(x)[:1])
    with pytest.raises(ValueError, match="reduction"):
        spatial_stats_loss(x, target_spectrum=power_spectrum(x), reduction="max")


def test_sharp_term_adds_the_narrow_indicator_loss_computed_directly():
    from utils.losses import spatial_stats_loss, vae_loss
    from utils.spectral import power_spectrum
    from utils.stats import spatial_statistics
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1, 16, 16, generator=g, dtype=torch.float64) > 0.8).double()
    recon = torch.rand(4, 1, 16, 16, generator=g, dtype=torch.float64)
    mu, logvar = torch.zeros(4, 3, dtype=torch.float64), torch.zeros(4, 3, dtype=torch.float64)
    out = vae_loss(recon, x, mu, logvar, targets=(power_spectrum(x),), objective=Objective(sharp_eps=0.1, scale=0.3))
    expected = sum(spatial_stats_loss(recon, spatial_statistics(x, eps=e), eps=e, scale=0.3) for e in (0.25, 0.1))
    torch.testing.assert_close(out["recon"], expected)
    plain = vae_loss(recon, x, mu, logvar, targets=(power_spectrum(x),), objective=Objective(scale=0.3))
    assert out["recon"] > plain["recon"]
