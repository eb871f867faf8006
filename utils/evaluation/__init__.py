"""Scores: the paper's evaluation and what the notebooks measure beyond it.

metrics: line counts, volume fraction, MSEs; search: nearest neighbours; evaluate and report:
notebook 04; sweep and latent_space: notebook 05; crop_size: notebook 06; micro: notebook 07; realism and samples:
whether images drawn from sampled codes look real (a classifier two-sample test on their descriptors); volumes: a
volume's slices against its micrograph, and its connectivity in 3D.

Every public name of these modules is also a name of ``utils.evaluation`` (loaded on first use), so a notebook writes
``from utils.evaluation import <name>``.
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "crop_size": ["features_per_crop"],
    "evaluate": ["EvalData", "Scored", "TestSetEvaluation", "load_models", "load_eval_data", "pick", "reconstruct",
                 "per_image_table", "evaluate_test_set", "evaluate_inference", "overfit_check"],
    "latent_space": ["latent_correlations", "robustness"],
    "metrics": ["threshold_image", "volume_fraction_difference", "volume_fraction_differences", "count_lines",
                "line_orientation", "lines_summary", "min_line_area", "data_mse", "spatial_stats_mse",
                "data_mse_batch", "spatial_stats_mse_batch"],
    "micro": ["score", "summarise_scores", "first_per_material", "classify", "MicroEvaluation", "pca_start", "evaluate_micro", "two_yardsticks",
              "load_micro", "chosen_micro_runs", "micro_runs"],
    "realism": ["REALISM_DESCRIPTORS", "quadratic_classifier", "two_sample_accuracy", "realism_table",
                "material_gaussians", "sample_codes", "prior_codes"],
    "volumes": ["SLICE_COLUMNS", "mean_error_against", "yardsticks", "slice_report", "statistics_report",
                "plane_properties", "connectivity_table", "SHAPE_COLUMNS", "descriptor_range", "middle_section", "TRUTH_COLUMNS",
                "truth_comparison"],
    "samples": ["PRIOR", "Sampler", "Samples", "statistics_samplers", "sample_and_judge"],
    "report": ["summarise", "whole_split_scores", "build_results", "results_markdown", "write_results",
               "comparison_table"],
    "search": ["NeighborResult", "nearest_neighbors", "SPACES"],
    "sweep": ["LATENT_SIZES", "sweep_runs", "score_sweep", "shipped_scores", "sweep_scores", "ship_scores"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS, modules=True)
