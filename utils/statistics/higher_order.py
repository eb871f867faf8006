"""Descriptors beyond two-point statistics, differentiable: what keeps a thin network connected.

Two-point statistics f(r) fix how often two pixels r apart both hold phase 0, not whether the pixels between them
do: a grain-boundary network and the same boundaries broken into specks can share f almost exactly.  Two
descriptors that see more than pairs, both computed on the soft indicators m_0 = exp(-x² / (2 eps²)) (phase 0) and
m_1 = exp(-(x - 1)² / (2 eps²)) (phase 1) of a grey image x in [0, 1] (:func:`utils.statistics.two_point.phase_indicator`),
so that a gradient flows to every pixel:

* :func:`lineal_path` -- the **lineal path function** L_p(l, d): the probability that a segment of l pixels along the
  direction d lies wholly in phase p,

      L_p(l, d) = (1 / N_l) Σ_x Π_{k=0}^{l-1} m_p(x + k d),

  over the N_l positions x whose whole segment lies inside the image (non-periodic, as crops are windows), for
  l = 1 .. ``lengths`` and d in (down, right, down-right, down-left).  L_p(1, d) is the phase fraction; for a
  binary image L_p(l, d) is the share of segments inside one chord, so it is the chord-length distribution's tail.
* :func:`gram_features` -- **Gram matrices of a fixed random CNN** (texture synthesis with random filters, the idea
  behind MCRpy's Gram-matrix descriptor, with random instead of trained weights): three 3 x 3 convolutions with
  ReLU, 8, 16 and 32 channels, each after a 2 x 2 average pooling of the previous one (receptive fields of 3, 8 and
  18 px), filters drawn once from ``seed`` (He-normal, no bias); at each layer the Gram
  matrix G_ij = (1 / P) Σ_positions F_i F_j of its P valid positions, upper triangle, flattened.  The input is the
  indicator difference m_0 - m_1 in [-1, 1].

Both return (n, d) float features of images (n, H, W) or (n, 1, H, W); rows point down (y), columns right (x).
:class:`utils.statistics.objective.Objective` adds the squared distance between the features of an image and of its
target (``higher="lineal_path"`` or ``"gram"``, weighted by ``higher_weight`` over the target's mean square feature).

>>> import torch
>>> stripes = torch.ones(1, 4, 6, dtype=torch.float64); stripes[:, :, :2] = 0   # a stripe of phase 0, 2 px wide, down the left
>>> path = lineal_path(stripes, lengths=3).reshape(2, 4, 3)            # (phase, direction, length)
>>> path[0, 0].round(decimals=2).tolist()                              # down: every segment in the stripe stays in it
[0.33, 0.33, 0.33]
>>> path[0, 1].round(decimals=2).tolist()                              # right: 1 of 5 pairs, 0 of 4 triples
[0.33, 0.2, 0.0]
>>> gram_features(torch.ones(2, 32, 32)).shape                         # 36 + 136 + 528 upper-triangle entries
torch.Size([2, 700])
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from utils.statistics.two_point import phase_indicator

__all__ = ["HIGHER_ORDER", "DIRECTIONS", "GRAM_CHANNELS", "lineal_path", "gram_features", "euler_features",
           "higher_order_features"]

DIRECTIONS = ((1, 0), (0, 1), (1, 1), (1, -1))   # (dy, dx): down, right, down-right, down-left
GRAM_CHANNELS = (8, 16, 32)                      # channels of the random CNN's three layers
LINEAL_LENGTHS = 16                              # segment lengths 1..16 px of the lineal path


def _images(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 3:
        raise ValueError(f"images must be (n, H, W) or (n, 1, H, W), got shape {tuple(x.shape)}")
    return x


def _segments(m: torch.Tensor, dy: int, dx: int, lengths: int) -> torch.Tensor:
    """(n, lengths) lineal path of indicator m (n, H, W) along (dy, dx), dy >= 0; non-periodic."""
    if dx < 0:              # down-left is down-right of the mirrored image
        m, dx = torch.flip(m, dims=(-1,)), -dx
    n, h, w = m.shape
    out, product = [m.mean(dim=(-2, -1))], m
    for l in range(2, lengths + 1):
        sy, sx = (l - 1) * dy, (l - 1) * dx
        if sy >= h or sx >= w:
            out.append(m.new_zeros(n))
            continue
        # product holds the segments of l - 1 pixels anchored at (y, x), y < h - (l-2) dy, x < w - (l-2) dx
        product = product[:, :h - sy, :w - sx] * m[:, sy:, sx:]
        out.append(product.mean(dim=(-2, -1)))
    return torch.stack(out, dim=1)


def lineal_path(images: torch.Tensor, *, eps: float = 0.25, lengths: int = LINEAL_LENGTHS) -> torch.Tensor:
    """(n, 2 x 4 x lengths): L_p(l, d) (module docstring) for p = 0, 1 (outer), d in :data:`DIRECTIONS`, l = 1..lengths
    (inner), of images (n, H, W) or (n, 1, H, W) in [0, 1] with soft indicators of width ``eps``."""
    x = _images(images)
    if lengths < 1:
        raise ValueError(f"lengths must be >= 1, got {lengths}")
    parts = [_segments(phase_indicator(x, phase, eps), dy, dx, lengths)
             for phase in (0.0, 1.0) for dy, dx in DIRECTIONS]
    return torch.cat(parts, dim=1)


def _random_filters(seed: int, dtype: torch.dtype) -> list[torch.Tensor]:
    """The CNN's filters (out, in, 3, 3), He-normal, drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    filters, inputs = [], 1
    for channels in GRAM_CHANNELS:
        w = torch.randn(channels, inputs, 3, 3, generator=generator, dtype=torch.float64)
        filters.append((w * math.sqrt(2.0 / (inputs * 9))).to(dtype))
        inputs = channels
    return filters


def gram_features(images: torch.Tensor, *, eps: float = 0.25, seed: int = 0) -> torch.Tensor:
    """(n, Σ_c c (c + 1) / 2): the upper triangles of the random CNN's Gram matrices (module docstring), layer by
    layer, of images (n, H, W) or (n, 1, H, W) in [0, 1] at indicator width ``eps``; the filters drawn from
    ``seed`` (the same seed, the same descriptor)."""
    x = _images(images)
    signal = (phase_indicator(x, 0.0, eps) - phase_indicator(x, 1.0, eps))[:, None]
    out = []
    for i, w in enumerate(_random_filters(seed, signal.dtype)):
        if i:
            signal = F.avg_pool2d(signal, 2)
        if min(signal.shape[-2:]) < 3:
            raise ValueError(f"images of {tuple(x.shape[-2:])} px are too small for the random CNN's layer {i + 1}; "
                             "pass images of at least 20 x 20 px")
        signal = F.relu(F.conv2d(signal, w.to(signal.device)))
        flat = signal.flatten(2)                                             # (n, c, P)
        gram = flat @ flat.transpose(1, 2) / flat.shape[-1]
        rows, cols = torch.triu_indices(gram.shape[1], gram.shape[1], device=gram.device)
        out.append(gram[:, rows, cols])
    return torch.cat(out, dim=1)


def euler_features(images: torch.Tensor, *, eps: float = 0.25) -> torch.Tensor:
    """(n, 2): the Euler characteristic of phase 0 and of phase 1 per 100 px², soft.

    For a binary indicator b of a phase, χ = Σ b - Σ b b(→) - Σ b b(↓) + Σ b b(→) b(↓) b(↘) (pixels, 4-neighbour pairs,
    full 2 x 2 blocks) is its number of 4-connected clusters minus the number of holes in them; on soft indicators
    it is the same sum of products, differentiable.
    """
    x = _images(images)
    out = []
    for phase in (0.0, 1.0):
        m = phase_indicator(x, phase, eps)
        right, down = m[:, :, :-1] * m[:, :, 1:], m[:, :-1, :] * m[:, 1:, :]
        block = right[:, :-1, :] * right[:, 1:, :]
        chi = m.sum((-2, -1)) - right.sum((-2, -1)) - down.sum((-2, -1)) + block.sum((-2, -1))
        out.append(100.0 * chi / (x.shape[-2] * x.shape[-1]))
    return torch.stack(out, dim=1)


HIGHER_ORDER = {   # name -> the descriptor of images (n, H, W) in [0, 1]: (n, d) features
    "lineal_path": lineal_path,
    "gram": gram_features,
    "euler": euler_features,
}


def higher_order_features(images: torch.Tensor, name: str, *, eps: float = 0.25) -> torch.Tensor:
    """(n, d): the descriptor ``name`` (a key of :data:`HIGHER_ORDER`) of images (n, H, W) or (n, 1, H, W)."""
    if name not in HIGHER_ORDER:
        raise ValueError(f"unknown higher-order descriptor {name!r}; choose one of {sorted(HIGHER_ORDER)}")
    return HIGHER_ORDER[name](images, eps=eps)
