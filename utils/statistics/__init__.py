"""Two-point statistics and what is measured from them.

two_point: f(r) of a phase, its FFT, the normalised autocovariance; spectral: power spectra and
Parseval distances; maps: windows, profiles, correlation lengths; objective: the one statistics term
(Objective); descriptors: what no loss sees (interfaces, chords, clusters); crops: statistics of crops;
pca: principal components of statistics; planes: the slices of a volume.

Every public name of these modules is also a name of ``utils.statistics`` (loaded on first use), so a notebook writes
``from utils.statistics import <name>``.
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "crops": ["CropStatistics", "crop_statistics"],
    "descriptors": ["DESCRIPTORS", "interface_density", "chord_lengths", "cluster_count", "describe",
                    "descriptor_ratios", "orientation", "angle_difference", "spanning_share"],
    "maps": ["CORRELATION_LEVEL", "cutoff_window", "offset_distances", "radial_profile", "directional_profiles",
             "phase_correlations", "correlation_length"],
    "objective": ["Objective"],
    "planes": ["PLANES", "ACROSS", "plane_slices", "transverse_windows"],
    "pca": ["SPACES", "statistics_features", "fit_statistics_pca", "pca_reconstruct", "pca_errors", "StatisticsPCA"],
    "spectral": ["spectral_weights", "autocorrelation_spectrum", "power_spectrum", "binary_spectrum_at_eps",
                 "statistics_from_spectrum", "statistics_sq_distance", "spatial_statistics_sq_distance"],
    "two_point": ["phase_indicator", "autocorrelation", "cross_correlation", "spatial_statistics",
                  "normalised_autocovariance", "autocorrelation_by_direct_sum", "check_spatial", "fast_length"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS, modules=True)
