"""What the notebooks show: figures, widgets and the closing text of each notebook.

plots: figures shown as PNGs and the image-with-statistics panel; eval_plots, latent_plots,
micro_plots, design_plots, volume_plots: each notebook's figures; widgets: sliders and panels; endings: each
notebook's conclusion.

Every public name of these modules is also a name of ``utils.notebook`` (loaded on first use), so a notebook writes
``from utils.notebook import <name>``.
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "design_plots": ["designs_figure", "interpolation_figure", "comparison_figure"],
    "endings": ["conclusion_01", "conclusion_02", "conclusion_03", "conclusion_04", "conclusion_05", "conclusion_06",
                "conclusion_07", "conclusion_08", "conclusion_09"],
    "eval_plots": ["line_count_heatmaps", "volume_fraction_histogram", "overfit_histograms",
                   "examples_with_statistics", "examples_with_neighbors", "choose_examples", "example_label"],
    "latent_plots": ["error_against_dimension", "latent_map", "correlation_heatmap", "robustness_curves",
                     "images_with_statistics"],
    "micro_plots": ["materials_and_statistics", "profiles_by_material", "autocovariance_by_material",
                    "correlation_matrix", "closed_form_check", "held_out_regions", "reconstructions_by_material",
                    "scores_by_material", "descriptor_ratios_by_material", "confusion_table", "codes_map",
                    "samples_by_material"],
    "plots": ["NotebookFigure", "new_figure", "save_figure", "to_images", "statistics_of", "offset_extent",
              "image_panel", "statistics_panel", "image_and_statistics", "statistics_row", "image_grid",
              "reconstruction_grid", "loss_curves", "profiles_through_origin"],
    "volume_plots": ["volume_slices_figure", "isosurface_figure", "depth_explorer"],
    "widgets": ["draw_lines", "lines_figure", "lines_explorer", "latent_figure", "latent_explorer", "design_panel",
                "noted", "live_figure", "LIVE_NOTE"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS, modules=True)
