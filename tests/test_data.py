"""Tests of utils.data.store: the lines generator, dataset files, splits and torch access."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from hypothesis import given, settings, strategies as st
from scipy import ndimage

from utils.data import lines as data
from utils.data.lines import DatasetSpec, generate_lines, line_gap, line_thickness_range
from utils.data.spectra import compute_spectra_cache
from utils.data.store import (dataset_summary, ensure_dataset, is_complete_dataset, load_dataset, save_dataset,
                              split_indices)
from utils.statistics.spectral import power_spectrum, statistics_from_spectrum
from utils.statistics.two_point import spatial_statistics
from utils.training.batches import LinesDataset

EIGHT = np.ones((3, 3), dtype=int)


def measured_lines(image: np.ndarray) -> list[dict]:
    """Each connected line (8-connectivity) of a {0 line, 1 background} image, measured directly."""
    lab, n = ndimage.label(image == 0, structure=EIGHT)
    lines = []
    for k, (rows, cols) in enumerate(ndimage.find_objects(lab), start=1):
        height, width = rows.stop - rows.start, cols.stop - cols.start
        lines.append({"rows": (rows.start, rows.stop), "cols": (cols.start, cols.stop),
                      "height": height, "width": width,
                      "solid": int((lab[rows, cols] == k).sum()) == height * width})
    assert len(lines) == n
    return lines


def check_image(image: np.ndarray, orientation: str, n_lines: int, min_lines: int, max_lines: int) -> None:
    """Assert everything the label and the paper's rules say about one image."""
    size = image.shape[0]
    assert image.shape == (size, size)
    assert set(np.unique(image)) <= {0, 1}
    assert min_lines <= n_lines <= max_lines
    assert ndimage.label(image == 0)[1] == n_lines  # 4-connectivity
    lines = measured_lines(image)                    # 8-connectivity
    assert len(lines) == n_lines
    t_lo, t_hi = line_thickness_range(size)
    vertical = orientation == "vertical"
    for line in lines:
        assert line["solid"], "a line is not a filled rectangle (lines touched or overlapped)"
        length, thick = (line["height"], line["width"]) if vertical else (line["width"], line["height"])
        assert length > thick, "the line's bounding box disagrees with the labelled orientation"
        assert size // 2 <= length < size
        assert t_lo <= thick <= t_hi
    # neighbours across the lines that overlap along them keep a gap of background pixels
    across, along = ("cols", "rows") if vertical else ("rows", "cols")
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            overlap_along = min(a[along][1], b[along][1]) > max(a[along][0], b[along][0])
            if overlap_along:
                gap = max(a[across][0], b[across][0]) - min(a[across][1], b[across][1])
                assert gap >= line_gap(size)


def test_thickness_and_gap_scale_with_size():
    assert line_thickness_range(224) == (5, 9)
    assert line_thickness_range(64) == (1, 3)
    assert line_thickness_range(16) == (1, 1)
    assert line_gap(224) == 3 and line_gap(64) == 2 and line_gap(448) == 6


@pytest.mark.parametrize("n, size, min_lines, max_lines, seed", [
    (300, 64, 1, 5, 0), (300, 224, 1, 5, 1), (300, 224, 3, 7, 2), (200, 64, 3, 7, 3), (100, 16, 1, 6, 4),
])
def test_labels_match_images(n, size, min_lines, max_lines, seed):
    images, labels = generate_lines(n, size=size, min_lines=min_lines, max_lines=max_lines, seed=seed)
    assert images.shape == (n, size, size) and images.dtype == np.uint8
    assert list(labels.columns) == ["file", "orientation", "n_lines"]
    assert labels["file"].tolist() == [f"{i:06d}.png" for i in range(n)]
    assert set(labels["orientation"]) <= {"vertical", "horizontal"}
    for image, row in zip(images, labels.itertuples()):
        check_image(image, row.orientation, row.n_lines, min_lines, max_lines)
    assert set(labels["n_lines"]) == set(range(min_lines, max_lines + 1))  # every count occurs


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(16, 120), min_lines=st.integers(1, 4),
       extra=st.integers(0, 3))
def test_labels_match_images_property(seed, size, min_lines, extra):
    max_lines = min(min_lines + extra, data.max_lines_that_fit(size))
    min_lines = min(min_lines, max_lines)
    images, labels = generate_lines(12, size=size, min_lines=min_lines, max_lines=max_lines, seed=seed)
    for image, row in zip(images, labels.itertuples()):
        check_image(image, row.orientation, row.n_lines, min_lines, max_lines)


def test_most_lines_that_fit_are_always_drawn():
    size = 64
    m = data.max_lines_that_fit(size)
    images, labels = generate_lines(200, size=size, min_lines=m, max_lines=m, seed=5)
    assert (labels["n_lines"] == m).all()
    for image, row in zip(images, labels.itertuples()):
        check_image(image, row.orientation, row.n_lines, m, m)


def test_distributions_are_roughly_uniform():
    images, labels = generate_lines(4000, size=32, min_lines=1, max_lines=5, seed=11)
    assert abs((labels["orientation"] == "vertical").mean() - 0.5) < 0.04
    counts = labels["n_lines"].value_counts(normalize=True)
    assert counts.between(0.2 - 0.03, 0.2 + 0.03).all()
    lengths = [max(l["height"], l["width"]) for im in images[:300] for l in measured_lines(im)]
    assert min(lengths) == 16 and max(lengths) == 31  # both ends of [size/2, size) are reached


def test_same_seed_same_bytes_other_seed_differs_and_prefix_is_stable():
    a, la = generate_lines(50, size=64, seed=7)
    b, lb = generate_lines(50, size=64, seed=7)
    c, _ = generate_lines(50, size=64, seed=8)
    p, lp = generate_lines(20, size=64, seed=7)
    assert a.tobytes() == b.tobytes()
    pd.testing.assert_frame_equal(la, lb)
    assert a.tobytes() != c.tobytes()
    assert p.tobytes() == a[:20].tobytes()
    pd.testing.assert_frame_equal(lp, la.iloc[:20])


@pytest.mark.parametrize("kwargs, words", [
    ({"n": 0}, "n (number of images) must be an integer >= 1, got 0"),
    ({"n": 5, "size": 8}, "size (pixels) must be an integer >= 16, got 8"),
    ({"n": 5, "min_lines": 0}, "min_lines must be an integer >= 1, got 0"),
    ({"n": 5, "min_lines": 4, "max_lines": 3}, "1 <= min_lines <= max_lines"),
    ({"n": 5, "size": 32, "max_lines": 20}, "at most"),
    ({"n": 2.5}, "n (number of images) must be an integer >= 1, got 2.5"),
    ({"n": 5, "max_lines": True}, "max_lines must be an integer >= 1, got True"),
])
def test_bad_generator_arguments(kwargs, words):
    kwargs = dict(kwargs)
    n = kwargs.pop("n")
    with pytest.raises(ValueError, match=re.escape(words)):
        generate_lines(n, **kwargs)


def test_too_many_lines_message_names_the_limit():
    limit = data.max_lines_that_fit(32)
    with pytest.raises(ValueError, match=f"at most {limit} lines fit; lower max_lines to <= {limit}"):
        DatasetSpec(n_images=10, size=32, max_lines=limit + 1)
    generate_lines(3, size=32, min_lines=limit, max_lines=limit)  # the limit itself works


def test_spec_name():
    assert DatasetSpec().name == "lines_n1000_s64_l1-5_seed0"
    assert DatasetSpec(n_images=20, size=224, min_lines=3, max_lines=7, seed=4).name == \
        "lines_n20_s224_l3-7_seed4"


def test_save_load_round_trip(tmp_path):
    images, labels = generate_lines(30, size=40, seed=3)
    folder = save_dataset(tmp_path / "ds", images, labels)
    assert folder == tmp_path / "ds" and is_complete_dataset(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no tmp folder left over
    loaded, loaded_labels = load_dataset(folder)
    assert isinstance(loaded, np.memmap) and not loaded.flags.writeable
    assert loaded.tobytes() == images.tobytes()
    pd.testing.assert_frame_equal(loaded_labels, labels, check_dtype=False)
    assert loaded_labels["n_lines"].dtype == np.int64
    in_memory, _ = load_dataset(folder, mmap=False)
    assert not isinstance(in_memory, np.memmap)
    for i, name in enumerate(labels["file"]):
        png = Image.open(folder / "images" / name)
        assert png.size == (40, 40)
        np.testing.assert_array_equal(np.asarray(png.convert("L")) // 255, images[i])


def test_save_without_png_and_overwrite(tmp_path):
    images, labels = generate_lines(5, size=32, seed=3)
    folder = save_dataset(tmp_path / "ds", images, labels, write_png=False)
    assert not (folder / "images").exists() and is_complete_dataset(folder)
    other, other_labels = generate_lines(6, size=32, seed=4)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_dataset(folder, other, other_labels)
    save_dataset(folder, other, other_labels, overwrite=True)
    assert load_dataset(folder)[0].tobytes() == other.tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    images, labels = generate_lines(5, size=32, seed=3)

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data.np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_dataset(tmp_path / "ds", images, labels)
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_bad_inputs(tmp_path):
    images, labels = generate_lines(5, size=32, seed=3)
    with pytest.raises(ValueError, match="5 images but 4 label rows"):
        save_dataset(tmp_path / "a", images, labels.iloc[:4])
    with pytest.raises(ValueError, match="only 0"):
        save_dataset(tmp_path / "b", images * 255, labels)
    with pytest.raises(ValueError, match="uint8"):
        save_dataset(tmp_path / "c", images.astype(np.float32), labels)
    assert list(tmp_path.iterdir()) == []


def test_load_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook 01 or make figures.*make micro"):
        load_dataset(tmp_path / "nothing")
    images, labels = generate_lines(5, size=32, seed=3)
    folder = save_dataset(tmp_path / "ds", images, labels, write_png=False)
    (folder / "images.npy").unlink()
    with pytest.raises(FileNotFoundError, match="images.npy is missing"):
        load_dataset(folder)
    assert not is_complete_dataset(folder)
    np.save(folder / "images.npy", images[:4])
    assert not is_complete_dataset(folder)
    with pytest.raises(ValueError, match="4 images but 5 label rows"):
        load_dataset(folder)


def test_ensure_dataset_creates_then_reuses(tmp_path, monkeypatch):
    spec = DatasetSpec(n_images=12, size=32, seed=9)
    folder = ensure_dataset(spec, tmp_path, progress=False)
    assert folder == tmp_path / spec.name
    images, labels = load_dataset(folder)
    expected, _ = generate_lines(12, size=32, seed=9)
    assert images.tobytes() == expected.tobytes()
    assert len(list((folder / "images").glob("*.png"))) == 12

    def must_not_generate(*args, **kwargs):
        raise AssertionError("ensure_dataset regenerated a complete dataset")

    monkeypatch.setattr(DatasetSpec, "generate", must_not_generate)
    assert ensure_dataset(spec, tmp_path, progress=False) == folder
    (folder / "labels.csv").unlink()  # incomplete now -> regenerated
    with pytest.raises(AssertionError, match="regenerated"):
        ensure_dataset(spec, tmp_path, progress=False)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 500), val=st.floats(0, 0.45), test=st.floats(0, 0.45), seed=st.integers(0, 10**6))
def test_split_indices(n, val, test, seed):
    if n - round(n * val) - round(n * test) < 1:
        with pytest.raises(ValueError, match="no training images"):
            split_indices(n, val_fraction=val, test_fraction=test, seed=seed)
        return
    parts = split_indices(n, val_fraction=val, test_fraction=test, seed=seed)
    assert set(parts) == {"train", "val", "test"}
    joined = np.concatenate(list(parts.values()))
    assert len(joined) == n and set(joined.tolist()) == set(range(n))  # disjoint and covering
    assert len(parts["val"]) == round(n * val) and len(parts["test"]) == round(n * test)
    again = split_indices(n, val_fraction=val, test_fraction=test, seed=seed)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)


def test_split_indices_depends_on_seed_and_rejects_bad_fractions():
    assert not np.array_equal(split_indices(1000, seed=0)["val"], split_indices(1000, seed=1)["val"])
    with pytest.raises(ValueError):
        split_indices(10, val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ValueError):
        split_indices(0)


def test_lines_dataset_items():
    images, _ = generate_lines(10, size=32, seed=2)
    ds = LinesDataset(images, indices=np.array([7, 2]))
    assert len(ds) == 2
    x = ds[0]
    assert x.shape == (1, 32, 32) and x.dtype == torch.float32
    assert torch.equal(x[0], torch.from_numpy(images[7]).float())
    assert len(torch.utils.data.DataLoader(LinesDataset(images), batch_size=4)) == 3
    with pytest.raises(ValueError, match="indices"):
        LinesDataset(images, indices=np.array([10]))
    spectra, _ = compute_spectra_cache(images, progress=False)
    x, p = LinesDataset(images, indices=np.array([7, 2]), spectra=spectra)[1]
    assert x.shape == (1, 32, 32) and p.shape == (1, 32, 17) and p.dtype == torch.float32
    assert torch.equal(p[0], torch.from_numpy(spectra[2]))
    with pytest.raises(ValueError, match="compute_spectra_cache"):
        LinesDataset(images, spectra=spectra[:, :, :8])


@pytest.mark.parametrize("size", [48, 33])
def test_compute_spectra_cache_matches_power_spectrum_and_the_statistics(size):
    images, _ = generate_lines(7, size=size, seed=6)
    spectra, peaks = compute_spectra_cache(images, batch_size=3, progress=False)
    assert spectra.shape == (7, size, size // 2 + 1) and spectra.dtype == np.float32
    assert peaks.shape == (7,) and peaks.dtype == np.float64
    x = torch.from_numpy(images).double()
    np.testing.assert_allclose(spectra, power_spectrum(x).numpy(), rtol=1e-6, atol=1e-6)
    # the spectra give the statistics back, and the peaks are their r = 0 (largest) values
    stats = spatial_statistics(torch.from_numpy(images).float()).numpy()
    back = statistics_from_spectrum(torch.from_numpy(spectra).double(), (size, size)).numpy()
    np.testing.assert_allclose(back, stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(peaks, stats[:, size // 2, size // 2], rtol=1e-6)
    np.testing.assert_allclose(peaks, stats.max(axis=(1, 2)), rtol=1e-6)
    other, other_peaks = compute_spectra_cache(images, phase=1.0, eps=0.1, progress=False)
    np.testing.assert_allclose(other[0], power_spectrum(x[0], phase=1.0, eps=0.1).numpy(), rtol=1e-6, atol=1e-6)
    assert not np.allclose(other_peaks, peaks)


def test_dataset_summary_volume_fraction():
    images, labels = generate_lines(40, size=64, seed=8)
    summary = dataset_summary(images, labels)
    assert list(summary.columns) == ["file", "orientation", "n_lines", "volume_fraction"]
    direct = [sum(l["height"] * l["width"] for l in measured_lines(im)) / 64**2 for im in images]
    np.testing.assert_allclose(summary["volume_fraction"], direct)
    assert "volume_fraction" not in labels.columns
