"""What a figure is, independent of where its data comes from and how it is drawn.

``queries`` fills these from the marts; ``drawing`` turns them into matplotlib figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FIGURES = (
    "learning_curves",
    "loss_vs_parameters",
    "double_descent",
    "learning_rate_sweep",
    "label_noise",
    "regularization",
    "optimizer_sweep",
)

class FigureSkipped(Exception):
    """The data a figure needs is not in the warehouse; the message says why. Internal: ``render``
    records it as the figure's status and draws the others, so it never reaches the user
    (not a ``ButterError``)."""


@dataclass(frozen=True)
class Choice:
    """The slice asked for on the command line (``None``: each figure picks its own)."""

    dataset: str | None = None
    shape: str | None = None
    depth: int | None = None


#: the options each figure uses; any other option given is reported as not applying to it
USES: dict[str, tuple[str, ...]] = {
    "learning_curves": ("dataset", "shape", "depth"),
    "loss_vs_parameters": ("shape",),
    "double_descent": ("dataset", "shape", "depth"),
    "learning_rate_sweep": ("dataset",),
    "label_noise": ("dataset", "shape"),
    "regularization": ("dataset", "shape"),
    "optimizer_sweep": ("dataset",),
}


def not_applying(name: str, choice: Choice) -> list[str]:
    """Which options given do not apply to figure ``name`` (it draws every value of them)."""
    return [f"--{option} does not apply to {name} (it draws every {option})"
            for option in ("dataset", "shape", "depth")
            if getattr(choice, option) is not None and option not in USES[name]]


@dataclass
class Series:
    """One plotted line (or heat-map row): its label and points, in plot order."""

    label: str
    x: list[float]
    y: list[float]
    band_low: list[float | None] | None = None  # None: no band; a None point: a gap (no quartiles there)
    band_high: list[float | None] | None = None
    n: list[int] | None = None  # experiments behind each point


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    xscale: str = "linear"
    yscale: str = "linear"
    legend_title: str = ""
    kind: str = "line"  # line | heatmap
    series: list[Series] = field(default_factory=list)
    reference: float | None = None  # a horizontal reference line (regularization: the core)
    reference_label: str = ""
    marked: list[str] | None = None  # heat map: labels of the rows where the finding was made (outlined)
    reference_n: int | None = None  # experiments behind the reference line (None: a constant, such as 0)


@dataclass
class Figure:
    name: str
    title: str
    panels: list[Panel]
    choice: dict[str, Any]
    synthetic: bool = False  # drawn from `butter demo` data: the image says so


def fmt(value: float) -> str:
    """A number as plotted: the shortest plain text (``0.0001``, ``1e-05``, ``64``)."""
    return f"{value:g}"


def size_label(size: float) -> str:
    """A network size as ``2^n``."""
    return f"2^{round(math.log2(size))}" if size > 0 else fmt(size)
