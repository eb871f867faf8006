"""The variational autoencoders: the paper's ResNet-152 VAE, a small all-convolutional one, and the statistics VAE.

Conventions
-----------
* Inputs ``x`` are float tensors of shape ``(B, 1, H, W)`` with values in [0, 1]
  (0 = black line, 1 = white background), ``H = W = image_size``.
* The encoder returns ``(mu, logvar)``, each ``(B, latent_dim)``: the mean and the log variance
  log sigma^2 of the diagonal Gaussian q(z | x).
* The decoder maps ``z`` of shape ``(B, latent_dim)`` to a reconstruction ``(B, 1, H, W)`` in
  (0, 1) (it ends in a sigmoid); the statistics decoder to windows ``(B, 2c + 1, 2c + 1)`` of statistics.
* ``forward`` samples ``z = mu + sigma * eps`` (the reparameterisation trick, ``eps`` drawn from an
  optional ``torch.Generator`` so that training can be replayed exactly); ``reconstruct`` uses
  ``z = mu``, as the paper does at evaluation.

The encoders and decoders
-------------------------
``"resnet152"`` (the paper): a 1x1 conv lifts the grey image to 3 channels, ImageNet mean/std
normalisation, a torchvision ResNet-152 without its classifier (ImageNet weights, frozen **and
kept in eval mode**, so its BatchNorm statistics never move -- the paper's code left them in
training mode), then 2048 -> 1024 -> 1024 (Linear + BatchNorm + ReLU) -> mu, logvar.  Its decoder
is the paper's: latent -> 1024 -> 64*4*4 (Linear + BatchNorm + ReLU), three stride-2 transposed
convs 64 -> 32 -> 8 -> 3 (kernel 3, BatchNorm, ReLU but the last) giving 32x32, a bilinear resize
to ``image_size``, a 1x1 conv 3 -> 1 and a sigmoid.

``"conv"`` (fast on a CPU): four stride-2 convs 1 -> c -> 2c -> 4c -> 8c (c = ``base_channels``,
32 gives the paper's 32 -> 64 -> 128 -> 256) with BatchNorm + LeakyReLU, a linear layer to
mu and logvar; the decoder mirrors it with transposed convs (BatchNorm + ReLU, sigmoid at the
end).  ``image_size`` must be a multiple of 16.

``"statistics"`` (the statistics VAE, :mod:`utils.training.statistics_vae`): encoder and decoder together, a
nonlinear PCA of the statistics.  The encoder reads the crop's normalised autocovariance over the window
|r_y|, |r_x| <= c = ``window`` and its phase fraction; the decoder returns windows (B, 2c + 1, 2c + 1) of the
non-periodic two-point function f of phase 0 (r = 0 in the middle, r_y down, r_x right), each a linear map started
as the PCA plus an MLP ``hidden_dim`` wide.  An image is drawn from decoded statistics by reconstruction from
statistics (:func:`utils.inverse.drawing.draw_images`).

The decoders: ``"conv"`` (the mirror above), ``"paper"`` (above) and ``"statistics"`` (above).  Decoders screened and
rejected (a resize-convolution one, a spatial broadcast one, the statistics VAE's first, a conv encoder with an MLP
decoding f) are in docs/design.md, section 8, with the commit that holds their code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.hub
from torch import nn
from torch.nn import functional as F

from utils.checks import positive_int
from utils.training.statistics_vae import StatisticsDecoder, StatisticsEncoder

__all__ = ["ModelConfig", "VAE", "build_vae", "ConvEncoder", "ConvDecoder", "ResNetEncoder", "PaperDecoder",
           "resnet152_backbone", "ENCODERS", "DECODERS"]

ENCODERS = ("conv", "resnet152", "statistics")
DECODERS = ("auto", "conv", "paper", "statistics")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a :class:`VAE` (the weights come from training)."""

    encoder: str = "conv"       # "conv" (small, fast on CPU), "resnet152" (the paper's) or "statistics"
    latent_dim: int = 9         # size of z (the paper: 9)
    image_size: int = 64        # H = W of the images in pixels (the paper: 224)
    pretrained: bool = True     # resnet152 only: start from torchvision's ImageNet weights
    base_channels: int = 32     # conv only: channels of the first conv, doubled at each of 4 stages
    hidden_dim: int = 1024      # resnet152 head and paper decoder: width of the hidden Linear layers
    decoder: str = "auto"       # "auto" (paper decoder for resnet152, mirror for conv), "conv", "paper", "statistics"
    window: int = 0             # statistics encoder and decoder only: they read and draw |r_y|, |r_x| <= window px

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        for name in ("latent_dim", "image_size", "base_channels", "hidden_dim"):
            object.__setattr__(self, name, positive_int(getattr(self, name), name))
        if (self.decoder == "statistics") != (self.window > 0) or (self.encoder == "statistics") != (
                self.decoder == "statistics") or not self.window <= (self.image_size - 1) // 2:
            raise ValueError(f"the statistics encoder and decoder go together, with a window in 1..{(self.image_size - 1) // 2}"
                             f" px, and only they take a window; got encoder={self.encoder!r}, decoder={self.decoder!r}, "
                             f"window={self.window}")
        if "conv" in (self.encoder, self.decoder_kind) and self.image_size % 16:
            raise ValueError(f"the conv encoder/decoder halves the image 4 times, so image_size must "
                             f"be a multiple of 16, got {self.image_size}; use e.g. "
                             f"{max(16, round(self.image_size / 16) * 16)}")
        if self.encoder == "resnet152" and self.image_size < 32:
            raise ValueError(f"ResNet-152 downsamples 32 times, so image_size must be >= 32, "
                             f"got {self.image_size}")

    @property
    def decoder_kind(self) -> str:
        """The decoder actually built: ``decoder`` with "auto" resolved from the encoder."""
        if self.decoder != "auto":
            return self.decoder
        return "paper" if self.encoder == "resnet152" else "conv"


# ----------------------------------------------------------------------------- building blocks

def _linear_bn_relu(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(inplace=True))


def _deconv(c_in: int, c_out: int, kernel: int) -> nn.ConvTranspose2d:
    """Transposed conv that exactly doubles H and W (kernel 3 or 4)."""
    if kernel == 3:
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
    return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)


# ----------------------------------------------------------------------------- conv VAE

class ConvEncoder(nn.Module):
    """(B, 1, S, S) -> (mu, logvar), each (B, latent_dim); four stride-2 convs then one Linear."""

    def __init__(self, latent_dim: int, image_size: int, base_channels: int = 32) -> None:
        super().__init__()
        widths = [1] + [base_channels * 2 ** k for k in range(4)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers, nn.Flatten())
        n_features = widths[-1] * (image_size // 16) ** 2
        self.to_stats = nn.Linear(n_features, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.to_stats(self.features(x)).chunk(2, dim=1)
        return mu, logvar


class ConvDecoder(nn.Module):
    """(B, latent_dim) -> (B, 1, S, S) in (0, 1); the mirror of :class:`ConvEncoder`."""

    def __init__(self, latent_dim: int, image_size: int, base_channels: int = 32) -> None:
        super().__init__()
        widths = [base_channels * 2 ** k for k in reversed(range(4))] + [1]   # 8c, 4c, 2c, c, 1
        self.side = image_size // 16
        self.from_latent = nn.Linear(latent_dim, widths[0] * self.side ** 2)
        layers: list[nn.Module] = [nn.Unflatten(1, (widths[0], self.side, self.side)),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for k, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(_deconv(c_in, c_out, 4))
            if k < 3:
                layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.features(self.from_latent(z)))


# ----------------------------------------------------------------------------- the paper's VAE

def resnet152_backbone(pretrained: bool) -> nn.Module:
    """torchvision ResNet-152 with ``fc`` replaced by Identity: (B, 3, H, W) -> (B, 2048).

    ``pretrained=True`` loads ``ResNet152_Weights.DEFAULT`` (ImageNet) from the torch hub cache,
    downloading it if needed.  Offline and not cached, this raises a RuntimeError that says
    where to put the file and how to train without it.
    """

    # torchvision is imported here, not at the top: only the paper's encoder needs it, and importing it costs
    # every notebook kernel and training process about 1.2 s (it pulls in torch._dynamo)
    from torchvision.models import ResNet152_Weights, resnet152

    if not pretrained:
        net = resnet152(weights=None)
    else:
        weights = ResNet152_Weights.DEFAULT
        try:
            net = resnet152(weights=weights)
        except Exception as err:  # URLError, OSError, corrupt file: all mean "no usable weights"

            target = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
            raise RuntimeError(
                f"could not load the pretrained ResNet-152 ImageNet weights ({type(err).__name__}: "
                f"{err}). This machine may have no internet access. Either download {weights.url} "
                f"elsewhere and copy it to {target} (the torch hub cache; set TORCH_HOME to move "
                f"it), or train without pretrained weights: pretrained=False "
                f"(command line: --pretrained=false)") from err
    net.fc = nn.Identity()
    return net


class ResNetEncoder(nn.Module):
    """The paper's encoder: 1x1 conv 1 -> 3, ImageNet normalisation, frozen ResNet-152, FC head.

    (B, 1, H, W) -> (mu, logvar), each (B, latent_dim).  The backbone's parameters never
    receive gradients and the backbone stays in eval mode even inside ``model.train()``.
    """

    def __init__(self, latent_dim: int, pretrained: bool = True, hidden_dim: int = 1024) -> None:
        super().__init__()
        self.to_rgb = nn.Conv2d(1, 3, kernel_size=1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.backbone = resnet152_backbone(pretrained)
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        self.head = nn.Sequential(_linear_bn_relu(2048, hidden_dim), _linear_bn_relu(hidden_dim, hidden_dim))
        self.to_mu = nn.Linear(hidden_dim, latent_dim)
        self.to_logvar = nn.Linear(hidden_dim, latent_dim)

    def train(self, mode: bool = True) -> "ResNetEncoder":
        """Set train/eval mode of the trainable parts; the frozen backbone always stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.backbone((self.to_rgb(x) - self.mean) / self.std)
        h = self.head(h)
        return self.to_mu(h), self.to_logvar(h)


class PaperDecoder(nn.Module):
    """The paper's decoder: (B, latent_dim) -> (B, 1, image_size, image_size) in (0, 1)."""

    def __init__(self, latent_dim: int, image_size: int, hidden_dim: int = 1024) -> None:
        super().__init__()
        self.image_size = image_size
        self.fc = nn.Sequential(_linear_bn_relu(latent_dim, hidden_dim), _linear_bn_relu(hidden_dim, 64 * 4 * 4),
                                nn.Unflatten(1, (64, 4, 4)))
        self.deconv = nn.Sequential(
            _deconv(64, 32, 3), nn.BatchNorm2d(32), nn.ReLU(inplace=True),     # 4 -> 8
            _deconv(32, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=True),       # 8 -> 16
            _deconv(8, 3, 3), nn.BatchNorm2d(3),                                # 16 -> 32
        )
        self.to_grey = nn.Conv2d(3, 1, kernel_size=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.deconv(self.fc(z))
        h = F.interpolate(h, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return torch.sigmoid(self.to_grey(h))


# ----------------------------------------------------------------------------- the VAE

class VAE(nn.Module):
    """Encoder + decoder + reparameterisation; see the module docstring for shapes."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, config: ModelConfig) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.config = config

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def decodes_statistics(self) -> bool:
        """True for the statistics VAE: ``decode`` gives statistics windows (B, 2c + 1, 2c + 1), not images."""
        return self.config.decoder == "statistics"

    def _check_input(self, x: torch.Tensor) -> None:
        size = self.config.image_size
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != size or x.shape[3] != size:
            raise ValueError(f"expected a batch of shape (B, 1, {size}, {size}), got {tuple(x.shape)}; "
                             f"this model was built for image_size={size}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) in [0, 1] -> (mu, logvar), each (B, latent_dim)."""
        self._check_input(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> reconstruction (B, 1, H, W) in (0, 1), or statistics windows (B, 2c + 1, 2c + 1)."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(recon, mu, logvar) with z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) drawn from ``generator``."""
        mu, logvar = self.encode(x)
        # eps and z in at least float32, also when autocast runs the encoder in bfloat16
        eps = torch.randn(mu.shape, generator=generator, device=mu.device,
                          dtype=torch.promote_types(mu.dtype, torch.float32))
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z), mu, logvar

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction with z = mu (the paper's evaluation): ``decode(mu)``."""
        mu, _ = self.encode(x)
        return self.decode(mu)


def build_vae(cfg: ModelConfig) -> VAE:
    """Build the VAE described by ``cfg`` (weights initialised by torch's global RNG: seed it first)."""
    if cfg.encoder == "resnet152":
        encoder: nn.Module = ResNetEncoder(cfg.latent_dim, cfg.pretrained, cfg.hidden_dim)
    elif cfg.encoder == "statistics":
        encoder = StatisticsEncoder(cfg.latent_dim, cfg.window, cfg.hidden_dim, cfg.image_size // 4)
    else:
        encoder = ConvEncoder(cfg.latent_dim, cfg.image_size, cfg.base_channels)
    if cfg.decoder_kind == "paper":
        decoder: nn.Module = PaperDecoder(cfg.latent_dim, cfg.image_size, cfg.hidden_dim)
    elif cfg.decoder_kind == "statistics":
        decoder = StatisticsDecoder(cfg.latent_dim, cfg.window, cfg.hidden_dim, cfg.image_size // 4)
    else:
        decoder = ConvDecoder(cfg.latent_dim, cfg.image_size, cfg.base_channels)
    return VAE(encoder, decoder, cfg)
