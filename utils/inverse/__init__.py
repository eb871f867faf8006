"""Inverse problems: images or codes whose statistics match a target.

fields: thresholded Gaussian random fields; targets: what is matched (images, Spectra, Windows);
inversion: reconstruction from statistics and latent refinement; drawing: images from a statistics
VAE's decoded statistics; latent: encoding, decoding and paths in the latent space; design: target
properties in, microstructures out; volumes: 3D structures whose slices have a micrograph's statistics.

Every public name of these modules is also a name of ``utils.inverse`` (loaded on first use), so a notebook writes
``from utils.inverse import <name>``.
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "design": ["DESIGN_STEPS", "DESIGN_LR", "DESIGN_RESTARTS", "DESIGN_DRAWN", "DesignTarget", "Design",
               "correlation_lengths", "soft_properties", "window_properties", "property_table", "properties", "decoded_images",
               "reachable_range", "design_in_latent_space", "interpolation_properties", "compare_design_methods"],
    "drawing": ["draw_images"],
    "fields": ["WIDTHS", "difference_rate", "lag_one_correlation", "field_widths", "thresholded_field",
               "first_offsets", "binarise_at_fractions"],
    "inversion": ["LIMIT_STEPS", "LIMIT_LR", "LIMIT_RESTARTS", "NONPERIODIC_STEPS", "NONPERIODIC_LR", "NONPERIODIC_LR_RISE",
                  "BINARISE_SIGMA", "REFINE_STEPS", "REFINE_LR", "Inversion", "frozen", "minimise", "recentre",
                  "reconstruct_from_statistics", "refine_latent"],
    "latent": ["features_to_spectra", "encode_means", "decode", "path_codes", "interpolate"],
    "volumes": ["VOLUME_STEPS", "VOLUME_CUTOFF", "VOLUME_SMOOTHING", "SMOOTHING_PER_WIDTH", "Volume", "start_widths", "window_statistics",
                "volume_field", "reconstruct_volume", "design_windows"],
    "targets": ["Spectra", "Windows", "check_target_kind", "check_two_phases", "target_images", "target_tensors"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS, modules=True)
