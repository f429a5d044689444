"""A run's figures drawn once: margins from the text a figure carries, measured before drawing.

``tight_layout`` finds the margins by laying out every tick, label and title of the figure, and
leaves a layout engine that makes ``savefig`` lay the figure out once more before drawing it: for
a run's six small plots that was most of their time. The plots here have one axes and known
decorations, so the margins follow from a few strings (title lines, axis labels, the tick labels
the axes' locator and formatter will draw), measured with the renderer the figure is drawn with.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

DPI = 110  # 7 x 4 inches: 770 x 440 pixels
SIZE = (7.0, 4.0)
DATE_ROTATION = 30.0  # calendar month ends: tick labels turned as Figure.autofmt_xdate turns them


def figure(size: tuple[float, float] = SIZE):
    """A figure with one axes, drawn by Agg (no pyplot: no figure manager to close)."""
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


# zlib level 3 instead of Pillow's default 6: the same pixels, files within 1% of the size, encoded in
# two thirds of the time (about 11 against 8 ms per plot, measured on a run's six plots)
PNG_COMPRESS_LEVEL = 3


def save(fig: Figure, path: Path) -> None:
    if str(path).lower().endswith(".png"):
        fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    else:
        fig.savefig(path, dpi=DPI)


def _tick_labels(axis) -> tuple[list[str], list[float]]:
    """The major tick labels the axis will draw (those inside its view) and where they sit (axes fraction)."""
    locs = axis.get_majorticklocs()
    labels = axis.get_major_formatter().format_ticks(locs)
    lo, hi = axis.get_view_interval()
    span = (hi - lo) or 1.0
    eps = 1e-9 * abs(span)
    out = [(lab, (v - lo) / span) for v, lab in zip(locs, labels)
           if min(lo, hi) - eps <= v <= max(lo, hi) + eps and lab]
    return [t for t, _ in out], [f for _, f in out]


def fit_margins(fig: Figure, ax, dates: bool = False, ytick_size: float | None = None, suptitle=None) -> None:
    """Set ``ax``'s position so its title (or the figure's ``suptitle``, a Text), labels and tick labels fit
    inside the figure, with ``tight_layout``'s padding (1.08 font sizes). ``dates``: x tick labels turned
    (calendar dates); ``ytick_size``: the y tick labels' font size when not the default."""
    r = fig.canvas.get_renderer()
    px = fig.dpi / 72.0  # pixels per point
    rc = mpl.rcParams
    W, H = fig.bbox.width, fig.bbox.height
    pad = 1.08 * rc["font.size"] * px

    def size(texts: list[str], points) -> tuple[float, float]:
        """Widest width and tallest line height of ``texts`` (a line is never less tall than "lp")."""
        prop = FontProperties(size=points)
        _, h, _ = r.get_text_width_height_descent("lp", prop, ismath=False)
        w = 0.0
        for t in texts:
            tw, th, _ = r.get_text_width_height_descent(t, prop, ismath=False)
            w, h = max(w, tw), max(h, th)
        return w, h

    if dates:
        for label in ax.get_xticklabels():
            label.set_rotation(DATE_ROTATION)
            label.set_horizontalalignment("right")
    xtl, xpos = _tick_labels(ax.xaxis)
    ytl, _ = _tick_labels(ax.yaxis)
    xw, xh = size(xtl, rc["xtick.labelsize"])
    yw, _ = size(ytl, ytick_size or rc["ytick.labelsize"])
    xtick = (rc["xtick.major.size"] + rc["xtick.major.pad"]) * px
    ytick = (rc["ytick.major.size"] + rc["ytick.major.pad"]) * px
    labelpad = rc["axes.labelpad"] * px
    xlabel = ax.xaxis.label.get_window_extent(r).height if ax.get_xlabel() else 0.0
    ylabel = ax.yaxis.label.get_window_extent(r).width if ax.get_ylabel() else 0.0

    # How far the first and last x tick labels reach past the axes' sides (axes about 85% of the width).
    width = 0.85 * W
    if dates:
        a = math.radians(DATE_ROTATION)
        under = xw * math.sin(a) + xh * math.cos(a)
        reach = xw * math.cos(a) + xh * math.sin(a)  # right-aligned at the tick: all of it to the left
        left_over = max((reach - f * width for f in xpos[:1]), default=0.0)
        right_over = 0.0
    else:
        under = xh
        left_over = max((xw / 2 - f * width for f in xpos[:1]), default=0.0)
        right_over = max((xw / 2 - (1 - f) * width for f in xpos[-1:]), default=0.0)

    left = pad + max((ylabel + labelpad if ylabel else 0.0) + yw + ytick, left_over)
    right = pad + max(right_over, 0.0)
    bottom = pad + (xlabel + labelpad if xlabel else 0.0) + under + xtick
    if suptitle is not None:
        # suptitle: top-aligned at its y (figure fraction); the axes start half a pad below it
        top = (1.0 - suptitle.get_position()[1]) * H + suptitle.get_window_extent(r).height + pad / 2
    elif ax.get_title():
        top = pad + ax.title.get_window_extent(r).height + rc["axes.titlepad"] * px
    else:
        top = pad
    fig.subplots_adjust(left=left / W, right=1.0 - right / W, bottom=bottom / H, top=1.0 - top / H)
