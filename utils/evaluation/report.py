"""The report of an evaluation: ``results.json`` for programs, ``results.md`` for people.

:func:`build_results` gathers the scalars of a :class:`~utils.evaluation.evaluate.TestSetEvaluation` (the
paper protocol's sample as counts out of ``n_test``, the whole test split as percentages), of
the overfitting check and of the paper (:data:`utils.project.PAPER`) into one dict;
:func:`results_markdown` renders it and :func:`write_results` writes both, atomically.
:func:`comparison_table` is what notebook 04 shows: ours, vanilla and the paper side by side.
The headline numbers are the spatial-statistics VAE's.

>>> table = pd.DataFrame({"orientation_correct": [True, True], "line_count_correct": [True, False],
...                       "volume_fraction_diff": [0.0, 10.0], "data_mse": [0.1, 0.3], "spatial_stats_mse": [1., 3.]})
>>> summarise(table)
{'orientation_correct': 2, 'line_count_correct': 1, 'volume_fraction_diff_mean': 5.0, 'data_mse': 0.2, 'spatial_stats_mse': 2.0}
>>> summarise(table, percent=True)["line_count_correct_pct"]
50.0
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from utils.evaluation.evaluate import EvalData, Scored, TestSetEvaluation
from utils.files import write_json, write_text
from utils.project import INFERENCE, MODEL_KEYS, MODEL_LABELS, PAPER

__all__ = ["summarise", "whole_split_scores", "build_results", "results_markdown", "write_results",
           "comparison_table"]

OURS, VANILLA = MODEL_KEYS["spatial_stats"], MODEL_KEYS["data"]


def summarise(table: pd.DataFrame, *, percent: bool = False) -> dict[str, Any]:
    """The scalars of a per-image table (:func:`utils.evaluation.evaluate.per_image_table`).

    How many images (``percent``: what percentage) have the right orientation and line count --
    and, in a sample with neighbour columns, whose nearest training image has the right count --
    and the means of the volume-fraction difference and of the two MSEs.
    """
    def right(column: str) -> tuple[str, Any]:
        values = table[column].to_numpy()
        return (f"{column}_pct", float(100 * values.mean())) if percent else (column, int(values.sum()))

    out = dict([right("orientation_correct"), right("line_count_correct")])
    out["volume_fraction_diff_mean"] = float(table["volume_fraction_diff"].mean())
    out["data_mse"] = float(table["data_mse"].mean())
    out["spatial_stats_mse"] = float(table["spatial_stats_mse"].mean())
    if "nearest_stats_count_correct" in table:
        out.update([right("nearest_stats_count_correct")])
    return out


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b > 0 else None


def _ratios(scores: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """ours / vanilla of the two MSEs (the paper's §B.4); {} unless both models were scored."""
    if not {OURS, VANILLA} <= set(scores):
        return {}
    return {key: _ratio(scores[OURS][key], scores[VANILLA][key]) for key in ("data_mse", "spatial_stats_mse")}


def _yardstick_right(evaluation: TestSetEvaluation, data: EvalData, positions: Any) -> pd.Series:
    """For the originals at ``positions`` of the split: does their nearest training image in
    statistics space have their line count?"""
    truth = data.labels["n_lines"].to_numpy()[evaluation.split.indices[positions]]
    return evaluation.nearest_to_original.loc[positions] == truth


def whole_split_scores(evaluation: TestSetEvaluation, data: EvalData) -> dict[str, Any]:
    """Every test image's scores per model, as percentages, their ratios, and the yardstick over the
    first ``n_nearest`` originals.  (A count out of 100 images moves by about +-5 from one random
    draw to the next; over the 2,000 test images of the ``cpu`` profile by about +-1.)"""
    scores = {MODEL_KEYS[loss]: summarise(table, percent=True) for loss, table in evaluation.split.tables.items()}
    right = _yardstick_right(evaluation, data, list(range(evaluation.n_nearest)))
    return {"split": "test", "n": int(len(evaluation.split.indices)), "models": scores, "ratios": _ratios(scores),
            "nearest_to_original": {"n": evaluation.n_nearest, "count_correct_pct": float(100 * right.mean())}}


def build_results(profile: str, evaluation: TestSetEvaluation, data: EvalData,
                  overfit: pd.DataFrame | None = None, inference: Scored | None = None) -> dict[str, Any]:
    """The dict written to results.json.  Headline numbers are the spatial-statistics VAE's.

    Keys: profile, n_test, orientation_correct, line_count_correct, volume_fraction_diff_mean
    (percent), nearest_stats_count_correct (the training image nearest to the reconstruction in
    statistics space has the original's line count), nearest_to_original_count_correct (the
    yardstick on the sample), data_mse and spatial_stats_mse (per model: means over the sample of
    per-pixel MSEs), ratios (ours / vanilla), models (every scalar per model), dataset (name,
    image_size, lines, n_images, n_train, n_val, n_test_split), paper (the paper's numbers,
    :data:`utils.project.PAPER`), overfit (means of the per-reconstruction mean MSEs per
    split and space, when given), whole_split (:func:`whole_split_scores`) and, when given,
    inference (:func:`utils.evaluation.evaluate.evaluate_inference`: n and the scores, as percentages, of
    each way of reconstructing the first n test images).
    """
    per_model = {MODEL_KEYS[loss]: summarise(t) for loss, t in evaluation.sample.tables.items()}
    ours = per_model[OURS]
    results: dict[str, Any] = {
        "profile": profile,
        "n_test": int(len(evaluation.sample.indices)),
        "orientation_correct": ours["orientation_correct"],
        "line_count_correct": ours["line_count_correct"],
        "volume_fraction_diff_mean": ours["volume_fraction_diff_mean"],
        "nearest_stats_count_correct": ours["nearest_stats_count_correct"],
        "nearest_to_original_count_correct": int(_yardstick_right(evaluation, data,
                                                                  evaluation.sample_positions).sum()),
        "data_mse": {name: m["data_mse"] for name, m in per_model.items()},
        "spatial_stats_mse": {name: m["spatial_stats_mse"] for name, m in per_model.items()},
        "ratios": _ratios(per_model),
        "models": per_model,
        "dataset": {"name": data.spec.name, "image_size": data.spec.size,
                    "lines": [data.spec.min_lines, data.spec.max_lines], "n_images": data.spec.n_images,
                    "n_train": len(data.split["train"]), "n_val": len(data.split["val"]),
                    "n_test_split": len(data.split["test"])},
        "paper": PAPER,
    }
    if overfit is not None:
        means = overfit.groupby(["space", "split"])["mean_mse"].mean()
        results["overfit"] = {"n_per_split": int((overfit["space"] == "data").sum() // 2),
                              **{f"{space}_mean_mse_{split}": float(v) for (space, split), v in means.items()}}
    results["whole_split"] = whole_split_scores(evaluation, data)
    if inference is not None:
        results["inference"] = {"n": int(len(inference.indices)),
                                **{key: summarise(t, percent=True) for key, t in inference.tables.items()}}
    return results


def comparison_table(results: dict[str, Any]) -> pd.DataFrame:
    """Ours, vanilla and the paper side by side: counts out of the sample, the volume-fraction
    difference and the two MSE ratios (the paper's column comes from ``results["paper"]``)."""
    n, paper, hard = results["n_test"], results["paper"], list(results["dataset"]["lines"]) == [3, 7]
    rows = {f"correct orientation (of {n})": "orientation_correct",
            f"correct number of lines (of {n})": "line_count_correct",
            "mean volume-fraction difference (%)": "volume_fraction_diff_mean"}
    table = pd.DataFrame({MODEL_LABELS[loss]: [results["models"][key][k] for k in rows.values()]
                          for loss, key in MODEL_KEYS.items()}, index=list(rows), dtype=object)
    # the paper reports counts and volume fractions on 1-5 lines only, the two ratios on 3-7 lines too
    table["paper"] = [None if hard else paper[k] for k in rows.values()]
    paper_ratios = paper["ratios_lines_3_7"] if hard else paper["ratios"]
    for key, label in (("data_mse", "data-space MSE, ours / vanilla"),
                       ("spatial_stats_mse", "spatial-statistics MSE, ours / vanilla")):
        table.loc[label] = [results["ratios"][key], None, paper_ratios[key]]
    return table


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def results_markdown(results: dict[str, Any]) -> str:
    """A markdown report of ``results``: ours vs vanilla vs the paper."""
    n, ours, vanilla, paper = results["n_test"], results["models"][OURS], results["models"][VANILLA], results["paper"]
    ds = results["dataset"]
    # the paper reports counts and volume fractions on 1-5 lines only, and the two ratios on 3-7 lines too
    hard = list(ds["lines"]) == [3, 7]
    paper_ratios = paper["ratios_lines_3_7"] if hard else paper["ratios"]

    def paper_count(key: str) -> str:
        return "-" if hard else f"{paper[key]} / {paper['n_test']}"

    paper_note = ("the paper reports only the two MSE ratios on its 3-7 lines dataset" if hard else
                  f"the paper: {paper['n_test']} images of {paper['image_size']}x{paper['image_size']}, 1-5 lines")
    lines = [
        f"# Evaluation results (profile `{results['profile']}`)",
        "",
        f"Dataset `{ds['name']}`: {ds['image_size']}x{ds['image_size']} images, {ds['lines'][0]}-"
        f"{ds['lines'][1]} lines; {n} held-out test images ({paper_note}). Line counts and orientations are "
        "automatic (connected components of the thresholded reconstruction).",
        "",
        f"| metric | {MODEL_LABELS['spatial_stats']} (ours) | {MODEL_LABELS['data']} | paper (its VAE) |",
        "|---|---|---|---|",
        f"| correct orientation | {ours['orientation_correct']} / {n} | {vanilla['orientation_correct']} / {n} "
        f"| {paper_count('orientation_correct')} |",
        f"| correct number of lines | {ours['line_count_correct']} / {n} | {vanilla['line_count_correct']} / {n} "
        f"| {paper_count('line_count_correct')} |",
        f"| mean volume-fraction difference (%) | {_fmt(ours['volume_fraction_diff_mean'])} | "
        f"{_fmt(vanilla['volume_fraction_diff_mean'])} | {'-' if hard else _fmt(paper['volume_fraction_diff_mean'])} |",
        f"| nearest training image in stats space has the right line count | "
        f"{ours['nearest_stats_count_correct']} / {n} | {vanilla['nearest_stats_count_correct']} / {n} | - |",
        f"| data-space MSE (per pixel) | {_fmt(ours['data_mse'])} | {_fmt(vanilla['data_mse'])} | - |",
        f"| spatial-statistics MSE (per offset) | {_fmt(ours['spatial_stats_mse'])} | "
        f"{_fmt(vanilla['spatial_stats_mse'])} | - |",
        f"| data-space MSE, ours / vanilla | {_fmt(results['ratios']['data_mse'], 3)} | | "
        f"{paper_ratios['data_mse']} |",
        f"| spatial-statistics MSE, ours / vanilla | {_fmt(results['ratios']['spatial_stats_mse'], 3)} | | "
        f"{paper_ratios['spatial_stats_mse']} |",
        "",
        f"Sanity check: for {results['nearest_to_original_count_correct']} / {n} test images, the training image "
        "nearest to the *original* in statistics space has the original's line count.",
    ]
    if "whole_split" in results:
        w = results["whole_split"]
        a, b = w["models"].get(OURS, {}), w["models"].get(VANILLA, {})
        rows = [("correct orientation (%)", "orientation_correct_pct"),
                ("correct number of lines (%)", "line_count_correct_pct"),
                ("mean volume-fraction difference (%)", "volume_fraction_diff_mean"),
                ("data-space MSE (per pixel)", "data_mse"), ("spatial-statistics MSE (per offset)", "spatial_stats_mse")]
        lines += ["", f"The same scores on all {w['n']} images of the {w['split']} split (less sampling noise than "
                  "100 images):", "",
                  f"| metric | {MODEL_LABELS['spatial_stats']} (ours) | {MODEL_LABELS['data']} |", "|---|---|---|"]
        lines += [f"| {label} | {_fmt(a.get(key))} | {_fmt(b.get(key))} |" for label, key in rows]
        for key, label in (("data_mse", "data-space"), ("spatial_stats_mse", "spatial-statistics")):
            lines.append(f"| {label} MSE, ours / vanilla | {_fmt(w['ratios'].get(key), 3)} | |")
        if "nearest_to_original" in w:
            near = w["nearest_to_original"]
            lines += ["", f"Sanity check on {near['n']} images of the {w['split']} split: the training image nearest "
                      f"to the *original* in statistics space has the original's line count for "
                      f"{_fmt(near['count_correct_pct'])} % of them."]
    if "inference" in results:
        inf = results["inference"]
        lines += ["", f"Beyond the paper's protocol, on the first {inf['n']} test images: our VAE's reconstructions "
                  "(z = mu), the same with the code refined under the statistics loss (z refined, decoder frozen), "
                  "and images reconstructed from the statistics alone (no VAE: the per-image limit of the method):", "",
                  "| reconstruction | orientation (%) | line count (%) | volume-fraction difference (%) | "
                  "spatial-statistics MSE |", "|---|---|---|---|---|"]
        lines += [f"| {label} | {_fmt(inf[key]['orientation_correct_pct'])} | {_fmt(inf[key]['line_count_correct_pct'])} "
                  f"| {_fmt(inf[key]['volume_fraction_diff_mean'])} | {_fmt(inf[key]['spatial_stats_mse'])} |"
                  for key, label in INFERENCE.items() if key in inf]
    if "overfit" in results:
        o = results["overfit"]
        lines += ["", f"Overfitting check (spatial-stats VAE, {o['n_per_split']} reconstructions per split, "
                  "mean MSE to every image of the same split, averaged):", "",
                  "| space | train | validation |", "|---|---|---|"]
        for space in ("data", "spatial_stats"):
            lines.append(f"| {space} | {_fmt(o.get(f'{space}_mean_mse_train'))} | "
                         f"{_fmt(o.get(f'{space}_mean_mse_val'))} |")
    return "\n".join(lines) + "\n"


def write_results(fig_dir: str | os.PathLike, results: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``fig_dir/results.json`` and ``fig_dir/results.md`` atomically; return their paths."""
    fig_dir = Path(fig_dir)
    return write_json(fig_dir / "results.json", results), write_text(fig_dir / "results.md", results_markdown(results))
