"""Volumes from micrographs: the slices' statistics against direct computation, known answers, seeds, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from utils.evaluation.volumes import (TRUTH_COLUMNS, connectivity_table, descriptor_range, mean_error_against,
                                     middle_section, plane_properties, slice_report, statistics_report,
                                     truth_comparison, yardsticks)
from utils.inverse.targets import Windows
from utils.inverse.volumes import _gaussian_blur, design_windows, reconstruct_volume, volume_field, window_statistics
from utils.statistics.planes import PLANES, plane_slices, transverse_windows
from utils.statistics.crops import crop_statistics
from utils.statistics.descriptors import interface_density, spanning_share
from utils.statistics.maps import cutoff_window
from utils.statistics.two_point import autocorrelation, autocorrelation_by_direct_sum


def _plates(shape=(20, 20, 24), period=6, thickness=2) -> np.ndarray:
    """0 / 1 volume of walls of phase 0 across x: ``thickness`` voxels every ``period``."""
    volume = np.ones(shape, np.uint8)
    for k in range(thickness):
        volume[:, :, k::period] = 0
    return volume


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(5, 12), st.integers(5, 12)), elements=st.floats(0, 1)),
       st.integers(1, 2))
def test_the_window_statistics_are_the_non_periodic_autocorrelation_cut_to_the_window(m, cutoff):
    m = torch.as_tensor(m)
    expected = cutoff_window(autocorrelation(m, periodic=False), cutoff)
    assert torch.allclose(window_statistics(m, cutoff), expected, atol=1e-12)


def test_the_window_statistics_match_a_direct_sum_over_the_pairs_inside():
    rng = np.random.default_rng(0)
    m = (rng.random((9, 11)) < 0.4).astype(float)
    got = window_statistics(torch.as_tensor(m), 3).numpy()
    for ry in range(-3, 4):
        for rx in range(-3, 4):
            a = m[max(0, -ry):9 - max(0, ry), max(0, -rx):11 - max(0, rx)]
            b = m[max(0, ry):9 + min(0, ry), max(0, rx):11 + min(0, rx)]
            assert got[ry + 3, rx + 3] == pytest.approx((a * b).mean())
    periodic = autocorrelation_by_direct_sum(m)          # the periodic sum differs where pairs wrap
    assert not np.allclose(got, periodic[9 // 2 - 3:9 // 2 + 4, 11 // 2 - 3:11 // 2 + 4])


def test_plates_have_the_statistics_of_their_stripes_in_closed_form():
    volume = _plates()
    xy = torch.as_tensor(plane_slices(volume, "xy") == 0, dtype=torch.float64)
    f = window_statistics(xy, 4)
    period, thickness, w = 6, 2, 24
    x = np.arange(w)
    b = (x % period < thickness).astype(float)
    for rx in range(-4, 5):
        pairs = [b[i] * b[i + rx] for i in range(max(0, -rx), w - max(0, rx))]
        assert torch.allclose(f[..., rx + 4], torch.full_like(f[..., rx + 4], float(np.mean(pairs))))  # every r_y
    yz = plane_slices(volume, "yz")                        # across x: each slice is one phase
    assert set(np.unique(yz.reshape(len(yz), -1).mean(axis=1)).tolist()) == {0.0, 1.0}


def test_planes_are_the_slices_across_each_axis():
    v = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert (plane_slices(v, "yz")[3] == v[:, :, 3]).all()
    assert (plane_slices(v, "xz")[2] == v[:, 2, :]).all()
    assert (plane_slices(v, "xy")[1] == v[1]).all()
    assert torch.equal(plane_slices(torch.as_tensor(v)[None], "xz")[0], torch.as_tensor(plane_slices(v, "xz")))
    with pytest.raises(ValueError, match="plane must be one of"):
        plane_slices(v, "zz")


@pytest.mark.parametrize("sigma", [0.3, 0.7, 1.0])
def test_the_voxel_blur_is_scipys_gaussian_filter_with_edges_repeated(sigma):
    from scipy.ndimage import gaussian_filter
    v = np.random.default_rng(0).standard_normal((7, 9, 11))
    radius = max(1, int(np.ceil(3 * sigma)))
    expected = gaussian_filter(v, sigma, mode="nearest", truncate=radius / sigma)
    assert np.allclose(_gaussian_blur(sigma)(torch.as_tensor(v)).numpy(), expected, atol=1e-12)
    assert _gaussian_blur(0.0)(v) is v                                 # no blur: the voxels themselves


def test_transverse_windows_are_consistent_where_two_planes_share_an_axis():
    w = cutoff_window(autocorrelation(torch.as_tensor(_plates((1, 30, 30), 6, 2)[0][None], dtype=torch.float64),
                                      periodic=False), 4)[0].numpy()     # walls across x: nothing along y changes
    yz, xz, xy = transverse_windows(w)
    assert np.array_equal(xz, w) and np.array_equal(xy, w)
    assert np.allclose(yz, yz.T) and np.allclose(yz[4, :], w[:, 4])    # isotropic; its y axis is the section's y
    assert np.allclose(yz[:, 4], xz[:, 4])                            # z along yz's rows is z along xz's rows
    with pytest.raises(ValueError, match="one \\(2c \\+ 1, 2c \\+ 1\\) window"):
        transverse_windows(np.ones((4, 4)))


def test_the_start_has_the_phase_fraction_and_is_stretched_where_the_rate_is_low():
    start = volume_field(0.4, np.array([0.02, 0.2, 0.2]), (32, 32, 32), seed=0)
    assert (start == 0).sum() == round(0.4 * 32 ** 3)
    along_z = interface_density(np.moveaxis(start, 0, 2) < 0.5, axis=2).mean()
    along_x = interface_density(start < 0.5, axis=2).mean()
    assert along_z < along_x / 3


def _blobs(size=48, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((size, size)))
                          * np.exp(-0.5 * (np.add.outer(np.fft.fftfreq(size) ** 2, np.fft.rfftfreq(size) ** 2)) * 60))
    return (field > np.quantile(field, 0.4)).astype(np.float32)


def test_an_isotropic_volume_matches_the_image_and_seeds_give_the_same_bytes():
    image = _blobs()
    out = reconstruct_volume(image, shape=(20, 20, 20), cutoff=6, steps=150, progress=False)
    assert out.loss < out.start_loss / 3
    assert out.fraction == round((image < 0.5).mean() * 8000) / 8000 and out.volume.dtype == np.uint8
    again = reconstruct_volume(image, shape=(20, 20, 20), cutoff=6, steps=150, progress=False)
    other = reconstruct_volume(image, shape=(20, 20, 20), cutoff=6, steps=150, seed=1, progress=False)
    assert again.volume.tobytes() == out.volume.tobytes() and other.volume.tobytes() != out.volume.tobytes()
    report = slice_report(out.volume, [image] * 3, cutoff=6)
    assert list(report.index) == list(PLANES)
    assert (report["interface_density"].between(0.6, 1.6)).all(), report


def test_three_images_of_an_anisotropic_texture_give_an_anisotropic_volume():
    rng = np.random.default_rng(3)
    shape = (32, 32, 32)
    spectrum = np.fft.rfftn(rng.standard_normal(shape), axes=(0, 1, 2))
    kz, ky, kx = np.meshgrid(np.fft.fftfreq(32), np.fft.fftfreq(32), np.fft.rfftfreq(32), indexing="ij")
    field = np.fft.irfftn(spectrum * np.exp(-2 * np.pi ** 2 * (25 * kz ** 2 + 2 * ky ** 2 + 2 * kx ** 2)), s=shape,
                          axes=(0, 1, 2))                                   # stretched along z
    sections = [plane_slices(field, p)[16] for p in PLANES]
    images = [(s > np.median(s)).astype(np.float32) for s in sections]     # half of each is phase 0
    out = reconstruct_volume(images, shape=(20, 20, 20), cutoff=5, steps=120, progress=False)
    b = out.volume == 0
    along = {axis: interface_density(np.moveaxis(b, axis, 2), axis=2).mean() for axis in range(3)}
    assert along[0] < 0.6 * min(along[1], along[2]), along
    assert out.fraction == pytest.approx(float(np.mean([(i < 0.5).mean() for i in images])), abs=2e-3)


def test_windows_of_statistics_are_a_target_too():
    image = _blobs()
    f = window_statistics(torch.exp(-torch.as_tensor(image, dtype=torch.float64) ** 2 / (2 * 0.25 ** 2)), 5)
    out = reconstruct_volume(Windows(f[None].numpy(), (48, 48)), shape=(16, 16, 16), cutoff=5, steps=20,
                             progress=False)
    assert out.volume.shape == (16, 16, 16)
    with pytest.raises(ValueError, match="cutoff=5"):
        reconstruct_volume(Windows(f[None].numpy(), (48, 48)), shape=(16, 16, 16), cutoff=4, progress=False)


def test_plane_properties_of_walls_read_their_direction_off_each_plane():
    walls = np.ones((24, 24, 24), np.uint8)
    walls[:, ::6, :] = 0
    walls[:, 1::6, :] = 0                                              # walls across y, 2 voxels of 6
    table = plane_properties(walls, cutoff=4)
    assert table["volume_fraction"].tolist() == pytest.approx([1 / 3] * 3)
    assert table.loc["xz", "anisotropy"] == pytest.approx(1.0)          # in xz every slice is one phase
    assert table.loc["xy", "anisotropy"] > 3 and table.loc["yz", "anisotropy"] < 1 / 3   # long along x, along z


class _StatisticsDecoder(torch.nn.Module):
    """A stand-in statistics VAE: decodes every code to the statistics of one elongated texture."""

    decodes_statistics = True

    def __init__(self, window: torch.Tensor):
        super().__init__()
        self.window = window

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.window.expand(len(z), -1, -1).float()


def test_a_design_longer_along_x_gives_a_volume_longer_along_x_with_an_isotropic_cross_section():
    rng = np.random.default_rng(5)
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((96, 96))) *
                          np.exp(-2 * np.pi ** 2 * (2 * np.fft.fftfreq(96)[:, None] ** 2 +
                                                    12 * np.fft.rfftfreq(96)[None, :] ** 2)), s=(96, 96))
    texture = (field > np.quantile(field, 0.4)).astype(np.float64)         # 40 % phase 0, stretched along x
    decoder = _StatisticsDecoder(window_statistics(torch.as_tensor(texture == 0, dtype=torch.float64), 8))
    windows = design_windows(decoder, np.zeros(9), 6)
    assert windows.shape == (3, 13, 13) and np.allclose(windows[0], windows[0].T)
    out = reconstruct_volume(Windows(windows, (96, 96)), shape=(24, 24, 24), cutoff=6, steps=150, progress=False)
    report = statistics_report(out.volume, windows, cutoff=6)
    assert report.loc["xy", "target_anisotropy"] > 2.5 and report.loc["yz", "target_anisotropy"] == pytest.approx(1)
    assert report.loc["xy", "anisotropy"] > 2 and report.loc["xz", "anisotropy"] > 2, report        # 2.7 asked
    assert 0.8 < report.loc["yz", "anisotropy"] < 1.25, report
    with pytest.raises(ValueError, match="cutoff must lie in 1..8"):
        design_windows(decoder, np.zeros(9), 9)


@pytest.mark.parametrize("target, shape, message", [
    (np.full((16, 16), np.nan), (16, 16, 16), "NaN"),
    (np.zeros((16, 16)), (16, 16, 16), "single phase"),
    (np.ones((4, 16, 16)), (16, 16, 16), "one 2D image"),
    ([_plates()[0], _plates()[0], 1 - _plates()[0]], (20, 20, 20), "not sections of one material"),
    (np.eye(16), (8, 8, 8), "too small for the window"),
    (np.eye(16), (16, 16), r"\(D, H, W\)"),
])
def test_bad_input_is_refused_with_the_fix(target, shape, message):
    with pytest.raises(ValueError, match=message):
        reconstruct_volume(target, shape=shape, cutoff=4, steps=1, progress=False)


def test_a_volume_is_saved_as_an_array_and_a_tiff_stack(tmp_path):
    out = reconstruct_volume(_blobs(), shape=(12, 12, 12), cutoff=3, steps=5, progress=False)
    paths = out.save(tmp_path / "volumes", "blobs")
    assert [p.name for p in paths] == ["blobs.npy", "blobs.tif"]
    assert np.array_equal(np.load(paths[0]), out.volume)
    assert np.array_equal(tifffile.imread(paths[1]), out.volume * 255)


def test_spanning_shares_count_the_clusters_that_cross_the_volume():
    volume = np.ones((6, 6, 6), np.uint8)
    volume[:, 2, :] = 0                                   # a sheet across y: it spans z and x
    volume[0, 5, 5] = 0                                   # a lone voxel in a corner
    share = spanning_share(volume, 0)
    assert share.tolist() == pytest.approx([36 / 37, 0.0, 36 / 37])
    table = connectivity_table(volume)
    assert table.loc["phase 1", "y"] == 0.0 and table.loc["phase 1", "z"] == 1.0
    assert np.isnan(spanning_share(np.ones((3, 3, 3)), 0)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_volume_on_cuda_has_the_phase_fraction_and_matches_the_cpus_closely():
    image = _blobs()
    cpu = reconstruct_volume(image, shape=(16, 16, 16), cutoff=5, steps=50, progress=False)
    gpu = reconstruct_volume(image, shape=(16, 16, 16), cutoff=5, steps=50, device="cuda", progress=False)
    assert gpu.fraction == cpu.fraction and gpu.loss == pytest.approx(cpu.loss, rel=0.2)


def test_the_default_window_fits_a_micrograph_smaller_than_the_volume():
    small = _blobs(size=12)
    out = reconstruct_volume(small, shape=(20, 20, 20), steps=5, progress=False)     # |r| <= 5, not 9
    assert out.volume.shape == (20, 20, 20)
    with pytest.raises(ValueError, match="pass a smaller cutoff"):
        reconstruct_volume(small, shape=(20, 20, 20), cutoff=9, steps=5, progress=False)


def test_an_image_has_no_error_against_itself_and_the_yardsticks_hold_their_three_columns():
    image = _blobs(size=24)
    assert mean_error_against(image[None], crop_statistics(image[None], cutoff=4)) == 0.0
    assert mean_error_against(_blobs(size=24, seed=1)[None], crop_statistics(image[None], cutoff=4)) > 0.0
    stripes = np.ones((24, 24), np.float32)
    stripes[:, ::6] = 0
    stripes[:, 1::6] = 0                                                  # walls across x: far from isotropic
    table = yardsticks({"blobs": image, "stripes": stripes},
                       {"blobs": np.stack([_blobs(size=24, seed=s) for s in (1, 2)]), "stripes": stripes[None]}, cutoff=4)
    assert list(table.columns) == ["2D limit", "other real crops", "transposed"]
    assert 0 <= table.loc["blobs", "2D limit"] < table.loc["blobs", "other real crops"]
    assert table.loc["stripes", "other real crops"] == 0.0                # the same section
    assert table.loc["stripes", "transposed"] > 10 * table.loc["blobs", "transposed"] > 0   # walls become rows


def test_a_truth_extruded_along_z_has_sections_equal_to_its_middle_one_and_a_reconstruction_is_scored_beside_it():
    image = _blobs(size=20)
    extruded = np.repeat(image[None].astype(np.uint8), 20, axis=0)        # every xy section is the image
    assert np.array_equal(middle_section(extruded), image)
    field = volume_field(0.4, np.full(3, 0.25), (20, 20, 20), seed=3).astype(np.uint8)
    table = truth_comparison(extruded, field, cutoff=4)
    assert list(table.index) == ["2D limit", "true volume", "reconstruction"] and list(table.columns) == list(TRUTH_COLUMNS)
    assert table.loc["true volume", "slices, best plane"] < 1e-20         # its xy sections are the micrograph itself
    assert table.loc["true volume", "phase 0 spanning, least axis"] == connectivity_table(extruded).loc["phase 0"].min()
    assert table.loc[["true volume", "2D limit"], "phase-0 fraction"].tolist() == pytest.approx([(image == 0).mean()] * 2)
    assert connectivity_table(extruded).loc["phase 0", "z"] == 1.0        # every column of phase 0 runs through z
    assert 0 <= table.loc["2D limit", "slices, worst plane"] < table.loc["reconstruction", "slices, worst plane"]
    low, high = descriptor_range(slice_report(field, [image] * 3, cutoff=4))
    assert (table.loc["reconstruction", "interfaces and chords, lowest"],
            table.loc["reconstruction", "interfaces and chords, highest"]) == (low, high) and 0 < low <= high
    same = truth_comparison(extruded, extruded, cutoff=4)                 # the truth drawn as itself: the same row
    assert same.loc["reconstruction"].equals(same.loc["true volume"])
    with pytest.raises(ValueError, match="volumes"):
        truth_comparison(image, extruded)
