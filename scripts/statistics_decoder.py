"""The statistics VAE (``config_for("micro", "statistics_vae")``) of other settings, scored as notebook 07 scores it.

    .venv/bin/python scripts/statistics_decoder.py                  # train (or reuse) and score all 700 held-out crops
    .venv/bin/python scripts/statistics_decoder.py --per-material 7 --epochs 80 --seed 1 --hidden 512

Trains through :func:`utils.training.loop.train` on the micro profile's crops (its best checkpoint by the validation crops)
into ``runs/statistics_vae/seed<S>-e<E>-.../`` (resumed or reused when there), encodes the held-out crops
(z = mu), decodes their statistics and draws an image from each (seed 0 of the random field), then prints:
the normalised-autocovariance error (|r| <= 16) and phase-fraction difference of the drawn images and of the
decoded statistics themselves, the interface density the decoded statistics imply (2 (phi - f(e)), mean of the
two axes) over the crops' per material, the material classifier's accuracy on mu, and the descriptors of the images over
the originals' per material; the first crop of each material beside its drawn image goes to that folder.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from utils.data.store import ensure_dataset, load_dataset
from utils.evaluation.micro import classify, first_per_material, score
from utils.inverse.drawing import draw_images
from utils.inverse.fields import first_offsets
from utils.notebook.plots import image_panel, new_figure, save_figure
from utils.project import Folders, runs_dir
from utils.statistics.crops import CropStatistics, crop_statistics
from utils.statistics.maps import cutoff_window
from utils.statistics.descriptors import describe, descriptor_ratios
from utils.training.config import config_for
from utils.training.loop import train
from utils.training.runs import dataset_split, load_run

DEFAULT = config_for("micro", "statistics_vae")


def implied_interfaces(windows: np.ndarray) -> np.ndarray:
    """(n,) the interface density 2 (phi - f(e)) that statistics windows (n, 2c + 1, 2c + 1) imply, mean of y and x
    (:func:`utils.inverse.fields.first_offsets`, the rates the limit's random field is built to)."""
    _, rate_y, rate_x = first_offsets(torch.as_tensor(windows))
    return (rate_y + rate_x) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-material", type=int, default=100, help="held-out crops of each material drawn")
    parser.add_argument("--epochs", type=int, default=DEFAULT.epochs)
    parser.add_argument("--seed", type=int, default=DEFAULT.seed)
    parser.add_argument("--beta", type=float, default=DEFAULT.beta)
    parser.add_argument("--hidden", type=int, default=DEFAULT.hidden_dim)
    parser.add_argument("--lr", type=float, default=DEFAULT.lr)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = config_for("micro", "statistics_vae", epochs=args.epochs, seed=args.seed, beta=args.beta,
                     hidden_dim=args.hidden, lr=args.lr,
                     data_dir=str(Folders.of("micro").data))
    images, labels = load_dataset(ensure_dataset(cfg.dataset, cfg.data_dir))
    materials = labels["material"].to_numpy()
    parts = dataset_split(cfg)
    train_rows, test = parts["train"], parts["test"]
    folder = runs_dir() / "statistics_vae" / (f"seed{cfg.seed}-e{cfg.epochs}"
                                              f"-b{cfg.beta:g}-h{cfg.hidden_dim}-lr{cfg.lr:g}")
    start = time.perf_counter()
    model = load_run(train(cfg, folder, resume=True))[0]
    print(f"model ready in {time.perf_counter() - start:.0f} s ({folder})")
    with torch.no_grad():
        def mu_of(rows):
            return model.encode(torch.as_tensor(images[rows], dtype=torch.float32)[:, None])[0].numpy()
        mu_train, mu_test = mu_of(train_rows), mu_of(test)
    accuracy, _ = classify(mu_train, list(materials[train_rows]), mu_test, list(materials[test]))
    window = cfg.image_size // 4            # notebook 07's scoring window
    truth = crop_statistics(images[test].astype(np.float32), cutoff=window)
    with torch.no_grad():
        windows = cutoff_window(model.decode(torch.as_tensor(mu_test)), window).numpy().astype(np.float64)
    decoded = score(truth, CropStatistics.from_raw(windows.reshape(len(windows), -1), window), list(materials[test]), "decoded")
    implied = pd.DataFrame({"material": materials[test], "decoded": implied_interfaces(windows),
                            "crop": implied_interfaces(truth.maps("raw"))}).groupby("material").mean()
    chosen = first_per_material(test, list(materials[test]), args.per_material)
    start = time.perf_counter()
    drawn = draw_images(model, mu_test[chosen]).images
    seconds = (time.perf_counter() - start) / len(chosen)
    names = list(materials[test][chosen])
    rows = score(truth.rows(chosen), crop_statistics(drawn, cutoff=window), names, "drawn")
    ratios = descriptor_ratios(describe(drawn), describe(images[test][chosen]), names)
    print(f"classifier on mu: {100 * accuracy:.1f} % of {len(test)} held-out crops")
    print(f"decoded statistics ({len(test)}): autocovariance error {decoded['autocovariance_mse'].mean():.4f}, "
          f"phase fraction {decoded['vf_diff'].mean():.2f} points")
    print("interfaces the decoded statistics imply, over the crops':",
          (implied["decoded"] / implied["crop"]).round(2).to_dict())
    print(f"images drawn from them ({len(chosen)}): autocovariance error {rows['autocovariance_mse'].mean():.4f}, "
          f"phase fraction {rows['vf_diff'].mean():.2f} points, {seconds:.2f} s per crop")
    print(rows.groupby("material")["autocovariance_mse"].mean().round(4).to_string())
    print(ratios.round(2).to_string())
    first = first_per_material(np.arange(len(chosen)), names)
    fig = new_figure((2 * len(first), 4.2))
    axes = fig.subplots(2, len(first), squeeze=False)
    for c, i in enumerate(first):
        image_panel(axes[0, c], images[test][chosen][i], title=names[i])
        image_panel(axes[1, c], drawn[i], title="drawn from 9 numbers")
    save_figure(fig, folder / "drawn.png", dpi=80)


if __name__ == "__main__":
    main()
