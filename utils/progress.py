"""Progress bars: widgets in JupyterLab, plain text when a notebook runs headless.

``tqdm.auto`` draws an ipywidgets bar inside any Jupyter kernel, which is right for a person in
JupyterLab but invisible when papermill runs the notebook for ``make figures``.  The pipeline sets
``SSVAE_PROGRESS=text`` in the environment of the kernels it starts; then the bars are written as
text to stderr, which papermill streams to the terminal.
"""
from __future__ import annotations

import os
from typing import Any

from tqdm import tqdm as _text_tqdm
from tqdm.auto import tqdm as _auto_tqdm

ENV_VAR = "SSVAE_PROGRESS"   # utils.jobs sets it to "text"


def progress_bar(*args: Any, **kwargs: Any) -> Any:
    """A ``tqdm`` bar (same arguments): text when ``SSVAE_PROGRESS=text``, else ``tqdm.auto``."""
    if os.environ.get(ENV_VAR, "") == "text":
        kwargs.setdefault("mininterval", 5.0)       # a line every few seconds, not a flood
        return _text_tqdm(*args, **kwargs)
    return _auto_tqdm(*args, **kwargs)
