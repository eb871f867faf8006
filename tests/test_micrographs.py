"""The micrographs' data: shipped files, held-out crops, segmentation and a user's image folder."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from hypothesis import given, settings, strategies as st

from utils.data.micrographs import (MATERIALS, load_image_folder, load_micrograph, micrograph_crops, random_crops,
                                    segment, split_columns)


@pytest.mark.parametrize("name", sorted(MATERIALS))
def test_the_shipped_micrographs_load_as_phase_labels(name):
    image = load_micrograph(name)
    assert image.shape == (256, 256) and image.dtype == np.uint8
    assert set(np.unique(image)) == ({0, 1, 2} if name == "composite" else {0, 1})


@settings(max_examples=30, deadline=None)
@given(width=st.integers(40, 300), size=st.integers(4, 32), fraction=st.floats(0.1, 0.5), seed=st.integers(0, 99))
def test_no_test_crop_shares_a_pixel_with_a_training_crop(width, size, fraction, seed):
    try:
        (a, b), (c, d) = split_columns(width, size, fraction)
    except ValueError:
        return                                   # too narrow for both regions: refused, tested below
    height = max(size, 20)
    image = np.arange(height * width).reshape(height, width)
    crops, table = micrograph_crops({"x": image}, size=size, n_train=20, n_test=10, test_fraction=fraction, seed=seed)
    train = set(crops[(table["split"] == "train").to_numpy()].ravel())
    test = set(crops[(table["split"] == "test").to_numpy()].ravel())
    assert not train & test and b == c and d == width


def test_a_crop_is_the_pixels_at_its_corner_and_is_seeded():
    image = np.arange(50 * 60).reshape(50, 60)
    crops, where = random_crops(image, 5, size=8, columns=(10, 40), seed=3)
    for crop, (y, x) in zip(crops, where[["y", "x"]].to_numpy()):
        np.testing.assert_array_equal(crop, image[y:y + 8, x:x + 8])
        assert 10 <= x and x + 8 <= 40
    np.testing.assert_array_equal(random_crops(image, 5, size=8, columns=(10, 40), seed=3)[0], crops)


def test_adding_an_image_leaves_the_crops_of_the_others_unchanged():
    a, b = np.arange(64 * 128).reshape(64, 128), np.zeros((64, 128), np.int64)
    alone, _ = micrograph_crops({"a": a}, size=16, n_train=5, n_test=3)
    both, table = micrograph_crops({"0": b, "a": a}, size=16, n_train=5, n_test=3)
    np.testing.assert_array_equal(both[(table["source"] == "a").to_numpy()], alone)


def test_an_antialiased_binary_image_is_thresholded_not_refused():
    image = np.repeat(np.array([[0] * 10 + [90, 170] + [255] * 10], np.uint8), 4, axis=0)   # grey edge pixels
    np.testing.assert_array_equal(segment(image)[0], [0] * 11 + [1] * 11)


def test_regions_too_narrow_for_the_crops_are_refused():
    with pytest.raises(ValueError, match="cannot hold a training and a test crop"):
        split_columns(100, 64)


def test_segmentation_keeps_labels_and_thresholds_grey_images_by_otsu():
    np.testing.assert_array_equal(segment(np.array([[0, 255], [255, 0]], np.uint8)), [[0, 1], [1, 0]])
    rng = np.random.default_rng(0)
    truth = rng.random((32, 32)) < 0.3
    grey = np.where(truth, 60.0, 190.0) + rng.normal(0, 10, truth.shape)   # dark phase 0, bright 1
    np.testing.assert_array_equal(segment(grey), (~truth).astype(np.uint8))
    np.testing.assert_array_equal(segment(grey, threshold=125), (~truth).astype(np.uint8))
    three = np.digitize(rng.random((32, 32)), [0.3, 0.6]) * 100.0 + rng.normal(0, 5, (32, 32))
    assert set(np.unique(segment(three, phases=3))) == {0, 1, 2}


def test_bad_images_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="more than phases=2"):
        segment(np.array([[0, 1], [2, 1]]))
    with pytest.raises(ValueError, match="NaN"):
        segment(np.array([[0.0, np.nan], [1.0, 0.5]]))
    with pytest.raises(ValueError, match="single grey level"):
        segment(np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="2-D"):
        segment(np.zeros((2, 3, 3)))


def test_an_image_folder_of_png_tiff_and_npy_becomes_held_out_crops(tmp_path):
    rng = np.random.default_rng(1)
    phases = (rng.random((128, 128)) < 0.4).astype(np.uint8)
    Image.fromarray(phases * 255).save(tmp_path / "a.png")
    Image.fromarray((phases * 150 + 50).astype(np.uint8)).save(tmp_path / "b.tif")
    np.save(tmp_path / "c.npy", phases)
    (tmp_path / "notes.txt").write_text("ignored")
    crops, table = load_image_folder(tmp_path, size=32, n_train=4, n_test=2)
    assert crops.shape == (18, 32, 32) and crops.dtype == np.uint8
    assert table["source"].tolist() == ["a"] * 6 + ["b"] * 6 + ["c"] * 6
    for (_, row), crop in zip(table.iterrows(), crops):
        np.testing.assert_array_equal(crop, phases[row.y:row.y + 32, row.x:row.x + 32])


def test_bad_folders_and_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="holds no image"):
        load_image_folder(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="broken.png could not be read"):
        load_image_folder(tmp_path)
    (tmp_path / "broken.png").unlink()
    np.save(tmp_path / "small.npy", np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="smaller than the 64 px crops"):
        load_image_folder(tmp_path)
    np.save(tmp_path / "small.npy", np.arange(100 * 100).reshape(100, 100) % 3)
    with pytest.raises(ValueError, match="3 phases"):
        load_image_folder(tmp_path)


def test_a_folder_of_narrow_grey_micrographs_holds_out_whole_images(tmp_path, capsys):
    rng = np.random.default_rng(2)
    for name in ("m1", "m2", "m3", "m4"):                      # ordinary 160 x 200 grey micrographs
        grey = (rng.random((160, 200)) < 0.4) * 150 + rng.integers(0, 40, (160, 200))
        Image.fromarray(grey.astype(np.uint8)).save(tmp_path / f"{name}.png")
    crops, table = load_image_folder(tmp_path, size=64, n_train=5, n_test=3)
    assert "whole images m4" in capsys.readouterr().out
    assert set(table.loc[table["split"] == "test", "source"]) == {"m4"}
    assert set(table.loc[table["split"] == "train", "source"]) == {"m1", "m2", "m3"}
    assert (table["holdout"] == "images").all() and len(crops) == 3 * 5 + 3


def test_one_narrow_image_keeps_one_crop_of_test_columns_and_a_too_narrow_one_is_refused(tmp_path, capsys):
    np.save(tmp_path / "one.npy", (np.random.default_rng(0).random((100, 150)) < 0.5).astype(np.uint8))
    crops, table = load_image_folder(tmp_path, size=64, n_train=3, n_test=2)
    test_x = table.loc[table["split"] == "test", "x"]
    assert (test_x >= 150 - 64).all() and (table.loc[table["split"] == "train", "x"] + 64 <= 150 - 64).all()
    assert "right-most 43%" in capsys.readouterr().out
    np.save(tmp_path / "one.npy", np.zeros((100, 100), np.uint8) + np.eye(100, dtype=np.uint8))
    with pytest.raises(ValueError, match="needs at least 128 px"):
        load_image_folder(tmp_path, size=64)
