"""The images: generated lines, the seven micrographs, synthetic fields, and their datasets on disk.

lines: the paper's images; micrographs: the shipped micrographs and crops of them; synthetic:
overlapping discs and Gaussian blobs, overlapping spheres; store: a dataset folder and its split; spectra: its spectra cache.

Every public name of these modules is also a name of ``utils.data`` (loaded on first use), so a notebook writes
``from utils.data import <name>``.
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "lines": ["ORIENTATIONS", "LABEL_COLUMNS", "line_thickness_range", "line_gap", "max_lines_that_fit",
              "generate_lines", "DatasetSpec"],
    "micrographs": ["MICROGRAPH_DIR", "MATERIALS", "IMAGE_SUFFIXES", "SEGMENTED_LEVELS", "load_micrograph",
                    "split_columns", "random_crops", "micrograph_crops", "choose_holdout", "segment", "read_image",
                    "load_image_folder", "as_vae_images", "MicrographSpec"],
    "spectra": ["compute_spectra_cache", "statistic_peaks", "spectra_cache"],
    "store": ["save_dataset", "load_dataset", "is_complete_dataset", "ensure_dataset", "split_indices",
              "split_from_labels", "volume_fractions", "dataset_summary"],
    "synthetic": ["overlapping_discs", "disc_two_point", "overlapping_spheres", "sphere_two_point", "gaussian_blobs"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS, modules=True)
