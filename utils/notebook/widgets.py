"""The interactive demos of the notebooks (ipywidgets), and the hand-made images they draw.

* :func:`draw_lines` paints a few parallel lines into a blank image with numpy slicing (for
  sliders: every parameter is set by hand, unlike the random generator in :mod:`utils.data.lines`).
* :func:`lines_figure` draws such an image beside its statistics (the project's one panel,
  :func:`utils.notebook.plots.image_and_statistics`); :func:`lines_explorer` gives its sliders.
* :func:`live_figure` shows sliders above ONE figure that redraws in place when a slider moves (an
  IPython display handle): the figure an executed copy keeps is the same output the sliders redraw, so
  no stale copy of the starting setting stays on the page.
* :func:`noted` gives a widget a readable text form: a notebook run headless (papermill) stores widgets
  without their state, so JupyterLab shows that text in the executed copy instead of the widget.

Conventions as everywhere in the project: images are {0 = line, 1 = background}; statistics have
r = 0 at index ``n // 2`` of each axis, r_y drawn downwards.
"""
from __future__ import annotations

from typing import Any, Callable

import ipywidgets as widgets
import numpy as np
import torch
from IPython.display import DisplayHandle, display

from utils.checks import positive_int
from utils.data.lines import ORIENTATIONS
from utils.notebook.plots import NotebookFigure, image_and_statistics, new_figure
from utils.statistics.two_point import spatial_statistics

__all__ = ["draw_lines", "lines_figure", "lines_explorer", "latent_figure", "latent_explorer", "design_panel", "noted",
           "live_figure", "LIVE_NOTE"]

LIVE_NOTE = "[sliders: live when this notebook runs in JupyterLab; the figure below is their starting setting]"


def live_figure(draw: Callable[..., Any], controls: dict[str, widgets.ValueWidget], *,
                note: str = LIVE_NOTE) -> Callable[[], None]:
    """Display ``controls`` (name -> widget), then ``draw(**values)`` as one figure that is redrawn in place
    (``display_id``) whenever a control's value changes; returns the redraw function.

    Where no live kernel holds the widgets (an executed copy), the controls show as ``note`` and the figure
    stays as drawn for the starting values.
    """
    def values() -> dict[str, Any]:
        return {name: widget.value for name, widget in controls.items()}

    display(noted(widgets.VBox(list(controls.values())), note))
    handle = display(draw(**values()), display_id=True) or DisplayHandle()    # None outside IPython

    def redraw(*_: Any) -> None:
        handle.update(draw(**values()))

    for widget in controls.values():
        widget.observe(redraw, names="value")
    return redraw


class _Noted:
    """A widget displayed as itself where a live kernel holds its state, as ``note`` where none does."""

    def __init__(self, widget: widgets.Widget, note: str) -> None:
        self.widget, self.note = widget, note

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = self.note
        return bundle


def noted(widget: widgets.Widget, note: str = LIVE_NOTE) -> _Noted:
    """``widget`` for ``display``, its text form ``note`` instead of ``interactive(children=(IntSlider(…``.

    >>> bundle = noted(widgets.IntSlider(), "[a slider]")._repr_mimebundle_()
    >>> bundle["text/plain"], "application/vnd.jupyter.widget-view+json" in bundle
    ('[a slider]', True)
    """
    if not isinstance(widget, widgets.Widget):
        raise TypeError(f"noted needs an ipywidgets widget, got {type(widget).__name__}")
    return _Noted(widget, note)


def draw_lines(size: int, *, n_lines: int, position: int, thickness: int, gap: int | None = None,
               orientation: str = "vertical", length: int | None = None) -> np.ndarray:
    """A ``(size, size)`` uint8 image, 1 = background, with ``n_lines`` parallel black (0) lines.

    Line k (k = 0 .. n_lines - 1) covers the ``thickness`` columns (rows for ``"horizontal"``)
    starting at ``position + k * (thickness + gap)``, taken modulo ``size``: lines that run off
    one side come back on the other, like the periodic statistics see them.  ``gap`` (default
    ``thickness``) is the background between neighbouring lines; ``length`` (default
    ``3 * size // 4``) is each line's extent along its direction, centred in the image.
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    positive_int(size, "size")
    positive_int(n_lines, "n_lines", minimum=0)
    positive_int(thickness, "thickness")
    gap = thickness if gap is None else gap
    length = 3 * size // 4 if length is None else min(length, size)
    start = (size - length) // 2
    image = np.ones((size, size), dtype=np.uint8)
    for k in range(n_lines):
        across = (position + k * (thickness + gap) + np.arange(thickness)) % size
        if orientation == "vertical":
            image[start:start + length, across] = 0
        else:
            image[across, start:start + length] = 0
    return image


def lines_figure(size: int, *, n_lines: int, position: int, thickness: int, orientation: str = "vertical",
                 phase: float = 0.0, eps: float = 0.25) -> NotebookFigure:
    """A :func:`draw_lines` image beside its :func:`~utils.statistics.two_point.spatial_statistics`."""
    image = draw_lines(size, n_lines=n_lines, position=position, thickness=thickness, orientation=orientation)
    stats = spatial_statistics(torch.as_tensor(image, dtype=torch.float32), phase=phase, eps=eps)
    fig = new_figure((9, 4))
    image_and_statistics(fig.subplots(1, 2), image, stats.numpy(),
                         title=f"{n_lines} {orientation} line(s), {thickness} px")
    fig.tight_layout()
    return fig


def lines_explorer(size: int, *, phase: float = 0.0, eps: float = 0.25
                   ) -> tuple[Callable[..., NotebookFigure], dict[str, Any]]:
    """The demo's drawing function and its slider widgets, for :func:`live_figure`.

    ``draw(position, n_lines, thickness, orientation)`` returns :func:`lines_figure` of that setting; the
    controls start at the same setting as ``draw()``'s defaults.
    """

    def draw(position: int = size // 4, n_lines: int = 2, thickness: int = max(1, size // 32),
             orientation: str = "vertical") -> NotebookFigure:
        return lines_figure(size, n_lines=n_lines, position=position, thickness=thickness, orientation=orientation,
                            phase=phase, eps=eps)

    controls = {
        "position": widgets.IntSlider(value=size // 4, min=0, max=size - 1, description="position",
                                      continuous_update=False),
        "n_lines": widgets.IntSlider(value=2, min=1, max=6, description="lines", continuous_update=False),
        "thickness": widgets.IntSlider(value=max(1, size // 32), min=1, max=max(1, size // 8),
                                       description="thickness", continuous_update=False),
        "orientation": widgets.ToggleButtons(options=list(ORIENTATIONS), value="vertical",
                                             description="orientation"),
    }
    return draw, controls


def latent_figure(model: torch.nn.Module, z: np.ndarray, *, phase: float = 0.0, eps: float = 0.25,
                  title: str = "") -> NotebookFigure:
    """The image a VAE decodes from one code ``z`` (latent_dim,), beside its statistics."""
    with torch.no_grad():
        image = model.decode(torch.as_tensor(np.asarray(z, dtype=np.float32))[None])[0, 0].float()
        stats = spatial_statistics(image, phase=phase, eps=eps)
    fig = new_figure((9, 4))
    image_and_statistics(fig.subplots(1, 2), image.numpy(), stats.numpy(), title=title or "decoded z")
    fig.tight_layout()
    return fig


def latent_explorer(model: torch.nn.Module, starts: np.ndarray, *, phase: float = 0.0, eps: float = 0.25,
                    limit: float = 3.0) -> tuple[Callable[..., None], dict[str, Any]]:
    """Sliders for the coordinates of z, and a choice of test image whose code they start from.

    ``starts``: (n, latent_dim) codes (e.g. the posterior means of test images).  Returns
    ``(draw, controls)`` for :func:`live_figure`: ``draw(start=.., z0=.., z1=.., ...)`` returns
    :func:`latent_figure`; ``controls`` holds ``start``, a Dropdown whose choice moves the sliders to that
    code, and one FloatSlider per coordinate (``-limit .. limit``).
    """

    starts = np.asarray(starts, dtype=np.float32)
    if starts.ndim != 2 or starts.shape[1] != model.latent_dim or len(starts) == 0:
        raise ValueError(f"starts must be (n >= 1, {model.latent_dim}) codes, got shape {starts.shape}")
    names = [f"z{i}" for i in range(model.latent_dim)]

    def draw(start: int = 0, **coords: float) -> NotebookFigure:
        z = np.array([coords.get(n, float(starts[start][i])) for i, n in enumerate(names)], dtype=np.float32)
        return latent_figure(model, z, phase=phase, eps=eps, title=f"z from test image {start}, moved")

    sliders = {n: widgets.FloatSlider(value=float(np.clip(starts[0][i], -limit, limit)), min=-limit, max=limit,
                                      step=0.05, description=n, continuous_update=False)
               for i, n in enumerate(names)}
    start = widgets.Dropdown(options=list(range(len(starts))), value=0, description="start")

    def move_sliders(change: dict) -> None:
        for i, n in enumerate(names):
            sliders[n].value = float(np.clip(starts[change["new"]][i], -limit, limit))

    start.observe(move_sliders, names="value")
    return draw, {"start": start, **sliders}


def design_panel(design: Callable[[float, float], Any], show: Callable[[Any], NotebookFigure], first: Any, *,
                 volume_fraction: tuple[float, float, float], anisotropy: tuple[float, float, float]
                 ) -> Callable[[], None]:
    """Display sliders for a target volume fraction and anisotropy and a "design" button, then ONE figure: the
    designs of the starting setting (``show(first)``), redrawn in place with ``show(design(vf, anisotropy))``
    each time the button is pressed (an IPython display handle, as in :func:`live_figure`).

    ``design(volume_fraction, anisotropy)`` returns a design (e.g. a partial of
    :func:`utils.inverse.design.design_in_latent_space`); ``show(result)`` its figure; ``first`` the design of the
    starting values (the figure an executed copy keeps).  ``volume_fraction`` and ``anisotropy``: (low, high,
    start) of each slider.  Returns ``run``, which does what the button does.
    """

    vf = widgets.FloatSlider(value=volume_fraction[2], min=volume_fraction[0], max=volume_fraction[1], step=0.01,
                             description="φ target", continuous_update=False)
    an = widgets.FloatSlider(value=anisotropy[2], min=anisotropy[0], max=anisotropy[1], step=0.05,
                             description="ξx/ξy target", continuous_update=False)
    button = widgets.Button(description="design", button_style="primary")
    display(noted(widgets.HBox([vf, an, button]), "[design panel: two sliders and a button, live when this notebook "
                                                  "runs in JupyterLab; the figure below is its starting setting]"))
    handle = display(show(first), display_id=True) or DisplayHandle()    # None outside IPython

    def run(*_: Any) -> None:
        button.description, button.disabled = "designing ...", True
        try:
            handle.update(show(design(vf.value, an.value)))
        finally:
            button.description, button.disabled = "design", False

    button.on_click(run)
    return run
