"""Benchmark: the spatial-statistics loss, forward + backward, on a batch of 32 x 224² float32.

Run from the repo root:

    .venv/bin/python tests/benchmarks/bench_stats_loss.py [--repeats 15] [--batch 32] [--size 224]

Measures side by side, in one process, with the default number of torch threads:

* ours   - ``sum((spatial_statistics(recon) - target_stats)²)`` + backward through recon, the
           target's statistics computed once beforehand (as training does with a stats cache);
* ours+t - the same, but computing the target's statistics inside the timed step too;
* (a)    - the paper's way: a Python loop over images, complex128 ``fft2``/``ifft2`` for the
           input and for the reconstruction, loss summed, backward;
* (b)    - the floor: one bare ``rfft2`` + ``irfft2`` round trip, forward + backward, on the
           same batch.

Prints the median milliseconds of each, the speed-up vs (a), the ratio to (b) and the relative
difference between our loss and the loop's loss.  Targets: >= 12x faster than (a) and <= 2.5x
the floor (b).  Never run by pytest (the file name does not start with ``test_``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from utils.stats import spatial_statistics  # noqa: E402

EPS = 0.25  # width of the soft indicator, as in the paper
PHASE = 0.0  # the black line phase


def paper_statistics(image: torch.Tensor) -> torch.Tensor:
    """One (H, W) image -> its centred periodic autocorrelation, the paper's complex128 way."""
    m = torch.exp(-(image - PHASE) ** 2 / (2 * EPS**2))
    spectrum = torch.fft.fft2(m.to(torch.complex128))
    corr = torch.fft.ifft2(spectrum * torch.conj(spectrum)).real / image.numel()
    return torch.roll(corr, shifts=(image.shape[-2] // 2, image.shape[-1] // 2), dims=(-2, -1))


def loop_loss(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(a): per-image Python loop over a (B, 1, H, W) batch, both sides recomputed, summed loss."""
    loss = recon.new_zeros((), dtype=torch.float64)
    for i in range(recon.shape[0]):
        diff = paper_statistics(target[i, 0]) - paper_statistics(recon[i, 0])
        loss = loss + (diff**2).sum()
    return loss


def our_loss(recon: torch.Tensor, target_stats: torch.Tensor) -> torch.Tensor:
    """Batched float32 loss against precomputed target statistics."""
    return (spatial_statistics(recon, phase=PHASE, eps=EPS) - target_stats).square().sum()


def median_ms(step: Callable[[], None], repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``step()`` in milliseconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="images per batch")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per variant (median reported)")
    args = parser.parse_args()

    gen = torch.Generator().manual_seed(0)
    shape = (args.batch, 1, args.size, args.size)
    target = (torch.rand(shape, generator=gen) > 0.05).float()  # binary images, ~5 % black
    recon = torch.rand(shape, generator=gen).requires_grad_(True)  # a sigmoid output stand-in
    target_stats = spatial_statistics(target, phase=PHASE, eps=EPS)  # computed once, like a cache
    floor_grad = torch.randn(shape, generator=gen)

    def step_ours() -> None:
        recon.grad = None
        our_loss(recon, target_stats).backward()

    def step_ours_both() -> None:
        recon.grad = None
        our_loss(recon, spatial_statistics(target, phase=PHASE, eps=EPS)).backward()

    def step_loop() -> None:
        recon.grad = None
        loop_loss(recon, target).backward()

    def step_floor() -> None:
        recon.grad = None
        out = torch.fft.irfft2(torch.fft.rfft2(recon), s=shape[-2:])
        out.backward(floor_grad)

    # numerical agreement of the two losses and of their gradients
    recon.grad = None
    ours = our_loss(recon, target_stats)
    ours.backward()
    grad_ours = recon.grad.clone()
    recon.grad = None
    ref = loop_loss(recon, target)
    ref.backward()
    grad_ref = recon.grad.clone()
    loss_rel = abs(ours.item() - ref.item()) / abs(ref.item())
    grad_rel = ((grad_ours.double() - grad_ref).norm() / grad_ref.norm()).item()

    ms = {
        "ours (target stats precomputed)": median_ms(step_ours, args.repeats),
        "ours (both sides computed)": median_ms(step_ours_both, args.repeats),
        "(a) per-image complex128 loop": median_ms(step_loop, max(3, args.repeats // 3)),
        "(b) bare rfft2+irfft2 round trip": median_ms(step_floor, args.repeats),
    }
    loop_ms, floor_ms = ms["(a) per-image complex128 loop"], ms["(b) bare rfft2+irfft2 round trip"]

    print(f"batch {args.batch} x {args.size}^2 float32, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats} repeats")
    for name, t in ms.items():
        print(f"  {name:<34s} {t:9.2f} ms")
    for name in ("ours (target stats precomputed)", "ours (both sides computed)"):
        t = ms[name]
        print(f"  {name}: {loop_ms / t:6.1f}x faster than (a), {t / floor_ms:5.2f}x of (b)")
    print(f"  loss ours {ours.item():.9g} vs loop {ref.item():.9g}: rel diff {loss_rel:.2e}; "
          f"grad rel diff {grad_rel:.2e}")
    ok = loop_ms / ms["ours (target stats precomputed)"] >= 12 and ms["ours (target stats precomputed)"] / floor_ms <= 2.5
    print(f"  targets (>= 12x vs (a), <= 2.5x of (b)): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
