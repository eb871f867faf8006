"""Design in the latent space (utils.inverse.design): its measurements against direct ones, its optimiser on a toy
decoder whose answer is known, its refusals, and the panel of notebook 08."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.data.micrographs import as_vae_images, load_micrograph
from utils.inverse.design import (DesignTarget, correlation_lengths, design_in_latent_space, interpolation_properties,
                                  properties, reachable_range)
from utils.inverse.inversion import reconstruct_from_statistics
from utils.inverse.targets import Windows
from utils.statistics.crops import crop_statistics
from utils.statistics.maps import correlation_length, directional_profiles
from utils.statistics.objective import Objective


class ToyDecoder(torch.nn.Module):
    """decode(z): phase 0 (dark) in the columns left of c = sigmoid(z[0]) of the width, a smooth edge, so
    that its volume fraction is c (in steps of 1/32): every target in (0, 1) has a known answer."""

    def __init__(self, size: int = 32) -> None:
        super().__init__()
        self.config = SimpleNamespace(latent_dim=2)
        self.decodes_statistics = False          # the VAE interface: decode(z) gives images
        self.register_buffer("ramp", ((torch.arange(size, dtype=torch.float32) + 0.5) / size)[None, None, :]
                             .expand(1, size, size).clone())
        self.sharpness = torch.nn.Parameter(torch.tensor(20.0))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        edge = torch.sigmoid(z[:, :1, None])
        return torch.sigmoid(self.sharpness * (self.ramp - edge) + 0.0 * z[:, 1:2, None])[:, None]


CROPS = Objective(periodic=False)            # the toy's statistics: non-periodic, every offset


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, (1, 9, 9), elements=st.floats(-1, 1)))
def test_correlation_lengths_are_the_profiles_crossings(maps):
    maps[0, 4, 4] = 1.0                                      # a normalised autocovariance is 1 at r = 0
    xi = correlation_lengths(torch.as_tensor(maps))[0]
    profiles = directional_profiles(torch.as_tensor(maps))
    for value, direction in zip(xi, ("x", "y")):
        expected = float(correlation_length(profiles[direction][0]))
        assert float(value) == pytest.approx(expected if math.isfinite(expected) else len(profiles[direction][0]) - 1,
                                             abs=1e-9)


def test_properties_see_the_volume_fraction_and_the_direction():
    stripes = np.ones((1, 32, 32))
    stripes[0, ::4] = 0                                      # 1-px horizontal lines, every 4th row
    row = properties(stripes).iloc[0]
    assert row["volume_fraction"] == pytest.approx(0.25)
    assert row["xi_x"] > 10 * row["xi_y"] and row["anisotropy"] > 10     # long along x, short along y
    assert properties(stripes.transpose(0, 2, 1)).iloc[0]["anisotropy"] < 0.1


@pytest.mark.parametrize("vf", [0.2, 0.5, 0.8])
def test_a_design_meets_a_reachable_volume_fraction(vf):
    model = ToyDecoder()
    before = [p.requires_grad for p in model.parameters()]
    design = design_in_latent_space(model, CROPS, DesignTarget(volume_fraction=vf), restarts=4, steps=150, lr=0.05,
                                    reachable={"volume_fraction": (0, 1), "anisotropy": (0, np.inf)})
    assert design.properties["vf_miss"].iloc[0] < 0.03
    assert list(design.cost) == sorted(design.cost) == list(design.properties["cost"])  # best first
    assert design.statistics.shape == (4, 32, 32)
    assert design.statistics[0, 16, 16] == pytest.approx(design.properties["volume_fraction"].iloc[0])  # f(0) = φ
    assert [p.requires_grad for p in model.parameters()] == before                     # the decoder left as it was
    again = design_in_latent_space(model, CROPS, DesignTarget(volume_fraction=vf), restarts=4, steps=150, lr=0.05,
                                   reachable={"volume_fraction": (0, 1), "anisotropy": (0, np.inf)})
    assert np.array_equal(design.z, again.z)                                           # seeded


def test_unreachable_and_malformed_targets_are_refused_with_the_range():
    model = ToyDecoder()
    reach = reachable_range(model, np.array([[0.0, 0.0], [0.1, 0.0]], np.float32))
    with pytest.raises(ValueError, match=r"outside what this model draws: .* to .*reachable_range"):
        design_in_latent_space(model, CROPS, DesignTarget(volume_fraction=0.95), reachable=reach)
    for bad, match in ((dict(), "needs a volume_fraction"), (dict(volume_fraction=1.2), r"\(0, 1\)"),
                       (dict(anisotropy=-1.0), "> 0"), (dict(statistics=np.full((3, 3), np.nan)), "NaN")):
        with pytest.raises(ValueError, match=match):
            DesignTarget(**bad)
    anything = {"volume_fraction": (0, 1), "anisotropy": (0, np.inf)}
    with pytest.raises(ValueError, match="restarts must be"):
        design_in_latent_space(model, CROPS, DesignTarget(volume_fraction=0.5), restarts=0, reachable=anything)
    with pytest.raises(ValueError, match=r"codes must be \(m >= 1, 2\)"):
        design_in_latent_space(model, CROPS, DesignTarget(volume_fraction=0.5), codes=np.zeros((3, 5)), reachable=anything)
    with pytest.raises(ValueError, match="all zero"):
        DesignTarget(statistics=np.zeros((3, 3)))
    assert np.isnan(properties(np.ones((1, 8, 8))).iloc[0]["anisotropy"])        # a single phase: undefined
    with pytest.raises(ValueError, match="target statistics of shape"):
        design_in_latent_space(model, CROPS, DesignTarget(statistics=np.ones((5, 5))), restarts=2, steps=1,
                               reachable={"volume_fraction": (0, 1), "anisotropy": (0, np.inf)})


def test_the_interpolation_runs_from_one_code_to_the_other():
    model = ToyDecoder()
    images, table = interpolation_properties(model, np.array([-1.0, 0.0]), np.array([1.0, 0.0]), steps=5)
    assert images.shape == (5, 32, 32) and table["t"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert table["volume_fraction"].is_monotonic_increasing


def test_the_limit_draws_an_image_from_statistics_alone():
    crop = as_vae_images(load_micrograph("ceramics")[:16, :16])[None]
    window = crop_statistics(crop, cutoff=4).maps("raw")
    out = reconstruct_from_statistics(Windows(window, (16, 16)), objective=Objective(periodic=False, cutoff=4), steps=400,
                                      progress=False)
    assert out.images.shape == (1, 16, 16) and out.loss[0] < 0.02 * out.start_loss[0]
    with pytest.raises(ValueError, match=r"c in 1\.\.7"):                        # a window of offset 0 only
        Windows(window[:, 4:5, 4:5], (16, 16))
    with pytest.raises(ValueError, match="Windows of cutoff=4 .* compares cutoff=3"):
        reconstruct_from_statistics(Windows(window, (16, 16)), objective=Objective(periodic=False, cutoff=3), steps=1,
                                    progress=False)


def test_the_design_panel_designs_what_its_sliders_say_into_one_figure(monkeypatch):
    from utils.notebook.widgets import design_panel

    class Handle:
        updates: list = []

        def update(self, obj):
            self.updates.append(obj)

    shown, handle = [], Handle()
    monkeypatch.setattr("utils.notebook.widgets.display", lambda obj, display_id=False: shown.append(obj) or (
        handle if display_id else None))
    asked = []
    run = design_panel(lambda vf, a: asked.append((vf, a)) or f"designs {vf}", lambda result: result, "first designs",
                       volume_fraction=(0.1, 0.9, 0.3), anisotropy=(0.5, 2.0, 1.5))
    assert shown[1] == "first designs" and asked == []          # the starting setting's designs, not redesigned
    run()
    shown[0].widget.children[0].value = 0.6
    run()
    assert asked == [(0.3, 1.5), (0.6, 1.5)] and handle.updates == ["designs 0.3", "designs 0.6"] and len(shown) == 2
    text = shown[0]._repr_mimebundle_()["text/plain"]          # an executed copy says what the panel is
    assert text.startswith("[") and "Box(" not in text


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.2, 0.8))
def test_window_properties_are_those_of_the_image_whose_statistics_they_are(seed, fill):
    from utils.inverse.design import soft_properties, window_properties
    from utils.statistics.crops import crop_statistics

    image = (np.random.default_rng(seed).random((1, 24, 24)) > fill).astype(np.float32)
    assume(0 < image.mean() < 1)
    got = window_properties(torch.as_tensor(crop_statistics(image, cutoff=5).maps("raw")))
    direct = soft_properties(torch.as_tensor(image, dtype=torch.float64), objective=Objective(periodic=False, cutoff=5),
                             temperature=0.0)
    assert float(got["volume_fraction"][0]) == pytest.approx(float((image < 0.5).mean()), abs=1e-6)
    np.testing.assert_allclose(got["lengths"].numpy(), direct["lengths"].numpy(), atol=1e-4)     # windows: float32
    np.testing.assert_allclose(got["statistics"].numpy(), direct["statistics"].numpy(), atol=1e-6)


def test_a_statistics_vae_designs_through_its_decoded_statistics_and_draws_binary_images():
    from utils.inverse.design import window_properties
    from utils.training.config import config_for
    from utils.training.models import build_vae

    cfg = config_for("micro-smoke", "statistics_vae")
    model = build_vae(cfg.model).eval()
    codes = np.random.default_rng(0).standard_normal((64, cfg.latent_dim)).astype(np.float32)
    reach = reachable_range(model, codes)
    with torch.no_grad():
        start_vf = window_properties(model.decode(torch.as_tensor(codes)))["volume_fraction"].numpy()
    target = float(np.quantile(start_vf, 0.9))          # reachable, and far from most starts
    design = design_in_latent_space(model, cfg.objective(), DesignTarget(volume_fraction=target), codes=codes,
                                    reachable=reach, restarts=4, steps=60, drawn=3, draw_steps=300)
    with pytest.raises(ValueError, match="decodes non-periodic statistics in the window of cutoff=15"):
        design_in_latent_space(model, CROPS, DesignTarget(volume_fraction=target), codes=codes, reachable=reach,
                               restarts=2, steps=1)
    with torch.no_grad():
        decoded_vf = window_properties(model.decode(torch.as_tensor(design.z)))["volume_fraction"].numpy()
    assert design.images.shape == (3, cfg.image_size, cfg.image_size)     # only the best 3 drawn
    assert set(np.unique(design.images)) <= {0.0, 1.0}                     # drawn by the limit, binarised
    assert np.all(np.diff(design.cost) >= 0)                               # best first
    assert np.abs(decoded_vf - target).min() < np.abs(start_vf - target).mean() / 4   # the optimiser moved z there
    assert design.properties["vf_miss"].iloc[0] < 0.05                     # and the drawn image keeps it


def test_a_statistics_vae_interpolation_draws_each_point_in_the_steps_asked():
    from utils.inverse.design import decoded_images
    from utils.inverse.latent import path_codes
    from utils.training.config import config_for
    from utils.training.models import build_vae

    cfg = config_for("micro-smoke", "statistics_vae")
    model = build_vae(cfg.model).eval()
    ends = np.zeros(cfg.latent_dim, np.float32), np.ones(cfg.latent_dim, np.float32)
    images, table = interpolation_properties(model, *ends, steps=3, draw_steps=300)
    direct = np.concatenate([decoded_images(model, z[None], steps=300) for z in path_codes(*ends, 3)])
    np.testing.assert_array_equal(images, direct)            # each point drawn alone, from the same field
    assert not np.array_equal(images, interpolation_properties(model, *ends, steps=3, draw_steps=0)[0])
    assert table["t"].tolist() == [0, 0.5, 1]
