"""Progress bars: widgets in JupyterLab, a quiet line of text when a notebook runs headless.

``tqdm.auto`` draws an ipywidgets bar inside any Jupyter kernel, which is right for a person in
JupyterLab but invisible when papermill runs the notebook for ``make figures``.  The pipeline sets
``SSVAE_PROGRESS=text`` in the environment of the kernels it starts; then each bar is plain text on
stdout (papermill streams it to the terminal; the executed copy keeps one line per bar, not a red
stderr box), and the inner bars (``leave=False``: the batches of one epoch, the steps of one batch)
are not drawn at all, since a text bar cannot be cleared.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from tqdm import tqdm as _text_tqdm
from tqdm.auto import tqdm as _auto_tqdm

ENV_VAR = "SSVAE_PROGRESS"   # utils.jobs sets it to "text"


def progress_bar(*args: Any, **kwargs: Any) -> Any:
    """A ``tqdm`` bar (same arguments): text on stdout when ``SSVAE_PROGRESS=text`` (inner bars, those
    with ``leave=False``, off), else ``tqdm.auto``."""
    if os.environ.get(ENV_VAR, "") == "text":
        kwargs.setdefault("mininterval", 5.0)       # a line every few seconds, not a flood
        kwargs.setdefault("file", sys.stdout)
        if kwargs.get("leave") is False:
            kwargs["disable"] = True
        return _text_tqdm(*args, **kwargs)
    return _auto_tqdm(*args, **kwargs)
