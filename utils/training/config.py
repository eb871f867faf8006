"""The configuration of a training run, and the profiles: one explicit setting per profile and model.

``config_for("cpu", "spatial_stats")`` is what ``make figures`` trains as our VAE; its entry in
:data:`PROFILES` below lists every setting in which it differs from the paper's configuration
(the defaults of :class:`TrainConfig`), each with the reason.  Profiles:

* ``smoke``: seconds on a CPU, for the tests and for trying the code (it learns little);
* ``class``: the cpu settings trained for a quarter of the epochs: both lines VAEs in about 4 minutes on
  2 cores, enough for the paper's claims (a lesson's worth of waiting);
* ``cpu``: the small conv VAE at 64x64 that ``make figures`` trains on a 2-core laptop;
* ``paper``: the paper's configuration (ResNet-152 at 224x224, 100,000 images, 1500 epochs): a GPU job.
* ``sweep``: the cpu settings, 10 epochs each: the latent-size sweep of notebook 05 (``make sweep``);
* ``micro``: the cpu model on 64-px crops of the seven shipped micrographs, non-periodic statistics
  (notebooks 07-08, ``make micro``), and a third model, the statistics VAE (``decoder="statistics"``: it decodes
  the statistics window, not pixels); ``micro-smoke``: the same in seconds, for the tests.

Each profile maps a model name (a loss of ``LOSSES``, or ``STATISTICS_VAE``) to its config; the run folder of a
model is named after it.

>>> cfg = config_for("cpu", "data", lines=(3, 7))
>>> cfg.dataset.name, cfg.epochs, cfg.loss
('lines_n20000_s64_l3-7_seed0', 25, 'data')
"""
from __future__ import annotations

import argparse
import math
import typing
from dataclasses import dataclass, field, fields, replace
from typing import Any, Sequence

from utils.data.lines import DatasetSpec
from utils.data.micrographs import MicrographSpec
from utils.project import DEFAULT_LINES, DEFAULT_PROFILE, LOSSES, STATISTICS_VAE
from utils.statistics.objective import Objective
from utils.training.models import ModelConfig

__all__ = ["TrainConfig", "PROFILES", "PROFILE_PURPOSES", "DATA_KINDS", "RUNTIME_FIELDS", "REMOVED_FIELDS", "REMOVED_VALUES", "AMP_MODES",
           "MODEL_NAMES", "config_for", "lr_at", "build_parser"]

AMP_MODES = ("off", "bf16", "auto")
DATA_KINDS = ("lines", "micrographs")


def _f(default: Any, help: str) -> Any:
    """A dataclass field whose ``help`` becomes the --help text of its command-line flag."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    The defaults of the fields that decide the result are the paper's configuration (its
    appendix A and its code: 100,000 images of 224², the frozen ImageNet ResNet-152 encoder, the
    summed statistics loss with beta = 1, 1500 epochs); the runtime fields default to what suits
    a laptop.  :data:`PROFILES` writes out, for each profile and loss, what it changes and why.
    """

    # --- what is trained
    profile: str = _f("paper", "profile these settings started from: smoke | cpu | class | sweep | micro | micro-smoke | paper")
    loss: str = _f("spatial_stats", "reconstruction loss: spatial_stats (the paper's) or data "
                                    "(the vanilla VAE's summed pixel MSE)")
    # --- the dataset (utils.data.lines.DatasetSpec or utils.data.micrographs.MicrographSpec) and its split
    data_kind: str = _f("lines", "the images: lines (generated, the paper's) or micrographs (crops of the seven "
                                 "shipped micrographs, utils.data.micrographs)")
    n_images: int = _f(100_000, "lines: images in the dataset, train + validation + test")
    n_crops: int = _f(800, "micrographs: crops per micrograph from its training region (validation included)")
    n_test_crops: int = _f(100, "micrographs: crops per micrograph from its held-out region")
    image_size: int = _f(224, "image height = width in pixels, of the dataset and of the model")
    min_lines: int = _f(DEFAULT_LINES[0], "fewest lines per image")
    max_lines: int = _f(DEFAULT_LINES[1], "most lines per image (the paper's harder variant: 3..7)")
    data_seed: int = _f(0, "seed of the dataset generator and of the train/val/test split")
    data_dir: str = _f("data", "folder holding the datasets; the profile's dataset is generated there if missing")
    val_fraction: float = _f(0.2, "fraction of the images used for validation (best checkpoint)")
    test_fraction: float = _f(0.1, "fraction of the images held out for evaluation (never trained on); micrographs: "
                                   "the right-most fraction of each micrograph's width, where the test crops lie")
    # --- the model (utils.training.models.ModelConfig)
    encoder: str = _f("resnet152", "encoder: resnet152 (the paper's), conv (small, fast on a CPU) or statistics "
                                   "(reads the statistics window of cutoff: the statistics VAE, with decoder=statistics)")
    latent_dim: int = _f(9, "size of the latent code z (the paper: 9)")
    pretrained: bool = _f(True, "resnet152: start from the ImageNet weights (torch hub cache)")
    base_channels: int = _f(32, "conv: channels of the first conv, doubled at each of the 4 stages")
    hidden_dim: int = _f(1024, "resnet152: width of the encoder head and of the paper's decoder; statistics VAE: "
                               "width of the MLPs beside its linear maps")
    decoder: str = _f("auto", "decoder: auto (paper for resnet152, conv otherwise), conv (mirror of the conv "
                              "encoder), paper (32x32 transposed convs, bilinear resize, 1x1 conv) or statistics "
                              "(a linear map started as the PCA plus an MLP to the statistics window of cutoff: the "
                              "statistics VAE, with encoder=statistics)")
    # --- the objective (utils.training.losses.vae_loss: alpha * the reconstruction term + beta * KL, each summed per image)
    alpha: float = _f(1.0, "weight of the reconstruction term")
    beta: float = _f(1.0, "weight of the KL term (the paper: 1)")
    normalize_stats: bool = _f(False, "divide the statistics by the training set's largest one (values in [0, 1])")
    periodic: bool = _f(True, "statistics wrap around the border (the paper: its lines are periodic); false: "
                              "zero-padded, each offset divided by its number of pairs (micrograph crops)")
    cutoff: int = _f(0, "non-periodic statistics only: compare the offsets |r_y|, |r_x| <= cutoff px (0 = all; the "
                        "far offsets of a crop rest on few pairs of pixels)")
    phase: float = _f(0.0, "grey level of the phase whose statistics are compared (0 = black lines)")
    eps: float = _f(0.25, "width of the soft phase indicator exp(-(x - phase)^2 / (2 eps^2))")
    sharp_eps: float = _f(0.0, "add a statistics term with this narrower indicator width (0 = off, the "
                                "paper): pushes line pixels below the evaluation's 0.05 threshold")
    # --- optimisation
    epochs: int = _f(1500, "number of passes over the training images")
    batch_size: int = _f(32, "images per optimiser step (per process under torchrun)")
    lr: float = _f(1e-3, "Adam learning rate")
    lr_decay_fraction: float = _f(0.1, "the last fraction of the epochs runs at lr * lr_decay_factor")
    lr_decay_factor: float = _f(0.5, "learning-rate factor of the last epochs (the paper halves it)")
    seed: int = _f(127, "seed of the weights, shuffling and sampling (the paper: 127, vanilla 125)")
    amp: str = _f("off", "mixed precision of the model (the losses stay float32): off, bf16 (torch.autocast "
                         "to bfloat16; on a CPU also channels-last weights) or auto (bf16 on a CPU with native "
                         "bfloat16 instructions, AMX or AVX512-BF16, ~1.7-2x faster there; else off)")
    # --- output and runtime (may differ when resuming)
    sample_every: int = _f(2, "write samples/epoch_XXXX.png every this many epochs and at the end (0: never; "
                              "image decoders only)")
    n_samples: int = _f(6, "validation images shown in each samples figure")
    device: str = _f("auto", "auto (CUDA when available, else CPU), cpu, cuda, cuda:1, ...")
    num_workers: int = _f(0, "DataLoader worker processes (0: load in the main process)")
    num_threads: int = _f(0, "CPU threads of torch during training (0: torch's default); on a busy "
                             "shared CPU 1 is often fastest. Bit-exact resume needs the same value")
    tensorboard: bool = _f(False, "also log to RUN_DIR/tensorboard (needs the tensorboard package)")
    deterministic: bool = _f(True, "torch.use_deterministic_algorithms (warn only) and no cuDNN benchmarking")
    overwrite: bool = _f(False, "delete a run already in the output folder and start afresh")

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, got {self.amp!r}")
        if self.data_kind not in DATA_KINDS:
            raise ValueError(f"data_kind must be one of {DATA_KINDS}, got {self.data_kind!r}")
        if self.cutoff and (self.periodic or not 0 < self.cutoff <= (self.image_size - 1) // 2):
            raise ValueError(f"cutoff={self.cutoff} needs periodic=false and 0 < cutoff <= {(self.image_size - 1) // 2} "
                             f"(offsets of a {self.image_size}-px image); cutoff=0 compares every offset")
        if self.decoder == "statistics" and (self.loss != "spatial_stats" or self.periodic or not self.cutoff
                                             or self.sharp_eps or self.phase != 0.0 or self.eps != 0.25):
            raise ValueError("the statistics decoder draws one non-periodic statistics window of phase 0 at eps 0.25 "
                             "(what its encoder reads): it needs loss=spatial_stats, periodic=false, cutoff >= 1, "
                             "sharp_eps=0, phase=0 and eps=0.25")
        _ = self.dataset, self.model, self.objective()   # validate them (ValueError naming the problem)
        checks = [("epochs", self.epochs >= 1, ">= 1"), ("batch_size", self.batch_size >= 2, ">= 2 (BatchNorm)"),
                  ("lr", self.lr > 0, "> 0"), ("lr_decay_fraction", 0 <= self.lr_decay_fraction <= 1, "in [0, 1]"),
                  ("lr_decay_factor", self.lr_decay_factor > 0, "> 0"),
                  ("val_fraction", 0 < self.val_fraction < 1, "in (0, 1)"),
                  ("test_fraction", 0 <= self.test_fraction < 1, "in [0, 1)"),
                  ("alpha", self.alpha >= 0, ">= 0"), ("beta", self.beta >= 0, ">= 0"),
                  ("eps", self.eps > 0, "> 0"), ("sharp_eps", self.sharp_eps >= 0, ">= 0"),
                  ("sample_every", self.sample_every >= 0, ">= 0"),
                  ("n_samples", self.n_samples >= 1, ">= 1"), ("num_workers", self.num_workers >= 0, ">= 0"),
                  ("num_threads", self.num_threads >= 0, ">= 0")]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)!r}")

    @property
    def dataset(self) -> DatasetSpec | MicrographSpec:
        """The dataset this run trains on (its folder is ``data_dir / dataset.name``)."""
        if self.data_kind == "micrographs":
            return MicrographSpec(size=self.image_size, n_train=self.n_crops, n_test=self.n_test_crops,
                                  test_fraction=self.test_fraction, seed=self.data_seed)
        return DatasetSpec(n_images=self.n_images, size=self.image_size, min_lines=self.min_lines,
                           max_lines=self.max_lines, seed=self.data_seed)

    @property
    def model(self) -> ModelConfig:
        """The architecture of this run's VAE."""
        return ModelConfig(encoder=self.encoder, latent_dim=self.latent_dim, image_size=self.image_size,
                           pretrained=self.pretrained, base_channels=self.base_channels,
                           hidden_dim=self.hidden_dim, decoder=self.decoder,
                           window=self.cutoff if self.decoder == "statistics" else 0)

    def objective(self, scale: float = 1.0) -> Objective:
        """The reconstruction term this run minimises (its statistics divided by ``scale``: the training set's
        largest statistic when ``normalize_stats``, stored as ``stats_scale`` in the run's checkpoints)."""
        return Objective(phase=self.phase, eps=self.eps, sharp_eps=self.sharp_eps, periodic=self.periodic,
                         cutoff=self.cutoff, scale=scale)


# Fields that may change when a run is resumed: they do not change the weights it ends with.
RUNTIME_FIELDS = frozenset({"data_dir", "sample_every", "n_samples", "device", "num_workers", "num_threads",
                            "tensorboard", "deterministic", "overwrite"})

# Settings of screened and rejected experiments that the code no longer has (docs/design.md, section 8; their
# code is at commit 8eec102), with the value that meant "off".  A run's config.json that holds one at that
# value is read as today's; at another, it is refused (utils.training.runs.read_config, config_differences).
# (coarse_sigma mattered only with coarse > 0: it is ignored.)  REMOVED_VALUES: values of kept settings whose code left.
REMOVED_FIELDS = {"tv_weight": 0.0, "coarse": 0.0, "warmup_epochs": 0, "shift_augment": False,
                  "encoder_input": "image", "reduction": "sum", "autocovariance_weight": 0.0}
REMOVED_VALUES = {"decoder": ("resize", "broadcast")}

_SMOKE = dict(profile="smoke", n_images=256, image_size=32, encoder="conv", base_channels=16, epochs=2, seed=0,
              sample_every=2, n_samples=4, num_threads=1)
_CPU = dict(profile="cpu",
            n_images=20000,   # 70 / 20 / 10 % train / validation / test: 14,000 training images
            image_size=64,    # line thickness scales from 5-9 px at 224 to 1-3 px
            encoder="conv",   # 4 stride-2 convs and their mirror, not a frozen ResNet-152 ...
            base_channels=16, # ... of 16-128 channels: a third of the step time of 32-256, whose free-code
                              # decoder cap is only 3 points higher (docs/experiments.md, commit c3dcaef)
            amp="auto")       # bfloat16 autocast where the CPU has it natively (AMX, AVX512-BF16), else float32

_CPU_OURS = TrainConfig(   # the loss changes of our VAE, and why: docs/design.md, section 4
    loss="spatial_stats", **_CPU,
    normalize_stats=True,   # at 64² the raw summed statistics are tiny beside the KL term: grey collapse
    alpha=10.0,             # ... so they are divided by the largest one and weighted 10x
    beta=0.1,               # beta = 1 keeps ~9 nats and blurs 2-5 lines into one; 0.1 keeps ~27
    sharp_eps=0.1,          # a second, narrow-indicator term darkens lines below the 0.05 threshold
    epochs=40)              # trained longer than the vanilla VAE, as in the paper (1500 vs 400)
_CPU_VANILLA = TrainConfig(loss="data", **_CPU, epochs=25)
_MICRO = dict(profile="micro", data_kind="micrographs",
              n_crops=800, n_test_crops=100,   # per micrograph: 7 x 640 training, 7 x 160 validation, 7 x 100 test
              test_fraction=0.25,  # the right-most 64 px of each 256-px micrograph are held out
              periodic=False)      # a crop is a window of a larger piece of material: its statistics do not wrap
# 140 steps an epoch (~15 s for ours, which computes its statistics in real space; ~11 s vanilla):
# both image VAEs train in about 12 min on 2 cores (bfloat16 on AVX-512; about 22 min in float32), the statistics VAE
# in about 4 min more
_MICRO_OURS = replace(_CPU_OURS, **_MICRO, epochs=60)
_MICRO_VANILLA = replace(_CPU_VANILLA, **_MICRO, epochs=40)
_MICRO_STATISTICS = replace(   # the statistics VAE: a nonlinear PCA of the statistics (utils.training.statistics_vae)
    _MICRO_OURS, encoder="statistics", decoder="statistics",
    cutoff=31,                 # it reads and decodes the offsets |r_y|, |r_x| <= 31 px, every one a 64-px crop has
                               # on both sides: drawn from the true window |r| <= 16, a crop's image scored 0.0046,
                               # from |r| <= 31 0.0024 (the whole f: 0.0020; docs/experiments.md)
    hidden_dim=128,            # width of the MLPs beside the PCA's linear maps: 128 held-out 0.0031, 512 0.0032
    normalize_stats=False, alpha=1.0,   # its loss is the distance of its weighted features, the PCA's ...
    beta=1e-3,                 # ... beside the KL term (1e-2: no better)
    lr=3e-4,                   # 1e-3 diverged from the PCA start
    sharp_eps=0.0,             # one window, one indicator width
    epochs=40,                 # 80: held-out 0.0033, the training region's crops overfitted (docs/experiments.md)
    batch_size=64, seed=0, sample_every=0)   # amp "auto" and the halved lr of the last tenth: as the image VAEs


def _both(*configs: TrainConfig, **changes: Any) -> dict[str, TrainConfig]:
    """{loss: config with ``changes``} of the two losses' configs."""
    return {cfg.loss: replace(cfg, **changes) for cfg in configs}


PROFILE_PURPOSES = {   # what each profile is for (``--profile`` help lists them)
    "smoke": "seconds on any CPU: the tests and a dry run of make figures",
    "cpu": "make figures on a laptop CPU: the small conv VAE at 64x64 (notebooks 01-04)",
    "class": "make figures PROFILE=class: the cpu settings at 10 / 6 epochs, both VAEs in about 4 min (a lesson)",
    "paper": "the paper's configuration: frozen ResNet-152 at 224x224, 1500 / 400 epochs (a GPU job)",
    "sweep": "make sweep: notebook 05's latent sizes, the cpu settings at 10 epochs",
    "micro": "make micro: crops of the seven micrographs, non-periodic statistics, and the statistics VAE (notebooks 07-08)",
    "micro-smoke": "seconds: the micro profile at 32 px, 2 epochs (the tests of notebooks 06-09)",
}

PROFILES: dict[str, dict[str, TrainConfig]] = {
    # 256 lines of 32 px, 2 epochs, the paper's loss: pins the code, not the method
    "smoke": {loss: TrainConfig(loss=loss, **_SMOKE) for loss in LOSSES},
    # how it differs from the paper: _CPU and _CPU_OURS above, measured in docs/design.md
    "cpu": {"spatial_stats": _CPU_OURS, "data": _CPU_VANILLA},
    # the cpu settings, 10 and 6 epochs: both runs in about 4 min on 2 cores, for a class to train during a lesson
    "class": {"spatial_stats": replace(_CPU_OURS, profile="class", epochs=10),
              "data": replace(_CPU_VANILLA, profile="class", epochs=6)},
    # the paper's settings are TrainConfig's defaults; its vanilla VAE: 400 epochs, seed 125
    "paper": {"spatial_stats": TrainConfig(loss="spatial_stats", profile="paper", sample_every=50, num_workers=4),
              "data": TrainConfig(loss="data", profile="paper", sample_every=50, num_workers=4, epochs=400, seed=125)},
    # 12 trainings (6 latent sizes x 2 losses) that fit an hour on 2 cores (19.5 min in bfloat16 on AVX-512); no sample images
    "sweep": _both(_CPU_OURS, _CPU_VANILLA, profile="sweep", epochs=10, sample_every=0),
    # the cpu model and losses on micrograph crops, and the statistics VAE: _MICRO and _MICRO_STATISTICS above
    "micro": {"spatial_stats": _MICRO_OURS, "data": _MICRO_VANILLA, STATISTICS_VAE: _MICRO_STATISTICS},
    # float32 on every CPU (amp off): the tests pin its numbers
    "micro-smoke": {**_both(_MICRO_OURS, _MICRO_VANILLA, profile="micro-smoke", image_size=32, n_crops=24,
                            n_test_crops=4, epochs=2, seed=0, sample_every=2, n_samples=4, num_threads=1, amp="off"),
                    STATISTICS_VAE: replace(_MICRO_STATISTICS, profile="micro-smoke", image_size=32, n_crops=24,
                                            n_test_crops=4, cutoff=15, hidden_dim=32, epochs=2,
                                            batch_size=32, num_threads=1, amp="off")},
}
MODEL_NAMES = tuple(dict.fromkeys(name for by_name in PROFILES.values() for name in by_name))   # every profile's models


def config_for(profile: str, name: str = "spatial_stats", *, lines: Sequence[int] | None = None,
               **overrides: Any) -> TrainConfig:
    """The TrainConfig of model ``name`` of ``profile`` (:data:`PROFILES`: a loss of ``LOSSES``, or
    ``STATISTICS_VAE`` in the micro profiles), on ``lines`` = (fewest, most) lines per image when given, with
    ``overrides`` (TrainConfig field names) applied last."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    if name not in PROFILES[profile]:
        raise ValueError(f"profile {profile!r} has no model {name!r}; its models: {list(PROFILES[profile])}")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown TrainConfig fields {unknown}; valid names: {sorted(names)}")
    if lines is not None:
        overrides = {"min_lines": int(lines[0]), "max_lines": int(lines[1]), **overrides}
    return replace(PROFILES[profile][name], **overrides)


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: ``lr``, times ``lr_decay_factor`` in the last fraction of epochs."""
    n_decayed = math.floor(cfg.epochs * cfg.lr_decay_fraction + 0.5)
    return cfg.lr * cfg.lr_decay_factor if epoch >= cfg.epochs - n_decayed else cfg.lr


# ----------------------------------------------------------------------------- command line

def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _field_default_text(name: str) -> str:
    """"default V", or the value of each profile (and model, where a profile's models differ)."""
    parts = []
    for profile, by_model in PROFILES.items():
        values = {model: getattr(cfg, name) for model, cfg in by_model.items()}
        if len(set(map(repr, values.values()))) == 1:
            parts.append((profile, next(iter(values.values()))))
        else:
            parts += [(f"{profile}/{model}", value) for model, value in values.items()]
    if len(set(repr(v) for _, v in parts)) == 1:
        return f"default {parts[0][1]}"
    return "default " + ", ".join(f"{k}: {v}" for k, v in parts)


def build_parser(prog: str = "python -m utils.training", description: str = "") -> argparse.ArgumentParser:
    """The command line of a training run: ``--profile``, ``--model``, ``--out``, ``--resume``,
    ``--quiet`` and one ``--name`` flag per TrainConfig field (its help, and each profile's value)."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
                        help="named set of settings (default %(default)s): "
                             + "; ".join(f"{name}: {use}" for name, use in PROFILE_PURPOSES.items()))
    parser.add_argument("--model", choices=MODEL_NAMES, default="spatial_stats",
                        help="which of the profile's models: spatial_stats, our VAE with the paper's loss (default); "
                             "data, the vanilla VAE (summed pixel MSE); statistics_vae, the VAE that decodes statistics "
                             "(micro profiles)")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<profile>/<model> in the repository)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from last.pt (or say it is finished)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    group = parser.add_argument_group("TrainConfig fields (override the profile's values)")
    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name in ("profile", "loss"):
            continue
        kind = hints[f.name]
        convert = _parse_bool if kind is bool else kind
        names = [f"--{f.name}"] + ([f"--{f.name.replace('_', '-')}"] if "_" in f.name else [])
        group.add_argument(*names, dest=f.name, type=convert, default=None,
                           metavar="true|false" if kind is bool else kind.__name__.upper(),
                           help=f"{f.metadata['help']} ({_field_default_text(f.name)})".replace("%", "%%"))
    return parser
