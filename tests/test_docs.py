"""The documentation reads on its own and agrees with the code (fast: files and ``ast`` only, no torch).

* No document, docstring, comment, notebook cell or test speaks of the project's work history outside the
  repository (the words of :data:`HISTORY`: numbered tracker entries, the work's periods and its time
  allowances): a measurement cites its commit and command instead.  pytest's own scope word is allowed.
* Every relative link of README.md and docs/*.md resolves to a file, and an anchor to a heading of it.
* docs/design.md holds the architecture: the data-flow picture, the run folder, how to add a material,
  a loss and a profile.
* The statistics VAE's crop count, where the docs state it ("the N training crops"), is the code's: the
  training split of its dataset.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The words of the work history, kept as stems so that this file passes its own check: the tracker's entries and
# the work's stops followed by a number, its periods and machine loans as whole words (a key such as
# ``seconds_this_...`` and "released" pass), its time allowances and notes.
HISTORY = ("iss" "ues?", "sto" "ps?", "sess" "ions?", "lea" "ses?", "bud" "gets?", "clos" r"ing\s+notes?")
FORBIDDEN = re.compile(rf"\b{HISTORY[0]}\s*#?\s*\d+|\b{HISTORY[1]}\s+\d+\b|\b{HISTORY[2]}\b|\b{HISTORY[3]}\b"
                       rf"|\b{HISTORY[4]}\b|\b{HISTORY[5]}\b", re.IGNORECASE)
ALLOWED = ('scope="' "sess" 'ion"', "scope='" "sess" "ion'", "test " "sess" "ion")   # pytest's scope word


def forbidden_words(text: str) -> list[str]:
    """The forbidden words in ``text`` once the allowed pytest phrases are removed."""
    for phrase in ALLOWED:
        text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
    return [m.group(0) for m in FORBIDDEN.finditer(text)]


def _example(stem: str) -> str:
    """One word a stem of :data:`HISTORY` matches: its optional letters dropped, ``\\s+`` a space."""
    return re.sub(r".\?", "", stem.replace(r"\s+", " "))


WORD = [_example(stem) for stem in HISTORY]    # the examples below are built from the stems, never spelt out


@pytest.mark.parametrize("sentence", [
    f"measured in {WORD[0]} 13", f"{WORD[0].title()} #21 asked for it", f"{WORD[1]} 10: the H200",
    f"the H100 {WORD[2]}", f"a {WORD[3]} of a GPU", f"the 45-minute {WORD[4]}", f"the {WORD[5]}s of the work",
    f"two work {WORD[2]}s"])
def test_the_pattern_flags_history_words(sentence):
    assert forbidden_words(sentence), sentence


@pytest.mark.parametrize("sentence", [
    f'@pytest.fixture(scope="{WORD[2]}")', f"once per test {WORD[2]}", f'"seconds_this_{WORD[2]}": 1.0',
    "redraw when a slider is released", f"the run {WORD[1]}s with a message", f"a known {WORD[0]} of torch",
    "commit c3dcaef, 13 epochs"])
def test_the_pattern_passes_ordinary_words(sentence):
    assert not forbidden_words(sentence), sentence


def _scanned_files() -> list[Path]:
    files = [REPO / "README.md", REPO / "Makefile", *sorted((REPO / "docs").glob("*.md")),
             *sorted((REPO / "utils").rglob("*.py")), *sorted((REPO / "tests").rglob("*.py")),
             *sorted((REPO / "scripts").glob("*.py")), *sorted((REPO / "notebooks").glob("*.ipynb"))]
    this = Path(__file__).resolve()
    return [f for f in files if f.is_file() and f.resolve() != this]     # this file quotes the words it forbids


def _lines(path: Path) -> list[tuple[str, str]]:
    """(where, line) of a file; a notebook's cell sources only, as ``cell N line M``."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [(f"cell {i} line {j}", line) for i, cell in enumerate(cells)
                for j, line in enumerate("".join(cell.get("source", "")).splitlines(), 1)]
    return [(f"line {j}", line) for j, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]


def test_no_work_history_words():
    hits = [f"{path.relative_to(REPO)} {where}: {words} in {line.strip()[:120]!r}"
            for path in _scanned_files() for where, line in _lines(path) if (words := forbidden_words(line))]
    assert not hits, "cite the commit and command instead:\n" + "\n".join(hits)


# ----------------------------------------------------------------------------- links

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.MULTILINE)}


def test_slug_matches_github():
    assert slug("Diagnosis: why the line count stays near 52 %") == "diagnosis-why-the-line-count-stays-near-52-"
    assert slug("3. Shipped models (`trained_models/`)") == "3-shipped-models-trained_models"


@pytest.mark.parametrize("doc", [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))],
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_relative_links_resolve(doc):
    broken = []
    for target in LINK.findall(FENCE.sub("", doc.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):      # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{doc.relative_to(REPO)}:\n" + "\n".join(broken)


# ----------------------------------------------------------------------------- design.md

def test_design_holds_the_architecture():
    text = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    headings = [h.lower() for h in re.findall(r"^#{2,3}\s+(.*)$", text, re.MULTILINE)]
    for wanted in ("data flows", "run folder", "shipped models", "profiles", "add a material, a loss, a profile",
                   "statistics vae", "depend on the machine"):
        assert any(wanted in h for h in headings), f"docs/design.md has no section on {wanted!r}: {headings}"
    pictures = FENCE.findall(text)
    assert any(all(name in p for name in ("config_for", "utils.training.loop", "utils.jobs", "figures/", "runs/"))
               for p in pictures), "docs/design.md: the data-flow picture names config_for, utils.training.loop, utils.jobs"
    for name in ("config.json", "history.csv", "last.pt", "best.pt", "finished.json", "samples/",
                 "trained_models/", "PROFILE_PURPOSES", "COMMITTED_PROFILES", "STATISTICS_VAE",
                 "MATERIALS", "LOSSES", "JOBS"):
        assert name in text, f"docs/design.md does not name {name}"


# ----------------------------------------------------------------------------- counts

def _module(path: str) -> ast.Module:
    return ast.parse((REPO / path).read_text(encoding="utf-8"))


def _assigned(tree: ast.Module, name: str) -> ast.expr:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.value
    raise AssertionError(f"{name} is not assigned at the top of its module")


def statistics_vae_crops() -> int:
    """Crops ``make micro`` trains the statistics VAE on: the training split of its dataset (the training region's
    crops of every material, less the validation share that picks its best checkpoint)."""
    from utils.training.config import config_for
    from utils.data.micrographs import MATERIALS
    cfg = config_for("micro", "statistics_vae")
    pool = len(MATERIALS) * cfg.n_crops
    return pool - round(cfg.val_fraction * pool)


def test_statistics_vae_crop_count_in_the_docs():
    expected = statistics_vae_crops()
    assert expected == 7 * 640
    stated = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = re.sub(r"\s+", " ", doc.read_text(encoding="utf-8"))
        stated += [(doc.name, int(m.group(1).replace(",", "")))
                   for m in re.finditer(r"\bthe (\d[\d,]*) training crops", text)]
    assert ("design.md", expected) in stated, "docs/design.md should say how many crops the statistics VAE trains on"
    assert all(n == expected for _, n in stated), f"crop counts {stated}, the code gives {expected}"
