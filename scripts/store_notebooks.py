"""Store the notebooks as JupyterLab saves them, so that opening one marks nothing modified.

    .venv/bin/python scripts/store_notebooks.py            # rewrite notebooks/*.ipynb in place
    .venv/bin/python scripts/store_notebooks.py --check    # exit 1 naming each notebook that differs
    .venv/bin/python scripts/store_notebooks.py --stdin < a.ipynb   # the stored text on stdout (git's filter)

``make setup`` registers ``--stdin`` as git's clean filter of the notebooks (``.gitattributes``): what you run
in JupyterLab, outputs and all, stays in your working copy, while git sees (and ``git status`` compares) the
notebook without its outputs, so running a notebook never shows it as changed.

JupyterLab writes a notebook with ``nbformat.write`` (keys sorted, one-space indent, sources split into
lines, a final newline) and fills ``metadata.language_info`` from the kernel the moment it connects;
a notebook stored otherwise opens with unsaved changes.  This also clears outputs and execution
counts (notebooks are committed without them).  ``tests/test_setup.py`` checks the result.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from ipykernel.ipkernel import IPythonKernel

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def stored_text(text: str) -> str:
    """The text JupyterLab would save for the notebook ``text``, outputs cleared."""
    nb = nbformat.reads(text, as_version=4)
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    out = nbformat.writes(nb, version=4)
    return out if out.endswith("\n") else out + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook differs")
    parser.add_argument("--stdin", action="store_true", help="read one notebook on stdin, write its stored text "
                                                             "to stdout (text that is not a notebook passes unchanged)")
    args = parser.parse_args()
    if args.stdin:
        text = sys.stdin.read()
        try:
            sys.stdout.write(stored_text(text))
        except Exception:          # not (yet) a valid notebook: git must still get the file back
            sys.stdout.write(text)
        return 0
    differ = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        stored = stored_text(text)
        if stored != text:
            differ.append(path.name)
            if not args.check:
                path.write_text(stored, encoding="utf-8")
    verb = "differ from" if args.check else "rewritten as"
    print(f"{len(differ)} notebook(s) {verb} what JupyterLab saves: {', '.join(differ) or 'none'}")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
