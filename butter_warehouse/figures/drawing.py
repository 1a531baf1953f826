"""The figures' drawing: matplotlib images (PNG, SVG) and their JSON sidecars.

Deterministic: the same ``model.Figure`` gives the same bytes (``STYLE``, ``SAVE_METADATA``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
from matplotlib import ticker  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .model import Figure, Panel, fmt as _fmt, size_label as _size_label  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

FORMATS = ("png", "svg")
#: rcParams that make the output byte-identical from run to run
STYLE: dict[RcKeyType, Any] = {
    "svg.hashsalt": "butter-figures",
    "svg.fonttype": "none",  # text stays text (searchable, smaller); fonts by name
    "figure.dpi": 100,
    "savefig.dpi": 300,  # PNG fit to print; the SVG is vector
    "font.family": "DejaVu Sans",
    "axes.grid": True,
    "grid.alpha": 0.3,
}
SAVE_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def _edges(values: list[float], log: bool) -> list[float]:
    """Cell edges around sorted centres (geometric midpoints on a log axis)."""
    if len(values) == 1:
        v = values[0]
        return [v / 1.5, v * 1.5] if log else [v - 0.5, v + 0.5]
    mids = [math.sqrt(a * b) if log else (a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    first = values[0] ** 2 / mids[0] if log else 2 * values[0] - mids[0]
    last = values[-1] ** 2 / mids[-1] if log else 2 * values[-1] - mids[-1]
    return [first, *mids, last]


def _n_text(n: list[int] | None) -> str:
    if not n:
        return ""
    low, high = min(n), max(n)
    return f" (n={low})" if low == high else f" (n={low}-{high})"


#: an axis (or colour scale) is logarithmic only when its values span at least this ratio
LOG_SPAN = 100.0


def tick_text(value: float, log: bool) -> str:
    """One tick style per axis: on a logarithmic axis powers of ten as 10^k (mathtext) and other
    values as m x 10^k; on a linear axis plain numbers (``0.5``, ``64``)."""
    if not log or value == 0:
        return _fmt(value)
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    mantissa = value / 10**exponent
    if math.isclose(abs(mantissa), 1.0, rel_tol=1e-6):
        return f"$\\mathdefault{{{'-' if mantissa < 0 else ''}10^{{{exponent}}}}}$"
    return f"$\\mathdefault{{{mantissa:.3g}\\times10^{{{exponent}}}}}$"


def _readable_ticks(axis: Any, scale: str, integer: bool = False) -> None:
    """Log axes: major ticks at powers of ten, labelled 10^k, no minor labels; linear axes: plain
    numbers (whole numbers on epoch axes)."""
    if scale in ("log", "symlog"):
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: tick_text(v, log=True)))
        axis.set_minor_formatter(ticker.NullFormatter())
    else:
        if integer:
            axis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _fmt(round(v, 12))))


def colour_scale(values: list[float]) -> str:
    """The colour scale by the axes' rule: logarithmic only when the values span two decades."""
    return "log" if values and min(values) > 0 and max(values) / min(values) >= LOG_SPAN else "linear"


def _draw_heatmap(fig: plt.Figure, ax: plt.Axes, panel: Panel) -> None:
    values = [v for s in panel.series for v in s.y if v is not None and v > 0]
    log = colour_scale(values) == "log"
    norm = (LogNorm if log else Normalize)(vmin=min(values), vmax=max(values)) if values else None
    mesh = None
    log_x = panel.xscale == "log"
    for row, s in enumerate(panel.series):  # one row per size, each on its own epoch grid
        x_edges = _edges(s.x, log=log_x)
        mesh = ax.pcolormesh(x_edges, [row - 0.5, row + 0.5], [s.y], norm=norm, cmap="viridis", shading="flat")
    marked = set(panel.marked or [])
    ax.set_yticks(range(len(panel.series)),
                  [_size_label(float(s.label)) + _n_text(s.n) + (" *" if s.label in marked else "")
                   for s in panel.series])
    for row, s in enumerate(panel.series):  # outline the rows where double descent was found
        if s.label in marked:
            ax.add_patch(Rectangle((0, row - 0.5), 1, 1, transform=ax.get_yaxis_transform(), fill=False,
                                   edgecolor="red", linewidth=2, clip_on=False))
    ax.grid(False)
    if mesh is not None and values:
        bar = fig.colorbar(mesh, ax=ax, label=panel.legend_title)
        if log:
            bar.ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: tick_text(v, log=True)))
            bar.ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        else:
            bar.ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _fmt(round(v, 12))))


def _draw_lines(ax: plt.Axes, panel: Panel) -> None:
    colors = plt.get_cmap("viridis" if len(panel.series) > 6 else "tab10")
    n = max(len(panel.series) - 1, 1)
    for i, s in enumerate(panel.series):
        color = colors(i / n) if len(panel.series) > 6 else colors(i)
        ax.plot(s.x, s.y, marker="o", markersize=3, linewidth=1.5, color=color, label=s.label + _n_text(s.n))
        if s.band_low is not None and s.band_high is not None:
            # a point without published quartiles (None) is a gap in the band
            low = [math.nan if v is None else v for v in s.band_low]
            high = [math.nan if v is None else v for v in s.band_high]
            drawn = [math.isfinite(a) and math.isfinite(b) for a, b in zip(low, high, strict=True)]
            ax.fill_between(s.x, low, high, where=drawn, color=color, alpha=0.2, linewidth=0)
    if panel.reference is not None:
        reference_n = None if panel.reference_n is None else [panel.reference_n]
        ax.axhline(panel.reference, color="black", linestyle="--", linewidth=1,
                   label=panel.reference_label + _n_text(reference_n))
    ax.legend(title=f"{panel.legend_title} (n: experiments per point)", fontsize="small", title_fontsize="small")


#: the text every figure drawn from `butter demo` data carries on the image
SYNTHETIC_NOTE = "synthetic demo data (butter demo), not BUTTER results"


def draw(figure: Figure) -> plt.Figure:
    """The matplotlib figure for ``figure`` (panels in a grid of at most 3 columns)."""
    count = len(figure.panels)
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    width = 6.4 * cols if cols > 1 else 8.0
    fig, axes = plt.subplots(rows, cols, figsize=(width, 4.6 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, figure.panels, strict=False):
        if panel.kind == "heatmap":
            _draw_heatmap(fig, ax, panel)
        else:
            _draw_lines(ax, panel)
        ax.set_xscale(panel.xscale)
        _readable_ticks(ax.xaxis, panel.xscale, integer="epoch" in panel.xlabel)
        if panel.kind != "heatmap":
            ax.set_yscale(panel.yscale)
            _readable_ticks(ax.yaxis, panel.yscale, integer="epoch" in panel.ylabel)
            xs = sorted({x for s in panel.series for x in s.x})
            if 0 < len(xs) <= 4:  # a few settings: tick exactly those (no 0.0096 around one penalty)
                ax.set_xticks(xs, [tick_text(x, log=panel.xscale != "linear") for x in xs])
                ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(panel.title, fontsize="medium")
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    fig.suptitle(figure.title + (f"\n{SYNTHETIC_NOTE}" if figure.synthetic else ""),
                 color="black")
    if figure.synthetic:
        fig.text(0.5, 0.5, "synthetic demo data", fontsize=40, color="0.5", alpha=0.25, ha="center", va="center",
                 rotation=20)
    fig.tight_layout()
    return fig


def sidecar(figure: Figure, warehouse: Path) -> dict[str, Any]:
    """What the figure plots, point by point (``<name>.json``)."""
    return {"figure": figure.name, "title": figure.title, "warehouse": str(warehouse),
            "choice": figure.choice, "synthetic_demo_data": figure.synthetic,
            "panels": [asdict(p) for p in figure.panels]}


def _save(name: str, make: Callable[[], Any], data: dict[str, Any], out: Path) -> list[Path]:
    """``make()``'s matplotlib figure as ``<name>.png`` and ``.svg`` plus ``data`` as ``<name>.json``."""
    paths = []
    with plt.rc_context(STYLE):
        fig = make()
        try:
            for fmt in FORMATS:
                path = out / f"{name}.{fmt}"
                fig.savefig(path, format=fmt, metadata=SAVE_METADATA[fmt])
                paths.append(path)
        finally:
            plt.close(fig)
    sidecar_path = out / f"{name}.json"
    sidecar_path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return [*paths, sidecar_path]


def write(figure: Figure, out: Path, warehouse: Path) -> list[Path]:
    """The figure as PNG and SVG plus its JSON sidecar, in ``out``."""
    return _save(figure.name, lambda: draw(figure), sidecar(figure, warehouse), out)


def _remove_stale(out: Path, name: str) -> None:
    for suffix in (*FORMATS, "json"):
        (out / f"{name}.{suffix}").unlink(missing_ok=True)


def write_skipped(name: str, why: str, out: Path, synthetic: bool = False) -> list[Path]:
    """In place of a figure that could not be drawn: a small image saying why (the docs
    overview shows it instead of a broken image; from demo data, with the synthetic mark) and a
    sidecar with the reason."""
    _remove_stale(out, name)

    def note() -> Any:
        fig = plt.figure(figsize=(6.4, 1.6 if synthetic else 1.2))
        fig.text(0.5, 0.6 if synthetic else 0.5, f"{name.replace('_', ' ')}: not drawn\n{why}", ha="center",
                 va="center", wrap=True, color="0.35")
        if synthetic:
            fig.text(0.5, 0.15, SYNTHETIC_NOTE, ha="center", va="center", color="black")
        return fig

    return _save(name, note, {"figure": name, "skipped": why, "synthetic_demo_data": synthetic}, out)

