"""The decoder cap of a *statistics* decoder on the lines: free codes, decoded spectra, images drawn by the limit.

    .venv/bin/python scripts/statistics_decoder_capacity.py                      # 2,000 images, 100 epochs
    .venv/bin/python scripts/statistics_decoder_capacity.py --images 500 --epochs 50 --scored 200

The counterpart of ``scripts/decoder_capacity.py`` for the design of ``utils.inverse.drawing``: no encoder
and no KL term; each of the first ``--images`` training images of the cpu profile's dataset gets its own
9-number code (a free parameter; 1e-3 |z|² is added to its loss), and an MLP (9 -> 512 -> 512 -> the half
power spectrum of the 64² periodic statistics, softplus: a power spectrum is >= 0) learns to decode it under
the paper's statistics loss, Σ_r (f_decoded - f)² (by Parseval, on the spectra; one indicator width, 0.25,
normalised as in training).  The first ``--scored`` of those images are then drawn from their decoded spectra
by reconstruction from statistics as notebook 04 draws the limit (periodic, LIMIT_RESTARTS starts) and their
lines counted: an upper bound on what a statistics VAE with this decoder could count, to set beside the conv
decoder's cap (61.7 %, docs/experiments.md).  Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from utils.data.spectra import spectra_cache
from utils.data.store import ensure_dataset, load_dataset
from utils.evaluation.evaluate import per_image_table
from utils.evaluation.report import summarise
from utils.inverse.inversion import LIMIT_RESTARTS, reconstruct_from_statistics
from utils.inverse.targets import Spectra
from utils.project import data_dir
from utils.statistics.spectral import statistics_sq_distance
from utils.training.config import config_for
from utils.training.runs import dataset_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--images", type=int, default=2000, help="first training images given a free code")
    parser.add_argument("--scored", type=int, default=500, help="of those, the first drawn and counted")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = config_for("cpu", data_dir=str(data_dir()))
    folder = ensure_dataset(cfg.dataset, cfg.data_dir)
    images, labels = load_dataset(folder)
    idx = dataset_split(cfg)["train"][:args.images]
    spectra, peaks = spectra_cache(folder, images, progress=False)
    target = torch.as_tensor(np.asarray(spectra[idx], dtype=np.float32))
    scale = float(peaks[dataset_split(cfg)["train"]].max())          # normalize_stats, as the training does
    shape = (cfg.image_size, cfg.image_size)
    torch.manual_seed(args.seed)
    half = target.shape[1:]
    decoder = nn.Sequential(nn.Linear(cfg.latent_dim, args.hidden), nn.ReLU(), nn.Linear(args.hidden, args.hidden),
                            nn.ReLU(), nn.Linear(args.hidden, half.numel()), nn.Softplus(), nn.Unflatten(1, half))
    level = target.mean(0, keepdim=True)                        # decode relative to the mean spectrum's scale
    codes = nn.Parameter(0.1 * torch.randn(len(idx), cfg.latent_dim))
    opt = torch.optim.Adam([{"params": decoder.parameters(), "lr": 1e-3}, {"params": [codes], "lr": 1e-2}])
    order = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(idx), generator=order)
        total = 0.0
        for s in range(0, len(idx) - cfg.batch_size + 1, cfg.batch_size):
            b = perm[s:s + cfg.batch_size]
            fit = statistics_sq_distance(decoder(codes[b]) * level, target[b], shape) / scale ** 2
            loss = (fit + 1e-3 * codes[b].square().sum(1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(fit.detach().sum())
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(f"epoch {epoch + 1}: statistics loss {total / len(idx):.4g}", flush=True)
    trained = time.perf_counter() - start
    with torch.no_grad():
        decoded = (decoder(codes[:args.scored]) * level).numpy()
    start = time.perf_counter()
    drawn = reconstruct_from_statistics(Spectra(decoded, width=shape[1]), restarts=LIMIT_RESTARTS, progress=False).images
    per_image = (time.perf_counter() - start) / len(decoded)
    scored = idx[:args.scored]
    table = per_image_table(np.asarray(images[scored]), labels.iloc[scored].reset_index(drop=True), drawn)
    by_n = table.groupby("n_lines")["line_count_correct"].mean().round(2).to_dict()
    print(json.dumps({**vars(args), "train_minutes": round(trained / 60, 1), "seconds_per_drawing": round(per_image, 3),
                      **{k: round(float(v), 4) for k, v in summarise(table, percent=True).items()},
                      "by_n": {int(k): v for k, v in by_n.items()}}), flush=True)


if __name__ == "__main__":
    main()
