"""The conclusions that end notebooks 01-09, in prose with their numbers, as Markdown.

Each notebook writes its numbers to ``figures/0N_summary.json`` and then shows
``display(Markdown(endings.conclusion_0N(summary, ...)))``: the text is computed from that summary, so it
stays true for any profile or parameters the notebook is run with, and says what the numbers show whichever
way they go.  One function per notebook; each takes the dict the notebook writes (notebook 04 also its
``results.json``) and, where the summary does not hold it, a parameter of the notebook.

>>> print(conclusion_02({"fft_vs_direct_max_abs_diff": 1.4e-17, "centre_value": 0.038,
...                      "volume_fraction": 0.038, "translation_max_abs_diff": 1.9e-08}).splitlines()[0])
* **The FFT computes the definition.** On a crop of image 0 the FFT route and the direct double sum differ by at most 1.4e-17 (float64 rounding), and the FFT costs O(S log S) instead of O(S²).
>>> "holds" in conclusion_04({"n_test": 100, "orientation_correct": 100, "line_count_correct": 50,
...     "volume_fraction_diff_mean": 6.1, "ratios": {"data_mse": 5.3, "spatial_stats_mse": 0.43}})
True
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from utils.project import MODEL_KEYS, MODEL_LABELS, PAPER

__all__ = ["conclusion_01", "conclusion_02", "conclusion_03", "conclusion_04", "conclusion_05", "conclusion_06",
           "conclusion_07", "conclusion_08", "conclusion_09"]

Summary = Mapping[str, Any]


def _bullets(*items: str) -> str:
    """A Markdown bullet list, one item per line."""
    return "\n".join(f"* {item}" for item in items)


def _rounding(value: float, tolerance: float, precision: str) -> str:
    """Says whether a difference that should be zero is rounding (below ``tolerance``) or more."""
    return f"{precision} rounding" if value < tolerance else "more than rounding: something is wrong"


def conclusion_01(summary: Summary) -> str:
    """Notebook 01: the dataset's size, how flat its labels are, and its volume fraction.

    >>> print(conclusion_01({"dataset": "d", "n_images": 4, "image_size": 8, "n_lines_counts": {"1": 2, "2": 2},
    ...                      "vertical_fraction": 0.5, "mean_volume_fraction": 0.07}).splitlines()[0])
    * **The dataset** `d` holds 4 images of 8 × 8 px, labelled by orientation and by the number of lines drawn.
    """
    counts = summary["n_lines_counts"]
    low, high = min(counts.values()), max(counts.values())
    share = ", ".join(f"{k} line{'s' if k != '1' else ''}: {v}" for k, v in counts.items())
    vf = summary["mean_volume_fraction"]
    balanced = "balanced" if high / low < 1.25 else "only roughly balanced (a small dataset)"
    return _bullets(
        f"**The dataset** `{summary['dataset']}` holds {summary['n_images']} images of {summary['image_size']} × "
        f"{summary['image_size']} px, labelled by orientation and by the number of lines drawn.",
        f"**The labels are {balanced}**: {share} (the largest class is {high / low:.2f}× the smallest), and "
        f"{summary['vertical_fraction']:.1%} of the images are vertical. A model that gets a count right is not "
        "just guessing the most common class.",
        f"**The lines are the {'minority' if vf < 0.5 else 'majority'} phase**: on average {vf:.4f} of the pixels ({vf:.1%}) are black. That is "
        "f(0), the centre of every image's autocorrelation, so the first number a statistics loss must get right.",
        "**The label is exact**: lines never touch, so counting connected black regions gives the label; notebook "
        "04 counts the lines of reconstructions that way.")


def conclusion_02(summary: Summary) -> str:
    """Notebook 02: FFT against the direct sum, the centre against the volume fraction, translation invariance."""
    return _bullets(
        "**The FFT computes the definition.** On a crop of image 0 the FFT route and the direct double sum differ by "
        f"at most {summary['fft_vs_direct_max_abs_diff']:.1e} "
        f"({_rounding(summary['fft_vs_direct_max_abs_diff'], 1e-12, 'float64')}), and the FFT costs O(S log S) "
        "instead of O(S²).",
        f"**The centre is the volume fraction**: f(0) = {summary['centre_value']:.6f} for image 0, whose fraction "
        f"of black pixels is {summary['volume_fraction']:.6f}.",
        "**Position is invisible**: shifting an image (with wrap-around) changes its statistics by at most "
        f"{summary['translation_max_abs_diff']:.1e} ({_rounding(summary['translation_max_abs_diff'], 1e-5, 'float32')}), "
        "while most of its pixels change. A loss "
        "on f asks for the right texture, not the right place: what notebook 03 trains on.",
        "**Orientation, thickness and spacing are visible**: the profiles through r = 0 fall within a line "
        "thickness across the lines, stay high along them, and show side bands at the spacings between lines.")


def conclusion_03(summary: Summary) -> str:
    """Notebook 03: the two runs' final validation losses and epochs.

    >>> print(conclusion_03({"profile": "smoke", "final_val_loss": {"spatial_stats": 0.37, "data": 251.2},
    ...                      "epochs": {"spatial_stats": 2, "data": 2}}).splitlines()[0])
    * **Both models trained** (profile `smoke`): the spatial-stats VAE for 2 epochs, final validation loss 0.3700; the vanilla VAE for 2 epochs, final validation loss 251.2000.
    """
    loss, epochs = summary["final_val_loss"], summary["epochs"]
    runs = "; ".join(f"the {MODEL_LABELS[k]} for {epochs[k]} epochs, final validation loss {v:.4f}"
                     for k, v in loss.items())
    return _bullets(
        f"**Both models trained** (profile `{summary['profile']}`): {runs}.",
        "**Those two numbers are not comparable**: one is a distance between statistics (weighted by α, divided "
        "by the largest statistic when the profile normalises them), the other a sum of squared pixel errors. "
        "Compare each model's curves with themselves: training and validation close together means no memorisation.",
        "**What each loss asks for**: the spatial-stats VAE's rewards lines of the right orientation, thickness and "
        "spacing wherever they are; the vanilla VAE's rewards the right pixels, which 9 numbers can only blur. The "
        "reconstructions above show how far each run got; the open training step is one of the many Adam steps "
        "behind each.",
        "**How far each is from its input, in numbers**, is notebook 04's question (the paper: statistics error "
        "0.5×, data error 3.6× the vanilla VAE's).")


def _claim(stats: float, data: float) -> str:
    """Whether the paper's claim (closer in statistics, further in pixels than the vanilla VAE) holds."""
    if stats < 1 < data:
        return "holds: closer to the input in statistics space and further in data space than the vanilla VAE"
    if stats < 1:
        return "holds in statistics space only: closer in statistics, but not further in data space"
    return "does not hold here: our VAE is not closer to its input in statistics space than the vanilla VAE"


def conclusion_04(summary: Summary, results: Summary | None = None) -> str:
    """Notebook 04: orientation, line counts, volume fraction and the two ratios against the paper; with
    ``results`` (its results.json) also the vanilla VAE, the whole test split and the limit."""
    n, ratios = summary["n_test"], summary["ratios"]
    hard = results is not None and list(results.get("dataset", {}).get("lines", [])) == [3, 7]
    paper = PAPER["ratios_lines_3_7"] if hard else PAPER["ratios"]
    vanilla = (results or {}).get("models", {}).get(MODEL_KEYS["data"])
    versus = f" (the vanilla VAE: {vanilla['orientation_correct']} / {n})" if vanilla else ""
    items = [
        f"**Orientation**: {summary['orientation_correct']} / {n} held-out test images reconstructed with the "
        f"right orientation{versus}; the paper: {PAPER['orientation_correct']} / {PAPER['n_test']}.",
        f"**Number of lines**: {summary['line_count_correct']} / {n} right (the paper: "
        f"{PAPER['line_count_correct']} / {PAPER['n_test']}); the mean volume-fraction difference is "
        f"{summary['volume_fraction_diff_mean']:.1f} % (the paper: {PAPER['volume_fraction_diff_mean']:.0f} %).",
        f"**The paper's claim {_claim(ratios['spatial_stats_mse'], ratios['data_mse'])}**: statistics MSE ours ÷ "
        f"vanilla {ratios['spatial_stats_mse']:.3f} (the paper: {paper['spatial_stats_mse']:.2f}), data-space MSE "
        f"ours ÷ vanilla {ratios['data_mse']:.2f} (the paper: {paper['data_mse']:.2f}).",
    ]
    whole = (results or {}).get("whole_split")
    if whole:
        ours = whole["models"][MODEL_KEYS["spatial_stats"]]
        items.append(f"**On all {whole['n']} test images** the line count is right for "
                     f"{ours['line_count_correct_pct']:.1f} %: a count out of {n} moves by several points between "
                     "random draws, so read small differences from the paper as noise.")
    inference = (results or {}).get("inference")
    if inference:
        pct = {k: inference[k]["line_count_correct_pct"] for k in ("z_mu", "refined", "from_statistics")}
        limit = pct["from_statistics"]
        verdict = ("the statistics carry nearly every line count; what the VAE misses, its encoder and decoder miss"
                   if limit >= 90 else "the statistics carry more of the line count than the VAE recovers"
                   if limit > max(pct["z_mu"], pct["refined"]) else "here the VAE is as good as the limit")
        items.append(f"**The limit**: on the first {inference['n']} test images, pixels optimised to the statistics "
                     f"alone count {limit:.1f} % of the lines right, against {pct['z_mu']:.1f} % for our VAE (z = μ) "
                     f"and {pct['refined']:.1f} % with its code refined: {verdict}.")
    return _bullets(*items)


def conclusion_05(summary: Summary, decode_k: int) -> str:
    """Notebook 05: how few latent numbers suffice, against the PCA of the statistics, and robustness to noise
    (``decode_k``: the PCA components drawn back into images, the notebook's ``DECODE_K``)."""
    mse, counts = summary["stats_mse_by_latent_dim"], summary["line_count_pct_by_latent_dim"]
    best = min(mse.values())
    enough = min((d for d in mse if mse[d] <= 1.05 * best), key=int)    # fewest numbers within 5 % of the best
    noise = summary["robustness_line_count_pct"]
    sigma = min(noise, key=lambda s: abs(float(s) - 0.3))              # the noise closest to the paper's 0.3
    fewest, largest = min(mse, key=int), max(mse, key=int)
    pca = summary["pca_stats_mse"].get(f"raw/k{largest}", math.nan)
    return _bullets(
        f"**How few numbers are enough**: our VAE's statistics error falls from {mse[fewest]:.2g} with {fewest} "
        f"latent number(s) to {best:.2g}; {enough} numbers come within 5 % of the best.",
        f"**Against PCA**, on the statistics: {largest} principal components reconstruct them to {pca:.2g}; our VAE "
        f"with {largest} numbers, whose statistics exist only in its image, {mse[largest]:.2g}. On images: "
        f"{decode_k} components drawn back into images score {summary['pca_decoded_stats_mse']:.2g} and count "
        f"{summary['pca_decoded_line_count_pct']:.0f} % of the lines right, our VAE with {largest} numbers "
        f"{counts[largest]:.0f} %. " + ("The learned code does not beat the linear one on these lines."
                                        if counts[largest] <= summary["pca_decoded_line_count_pct"] else
                                        "The learned code counts more lines right."),
        f"**Robustness**: noise of sigma = {sigma} in the code moves the line count from "
        f"{noise[min(noise, key=float)]:.0f} % to {noise[sigma]:.0f} %.",
        f"**Read with care**: across latent sizes the line count ranges over {min(counts.values()):.0f}-"
        f"{max(counts.values()):.0f} %: one seed per size and short training, so read differences of a few points "
        "as noise.")


def conclusion_06(summary: Summary, crop: int, n_disc_images: int) -> str:
    """Notebook 06: periodic against non-periodic statistics, correlation lengths, the closed-form check
    (``crop``, ``n_disc_images``: the notebook's ``CROP`` and ``N_DISC_IMAGES``).  The materials are the
    micrographs, those with a ``crop_side_over_xi``."""
    across = summary["crop_side_over_xi"]
    xi = {k: v for k, v in summary["correlation_length_px"].items() if k in across}
    longest, shortest, fewest = max(xi, key=xi.get), min(xi, key=xi.get), min(across, key=across.get)
    anisotropy = summary["anisotropy_at_8px"]
    directed = max(anisotropy, key=lambda k: abs(anisotropy[k]))
    return _bullets(
        f"**Crops need the non-periodic statistics**: wrapping around the border changes the f(r) of a {crop}-px "
        f"crop by up to {summary['periodic_vs_not_max_abs_diff']:.3f}.",
        f"**Feature sizes**: the correlation lengths run from {xi[shortest]:.1f} px ({shortest}) to "
        f"{xi[longest]:.1f} px ({longest}); a {crop}-px crop is {min(across.values()):.0f} ({fewest}) to "
        f"{max(across.values()):.0f} of its material's correlation lengths across.",
        f"**Direction**: the largest difference between f along x and along y at 8 px is {anisotropy[directed]:.3f} "
        f"({directed}); the normalised autocovariance compares shapes whatever the volume fraction.",
        f"**The code is right on a case with a known answer**: the measured disc statistics stay within "
        f"{summary['discs_closed_form_max_abs_diff']:.4f} of their closed form ({n_disc_images} images).")


def conclusion_07(summary: Summary, latent_dim: int) -> str:
    """Notebook 07: which VAE keeps the texture of the held-out crops, the phase fraction, the interfaces and
    the classifier (``latent_dim``: the models' latent size, for the PCA's name)."""
    names = {**MODEL_LABELS, "from_statistics": "from statistics (limit)",
             "pca": f"PCA of the statistics, {latent_dim} components"}
    codes = {**names, "pca": f"PCA, {latent_dim} coefficients"}
    scores, accuracy = summary["scores"], summary["classifier_accuracy"]
    vaes = [m for m in ("spatial_stats", "data", "statistics_vae") if m in scores]
    error = {m: row["autocovariance_mse"] for m, row in scores.items()}
    best = min(vaes, key=error.get)
    others = ", ".join(f"{names[m]} {error[m]:.4f}" for m in vaes if m != best)
    points = ", ".join(f"{names[m]} {scores[m]['vf_diff']:.2f}" for m in vaes)
    spread = "; ".join(f"{names[m]} {min(r.values()):.2f}-{max(r.values()):.2f}"
                       for m, r in summary["interface_ratio"].items())
    named = ", ".join(f"{codes[m]} {100 * v:.1f} %" for m, v in accuracy.items())
    return _bullets(
        f"**Texture.** On {summary['n_test_crops']} held-out crops the {names[best]} keeps the texture best of the "
        f"three VAEs: autocovariance error {error[best]:.4f} ({others}; the limit {error['from_statistics']:.4f}, "
        f"images drawn from the PCA's statistics {error['pca']:.4f}).",
        _yardsticks_07(summary),
        f"**Phase fraction**, points off: {points}.",
        f"**Interfaces** over the originals' (1: equal), per material: {spread}.",
        f"**The material named from the codes** of the held-out crops: {named}. The crops are unseen regions of "
        "the same seven specimens, not new specimens.",
        _samples_07(summary))


def _yardsticks_07(summary: Summary) -> str:
    """Notebook 07: the statistics VAE against the PCA, on the statistics and on the images drawn from them."""
    statistics, images = summary["statistics_scores"], summary["scores"]
    ours, pca = statistics["statistics_vae"], statistics["pca"]
    verdict = "beat" if ours < pca else "do not beat"
    return (f"**Learned against linear.** The statistics VAE's numbers {verdict} the PCA's on the statistics "
            f"themselves ({ours:.4f} against {pca:.4f}, {ours / pca:.2f}x), and the images drawn from them score "
            f"{images['statistics_vae']['autocovariance_mse']:.4f} against {images['pca']['autocovariance_mse']:.4f}.")


def _samples_07(summary: Summary) -> str:
    """Notebook 07: how often the two-sample test tells the sampled images from held-out crops."""
    rows = summary["samples"]
    parts = []
    for method, name in (("statistics_vae", "statistics VAE"), ("pca", "PCA as a Gaussian")):
        own = {k.split("/")[1]: v for k, v in rows.items() if k.startswith(method + "/")}
        materials = [m for m in own if m != "prior"]
        told = [100 * own[m]["two_sample_accuracy"] for m in materials]
        named = [100 * own[m]["recognised"] for m in materials]
        parts.append(f"{name}: told apart {min(told):.0f}-{max(told):.0f} % per material (prior "
                     f"{100 * own['prior']['two_sample_accuracy']:.0f} %), {sum(named) / len(named):.0f} % recognised "
                     "as their material")
    told = {k.split("/")[1]: 100 * v for k, v in summary["reconstruction_two_sample"].items()
            if k.startswith("statistics_vae/")}
    return (f"**Samples** ({summary['n_samples']} per material; 50 % told apart: indistinguishable by interfaces, "
            f"chords and clusters): " + "; ".join(parts) + ". The statistics VAE's reconstructions of the held-out "
            f"crops are told from them {min(told.values()):.0f}-{max(told.values()):.0f} % of the time.")


def conclusion_08(summary: Summary, path: tuple[str, str]) -> str:
    """Notebook 08: the first design, the three routes on the held-out targets, the path between two
    materials (``path``: the notebook's ``PATH``)."""
    route = {"latent": f"latent design (`{summary['model']}`)", "from_statistics": "from statistics",
             "pca": "PCA space"}
    rows, first = summary["comparison"], summary["first_design"]
    closest = min(rows, key=lambda m: rows[m]["statistics_error"])
    fastest = min(rows, key=lambda m: rows[m]["seconds"])
    ratios = summary["interface_ratio"]["latent"].values()
    monotone = summary["path_monotone"]
    steady = [k for k, v in monotone.items() if v]
    reach = summary["reachable"]
    low, high = reach["volume_fraction"]
    return _bullets(
        f"**The first design** met the volume fraction within {first['vf_miss']:.4f} and the anisotropy within a "
        f"factor {math.exp(first['anisotropy_miss']):.2f}, in {first['seconds']:.1f} s. The model draws volume "
        f"fractions {low:.2f}-{high:.2f} and anisotropies {reach['anisotropy'][0]:.2f}-{reach['anisotropy'][1]:.2f}: "
        "a target outside is refused, not met.",
        f"**Three routes** on the {len(summary['interface_ratio']['latent'])} held-out targets: {route[closest]} "
        f"came closest to the statistics ({rows[closest]['statistics_error']:.3g} against "
        f"{rows['latent']['statistics_error']:.3g} for latent design) and {route[fastest]} was fastest "
        f"({rows[fastest]['seconds']:.1f} s a target).",
        f"**Descriptors**: the latent designs' interface density lies at {min(ratios):.2f}-{max(ratios):.2f} × the "
        "targets' (1: equal; a descriptor none of the routes optimised).",
        f"**Along the path** from {path[0]} to {path[1]}, the volume fraction "
        f"{'changes monotonically' if monotone['volume_fraction'] else 'does not change monotonically'}; of "
        f"{', '.join(f'`{k}`' for k in monotone)}, {', '.join(f'`{k}`' for k in steady) or 'none'} change "
        "monotonically.")


def conclusion_09(summary: Summary) -> str:
    """Notebook 09: the volumes' slices and planes against the 2D limit, real sections and the transposed micrograph, a
    synthetic truth's slices, their descriptors, their connectivity, the design."""
    rows = summary["materials"]
    ratio = {m: r["error_ratio_max"] for m, r in rows.items()}
    plane = {m: r["plane_ratio_max"] for m, r in rows.items()}
    worst = max(plane, key=plane.get)
    within = sum(v <= 1.5 for v in plane.values())
    low = min(r["descriptor_range"][0] for r in rows.values())
    high = max(r["descriptor_range"][1] for r in rows.values())
    kept = sum(0.75 <= r["descriptor_range"][0] and r["descriptor_range"][1] <= 1.33 for r in rows.values())
    spans = {m: min(r["connectivity"]["phase 0"].values()) for m, r in rows.items()}
    seconds = [r["seconds"] for r in rows.values()]
    design = summary["design"]
    anisotropy = design["anisotropy"]
    real = sum(max(r["error"].values()) <= r["real_crops_error"] for r in rows.values())
    transposed = sum(max(r["plane_error"].values()) <= r["transposed_error"] for r in rows.values())
    anisotropic = sorted(sorted(rows, key=lambda m: rows[m]["transposed_error"])[-2:])
    farthest = sorted(sorted(plane, key=plane.get)[-2:])
    truth, drawn, limit = (summary["truth"][k] for k in ("true volume", "reconstruction", "2D limit"))
    items = [
        f"**Against the 2D limit.** The volume's statistics in each plane (its slices' mean f) score at most "
        f"{plane[worst]:.2f}× the 2D limit's autocovariance error on the same crop along their worst axis (worst: "
        f"{worst}); {within} of {len(rows)} materials stay within 1.5×. Each slice alone scores "
        f"{min(ratio.values()):.1f}-{max(ratio.values()):.1f}× the 2D limit: a section is not the crop.",
        f"**Against real sections and against isotropy.** In {real} of {len(rows)} materials every plane's slices are "
        "closer to the micrograph than the other held-out crops of the material are; in "
        f"{transposed} of {len(rows)} every plane's statistics are closer to it than the micrograph transposed "
        f"is. The crops furthest from isotropic are {' and '.join(anisotropic)}"
        + (", the ones furthest from the 2D limit too: one window on all three planes contradicts itself there."
           if set(anisotropic) == set(farthest) else f"; the furthest from the 2D limit, {' and '.join(farthest)}."),
        f"**A truth we know** (overlapping spheres): the true volume's own slices score "
        f"{truth['slices, worst plane']:.4f} against its middle section on their worst plane, "
        f"{truth['slices, worst plane'] / limit['slices, worst plane']:.0f}× the 2D limit of that section, and the "
        f"reconstruction's {drawn['slices, worst plane']:.4f} "
        f"({drawn['slices, worst plane'] / truth['slices, worst plane']:.2f}× the truth's): sections of one volume "
        "differ from each other, so what a volume can reach is the truth's score, not the 2D limit's. The shapes are "
        f"another matter: the reconstruction's sections hold {drawn['phase-0 clusters']:.2f}× the micrograph's "
        f"phase-0 clusters, the truth's {truth['phase-0 clusters']:.2f}× and the 2D limit's "
        f"{limit['phase-0 clusters']:.2f}×"
        + (" (fewer, larger pieces than spheres make: two-point statistics fix how much and how fine, not which "
           "shapes)" if drawn['phase-0 clusters'] < 0.85 * truth['phase-0 clusters'] else "")
        + f". Phase 0 spans the true volume along its least connected axis at "
        f"{truth['phase 0 spanning, least axis']:.2f}, the reconstruction at "
        f"{drawn['phase 0 spanning, least axis']:.2f} (the section holds {drawn['phase-0 fraction']:.2f} of phase 0, "
        f"the true volume {truth['phase-0 fraction']:.2f})"
        + (": one section's statistics do not fix it." if abs(truth['phase 0 spanning, least axis']
                                                              - drawn['phase 0 spanning, least axis']) > 0.2 else "."),
        f"**Descriptors no loss sees**: the slices' interface density and chords lie at {low:.2f}-{high:.2f}× the "
        f"micrograph's; {kept} of {len(rows)} materials keep all of them within 0.75-1.33.",
        "**Connectivity in 3D**: the share of phase 0 in clusters spanning the volume along its least connected axis "
        "is " + ", ".join(f"{m} {v:.2f}" for m, v in spans.items()) + " (1: all of it connects through).",
        f"**Time**: {np.mean(seconds):.0f} s a volume on this machine ({min(seconds):.0f}-{max(seconds):.0f} s), "
        "with no training.",
        f"**Design in 3D**: notebook 08's design for φ = {design['target_fraction']:.2f} and ξx/ξy = "
        f"{design['target_anisotropy']:.2f}, drawn as a volume transversely isotropic about x: its slices score "
        f"{max(design['error'].values()):.4f} against their plane's target along the worst axis, at a phase "
        f"fraction of {design['fraction']:.3f}; its anisotropy is {anisotropy['xy']:.2f} in xy and {anisotropy['xz']:.2f} in xz "
        f"(asked: {design['target_anisotropy']:.2f}), {anisotropy['yz']:.2f} in the yz cross-section (asked: 1).",
    ]
    return _bullets(*items)
