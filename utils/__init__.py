"""spatial-stats-vae: a VAE whose reconstruction loss compares two-point spatial statistics.

The flat public API of the project, over subpackages by topic.  Each name lives in a small module of its own,
readable top to bottom; ``import utils`` stays cheap because the names are loaded on first use.  Every public
name of a subpackage's modules is also a name of the subpackage (``from utils.evaluation import evaluate_micro``).

========================  =====================================================================================
subpackage                what it holds (floors, bottom up: a module imports only from its floor or below)
========================  =====================================================================================
``utils`` (ground)        ``project`` (names, defaults, folders), ``checks``, ``files``, ``progress``
``utils.statistics``      two-point statistics (``two_point``), spectra, maps, the ``Objective``, descriptors,
                          statistics of crops, their PCA
``utils.data``            the lines, the micrographs, synthetic fields, a dataset on disk and its spectra cache
``utils.notebook``        figures (PNG in Jupyter), widgets, each notebook's conclusion
``utils.training``        the models, the losses, ``TrainConfig`` and the profiles, the loop
                          (``python -m utils.training``), run folders, devices, the shipped models
``utils.inverse``         random fields, reconstruction from statistics, latent refinement, drawing from a
                          statistics VAE, the latent space, design
``utils.evaluation``      metrics, neighbour search, notebook 04's evaluation and report, the sweep, notebooks
                          05-07's scores
``utils.jobs`` (top)      the one runner behind ``make figures``, ``make sweep``, ``make micro`` and ``make ship``
========================  =====================================================================================

>>> import torch, utils
>>> images, labels = utils.generate_lines(1, size=32, seed=0)     # uint8, 0 = line, 1 = background
>>> f = utils.spatial_statistics(torch.as_tensor(images, dtype=torch.float32))  # f(r), r = 0 at (16, 16)
>>> f.shape
torch.Size([1, 32, 32])
>>> bool(abs(f[0, 16, 16] - (images == 0).mean()) < 1e-3)   # centre = volume fraction of the lines
True
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "statistics.two_point": ["phase_indicator", "autocorrelation", "cross_correlation", "spatial_statistics"],
    "statistics.spectral": ["power_spectrum", "statistics_sq_distance", "spatial_statistics_sq_distance"],
    "statistics.maps": ["cutoff_window", "radial_profile", "directional_profiles", "phase_correlations",
                        "correlation_length"],
    "statistics.objective": ["Objective"],
    "statistics.crops": ["crop_statistics"],
    "statistics.pca": ["StatisticsPCA", "statistics_features", "fit_statistics_pca", "pca_reconstruct"],
    "data.lines": ["generate_lines", "DatasetSpec"],
    "data.synthetic": ["overlapping_discs", "disc_two_point", "gaussian_blobs"],
    "data.micrographs": ["load_micrograph", "load_image_folder", "micrograph_crops", "segment", "MicrographSpec"],
    "data.store": ["save_dataset", "load_dataset", "ensure_dataset", "split_indices", "split_from_labels",
                   "dataset_summary"],
    "data.spectra": ["compute_spectra_cache", "spectra_cache"],
    "training.models": ["ModelConfig", "VAE", "build_vae"],
    "training.losses": ["data_loss", "kl_divergence", "vae_loss"],
    "training.config": ["TrainConfig", "PROFILES", "config_for"],
    "training.loop": ["train"],
    "training.runs": ["load_run", "read_history", "is_finished", "dataset_split"],
    "inverse.inversion": ["reconstruct_from_statistics", "refine_latent"],
    "inverse.targets": ["Spectra", "Windows"],
    "inverse.drawing": ["draw_images"],
    "inverse.volumes": ["reconstruct_volume", "Volume"],
    "inverse.design": ["DesignTarget", "design_in_latent_space", "reachable_range", "interpolation_properties"],
    "evaluation.metrics": ["threshold_image", "volume_fraction_difference", "count_lines", "line_orientation",
                           "data_mse", "spatial_stats_mse"],
    "evaluation.search": ["NeighborResult", "nearest_neighbors"],
    "evaluation.micro": ["evaluate_micro"],
    "project": ["LOSSES", "MODEL_LABELS", "DEFAULT_PROFILE", "DEFAULT_LINES", "PAPER", "Folders"],
    "files": ["write_json"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS)
