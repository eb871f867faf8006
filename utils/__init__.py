"""spatial-stats-vae: a VAE whose reconstruction loss compares two-point spatial statistics.

The flat public API of the project.  Each name lives in a small module of its own, readable top
to bottom; ``import utils`` stays cheap because the names are loaded on first use.

====================  ==========================================================================
module                what it holds
====================  ==========================================================================
``utils.project``     the names, defaults and folders of the project (one definition each)
``utils.stats``       phase_indicator, autocorrelation, cross_correlation, spatial_statistics
``utils.spectral``    power_spectrum and distances between statistics in Fourier space
``utils.statmaps``    cutoff window, radial and directional profiles of a statistics map
``utils.lines``       generate_lines, DatasetSpec: the "multiple lines" images
``utils.micrographs`` the shipped micrographs and a user's image folder, cut into held-out crops
``utils.micro``       notebook 07's models of the micrographs: scores on held-out crops
``utils.design``      design in the latent space: target properties in, microstructures out (notebook 08)
``utils.synthetic``   overlapping discs (closed-form statistics) and Gaussian blobs, in any number
``utils.data``        a dataset on disk, its split, its torch view and its cached spectra
``utils.models``      ModelConfig, VAE, build_vae (small conv VAE and the paper's ResNet-152 VAE)
``utils.objective``   Objective: the reconstruction term training, refinement and the limit minimise
``utils.losses``      data_loss, kl_divergence, vae_loss
``utils.config``      TrainConfig and PROFILES: one explicit setting per profile and loss
``utils.train``       the training loop (command line: ``python -m utils.train``)
``utils.runs``        the run folder: checkpoints, history, load_run
``utils.device``      device, torchrun and bfloat16 autocast
``utils.metrics``     volume_fraction_difference, count_lines, line_orientation, data/stats MSE
``utils.search``      nearest_neighbors (exact, streamed, in data or statistics space)
``utils.inversion``   reconstruct_from_statistics (the per-image limit), refine_latent; their targets
                      given as statistics: Spectra (periodic), Windows (non-periodic)
``utils.latent``      PCA of the statistics, codes and their decoding (notebook 05; plots in
                      ``utils.latent_plots``, the latent-size sweep in ``utils.sweep``)
``utils.evaluate``    the evaluation of notebook 04; ``utils.report`` its results.json / .md
``utils.plots``       figures (shown as PNGs in Jupyter); ``utils.eval_plots`` those of notebook 04,
                      ``utils.micro_plots`` those of notebooks 06-07, ``utils.design_plots`` of 08
``utils.widgets``     the interactive demos
``utils.jobs``        the one runner behind ``make figures``, ``make sweep`` and ``make micro``
``utils.files``       atomic writes; ``utils.checks`` input checks; ``utils.progress`` progress bars
====================  ==========================================================================

>>> import torch, utils
>>> images, labels = utils.generate_lines(1, size=32, seed=0)     # uint8, 0 = line, 1 = background
>>> f = utils.spatial_statistics(torch.as_tensor(images, dtype=torch.float32))  # f(r), r = 0 at (16, 16)
>>> f.shape
torch.Size([1, 32, 32])
>>> bool(abs(f[0, 16, 16] - (images == 0).mean()) < 1e-3)   # centre = volume fraction of the lines
True
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "stats": ["phase_indicator", "autocorrelation", "cross_correlation", "spatial_statistics"],
    "spectral": ["power_spectrum", "statistics_sq_distance", "spatial_statistics_sq_distance"],
    "lines": ["generate_lines", "DatasetSpec"],
    "statmaps": ["cutoff_window", "radial_profile", "directional_profiles", "phase_correlations",
                 "correlation_length"],
    "synthetic": ["overlapping_discs", "disc_two_point", "gaussian_blobs"],
    "micrographs": ["load_micrograph", "load_image_folder", "micrograph_crops", "segment", "MicrographSpec"],
    "micro": ["crop_statistics", "StatisticsPCA", "evaluate_micro"],
    "statistics_vae": ["draw_images"],
    "design": ["DesignTarget", "design_in_latent_space", "reachable_range", "interpolation_properties"],
    "data": ["save_dataset", "load_dataset", "ensure_dataset", "split_indices", "split_from_labels", "LinesDataset",
             "compute_spectra_cache", "spectra_cache", "dataset_summary"],
    "models": ["ModelConfig", "VAE", "build_vae"],
    "objective": ["Objective"],
    "losses": ["data_loss", "kl_divergence", "vae_loss"],
    "config": ["TrainConfig", "PROFILES", "config_for"],
    # the training function itself is utils.train.train (the name `train` is the module)
    "runs": ["load_run", "read_history", "is_finished", "dataset_split"],
    "metrics": ["threshold_image", "volume_fraction_difference", "count_lines", "line_orientation",
                "data_mse", "spatial_stats_mse"],
    "search": ["NeighborResult", "nearest_neighbors"],
    "inversion": ["reconstruct_from_statistics", "refine_latent", "Spectra", "Windows"],
    "latent": ["statistics_features", "fit_statistics_pca", "pca_reconstruct"],
    "project": ["LOSSES", "MODEL_LABELS", "DEFAULT_PROFILE", "DEFAULT_LINES", "PAPER", "Folders"],
    "files": ["write_json"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Load ``utils.<module>`` the first time one of its names is asked for."""
    if name in _WHERE:
        return getattr(importlib.import_module(f"utils.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
