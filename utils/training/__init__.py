"""Models and their training: one stack for every model the project trains.

models: the VAEs; statistics_vae: the statistics VAE's encoder and decoder (a PCA start); losses: the objective of a step;
config: TrainConfig and the profiles; loop: train() and its command line
(python -m utils.training); batches: a run's data and loaders; runs: the run folder; device:
where it runs; shipped: the trained models in the repository.

Every public name of these modules is also a name of ``utils.training`` (loaded on first use), so a notebook writes
``from utils.training import <name>``.
"""
from __future__ import annotations

from utils.lazy import lazy_exports

_EXPORTS = {
    "batches": ["LinesDataset", "TrainingData", "prepare_training_data", "training_loaders"],
    "config": ["TrainConfig", "PROFILES", "PROFILE_PURPOSES", "DATA_KINDS", "RUNTIME_FIELDS", "REMOVED_FIELDS",
               "REMOVED_VALUES", "AMP_MODES", "MODEL_NAMES", "config_for", "lr_at", "build_parser"],
    "device": ["Dist", "resolve_device", "autocast_dtype"],
    "loop": ["TrainingDiverged", "train", "main"],
    "losses": ["REDUCTIONS", "data_loss", "kl_divergence", "vae_loss"],
    "models": ["ModelConfig", "VAE", "build_vae", "ConvEncoder", "ConvDecoder", "ResNetEncoder", "PaperDecoder",
               "resnet152_backbone", "ENCODERS", "DECODERS"],
    "runs": ["RUN_FILES", "RUN_DIRS", "save_checkpoint", "write_history", "save_epoch", "load_checkpoint",
             "load_state", "read_config", "dataset_split", "read_history", "is_finished", "load_run",
             "config_differences", "inspect_run_dir", "clear_run_dir", "StaleRuns", "move_aside"],
    "statistics_vae": ["feature_weights", "window_features", "statistics_features", "feature_distance",
                       "windows_from_features", "StatisticsEncoder", "StatisticsDecoder", "initialise_from_pca"],
    "shipped": ["SHIPPED", "SHIPPED_BUDGET_MB", "Shipment", "SHIPMENTS", "shipped_run", "choose_run", "train_hint",
                "ship", "shipped_megabytes", "current_commit"],
}
__getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS, modules=True)
