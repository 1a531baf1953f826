"""The study's standard figures, drawn from the published warehouse.

    butter figures [--out DIR] [--dataset NAME] [--shape NAME] [--depth N] [--warehouse PATH]

Reads the published DuckDB file read-only and only its ``marts`` schema, and
writes six figures as PNG and SVG, each with a sidecar ``<name>.json`` holding
exactly the data points plotted (tests compare them with their own SQL):

1. ``learning_curves``: median test loss vs epoch (log x), q1-q3 band where
   published, one line per size, for one dataset / shape / depth (primary sweep);
2. ``loss_vs_parameters``: median-curve best test loss vs parameter count, one
   line per depth, one panel per dataset (primary sweep, one shape);
3. ``double_descent``: size x epoch heat map of the median test loss;
4. ``learning_rate_sweep``: best median test loss per learning rate, one line per shape;
5. ``label_noise``: best loss and best epoch vs label noise, one line per learning rate;
6. ``regularization``: L1 and L2 penalties vs the unregularized core.

A figure whose data is absent (a sweep not downloaded, a dataset outside a
sweep) is skipped with one line saying why; in its place (any stale copy removed) a
small image says why, so the docs overview shows no broken image.
Values are aggregated with the median over the experiments that share a
plotted point (normally one). Output is deterministic: same warehouse, same bytes.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
from matplotlib.colors import LogNorm  # noqa: E402

from . import ownership  # noqa: E402

FIGURES = (
    "learning_curves",
    "loss_vs_parameters",
    "double_descent",
    "learning_rate_sweep",
    "label_noise",
    "regularization",
)
FORMATS = ("png", "svg")
#: rcParams that make the output byte-identical from run to run
STYLE = {
    "svg.hashsalt": "butter-figures",
    "svg.fonttype": "none",  # text stays text (searchable, smaller); fonts by name
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.family": "DejaVu Sans",
    "axes.grid": True,
    "grid.alpha": 0.3,
}
SAVE_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


class FigureSkipped(Exception):
    """The data a figure needs is not in the warehouse; the message says why."""


@dataclass(frozen=True)
class Choice:
    """Which slice of the study the single-setting figures show."""

    dataset: str
    shape: str
    depth: int


@dataclass
class Series:
    """One plotted line (or heat-map row): its label and points, in plot order."""

    label: str
    x: list[float]
    y: list[float]
    band_low: list[float] | None = None
    band_high: list[float] | None = None


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


@dataclass
class Figure:
    name: str
    title: str
    panels: list[Panel]
    choice: dict[str, Any]


# --- reading the marts ------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(_rows(con, "select 1 from information_schema.tables where table_schema = 'marts' and table_name = ?",
                      [table]))


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in _rows(con, "select column_name from information_schema.columns "
                                     "where table_schema = 'marts' and table_name = ?", [table])}


def _require(con: duckdb.DuckDBPyConnection, table: str) -> None:
    if not _has_table(con, table):
        raise FigureSkipped(f"marts.{table} is not in the warehouse (rebuild it with `make build`)")


def default_choice(con: duckdb.DuckDBPyConnection, dataset: str | None = None, shape: str | None = None,
                   depth: int | None = None) -> Choice:
    """Fill unset choices from the primary sweep: the most common value, ties to the smallest.

    Each choice is made within the ones already fixed (a shape the dataset has, a
    depth that dataset and shape have). Without any primary-sweep experiment the
    given values (or placeholders) are returned and the figures that need them skip.
    """
    def pick(column: str, where: str, params: list[Any]) -> Any:
        found = _rows(con, f"select {column} from marts.experiment_summary where is_primary_sweep{where} "
                           f"group by {column} order by count(*) desc, {column} limit 1", params)
        return found[0][0] if found else None

    where, params = "", []
    if dataset is None:
        dataset = pick("dataset", where, params)
    where, params = " and dataset = ?", [dataset]
    if shape is None:
        shape = pick("shape", where, params)
    where, params = where + " and shape = ?", params + [shape]
    if depth is None:
        depth = pick("depth", where, params)
    return Choice(dataset or "(none)", shape or "(none)", int(depth) if depth is not None else 0)


def _loss_label(con: duckdb.DuckDBPyConnection, dataset: str) -> str:
    found = _rows(con, "select distinct task_type from marts.experiment_summary where dataset = ?", [dataset])
    kinds = {r[0] for r in found}
    if kinds == {"regression"}:
        return "mean squared error"
    if kinds and "regression" not in kinds:
        return "cross-entropy, nats"
    return "loss of the dataset"


def _axis_scale(values: list[float]) -> str:
    """Log when every value is positive (losses), else linear (matplotlib would drop the rest)."""
    return "log" if values and all(v > 0 for v in values) else "linear"


def _x_scale(values: list[float]) -> str:
    """Log for positive values; symlog when a zero (no penalty, no noise) must stay visible."""
    return "log" if values and all(v > 0 for v in values) else "symlog"


def _group(rows: list[tuple]) -> dict[Any, list[tuple]]:
    """Rows (key, ...) grouped by their first element, order kept."""
    grouped: dict[Any, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def _fmt(value: float) -> str:
    return f"{value:g}"


# --- the six figures ----------------------------------------------------------------------

CURVES_SQL = """
select
    s.size,
    c.epoch,
    median(c.test_loss_median) as test_loss_median,
    {q1} as test_loss_q1,
    {q3} as test_loss_q3
from marts.experiment_learning_curves as c
inner join marts.experiment_summary as s on c.experiment_id = s.experiment_id
where s.is_primary_sweep and s.dataset = ? and s.shape = ? and s.depth = ? and c.test_loss_median is not null
group by s.size, c.epoch
order by s.size, c.epoch
"""


def _curves(con: duckdb.DuckDBPyConnection, choice: Choice) -> tuple[list[tuple], bool]:
    _require(con, "experiment_learning_curves")
    columns = _columns(con, "experiment_learning_curves")
    quartiles = {"test_loss_q1", "test_loss_q3"} <= columns
    sql = CURVES_SQL.format(q1="median(c.test_loss_q1)" if quartiles else "null",
                            q3="median(c.test_loss_q3)" if quartiles else "null")
    rows = _rows(con, sql, [choice.dataset, choice.shape, choice.depth])
    if not rows:
        raise FigureSkipped(f"no primary-sweep learning curves for dataset {choice.dataset}, "
                            f"shape {choice.shape}, depth {choice.depth}")
    quartiles = quartiles and any(r[3] is not None and r[4] is not None for r in rows)
    return rows, quartiles


def learning_curves(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    rows, quartiles = _curves(con, choice)
    series = []
    for size, points in _group(rows).items():
        band = quartiles and all(p[2] is not None and p[3] is not None for p in points)
        series.append(Series(
            label=f"2^{round(math.log2(size))}" if size > 0 else str(size),
            x=[float(p[0]) for p in points], y=[p[1] for p in points],
            band_low=[p[2] for p in points] if band else None,
            band_high=[p[3] for p in points] if band else None,
        ))
    values = [v for s in series for v in s.y + (s.band_low or [])]
    panel = Panel(
        title=f"{choice.dataset}, {choice.shape}, depth {choice.depth}"
              + (" (band: q1-q3 over runs)" if quartiles else " (quartiles not published)"),
        xlabel="epoch (log scale)", ylabel=f"median test loss ({_loss_label(con, choice.dataset)})",
        xscale="log", yscale=_axis_scale(values), legend_title="size (parameters)", series=series,
    )
    return Figure("learning_curves", "Learning curves: median test loss per epoch, by network size",
                  [panel], asdict(choice))


def loss_vs_parameters(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _require(con, "experiment_summary")
    rows = _rows(con, """
        select dataset, depth, num_free_parameters, median(median_curve_best_test_loss) as loss
        from marts.experiment_summary
        where is_primary_sweep and shape = ? and median_curve_best_test_loss is not null
        group by dataset, depth, num_free_parameters
        order by dataset, depth, num_free_parameters
    """, [choice.shape])
    if not rows:
        raise FigureSkipped(f"no primary-sweep experiments with a best test loss for shape {choice.shape}")
    panels = []
    for dataset, points in _group(rows).items():
        series = [Series(label=str(depth), x=[float(p[0]) for p in pts], y=[p[1] for p in pts])
                  for depth, pts in _group(list(points)).items()]
        panels.append(Panel(
            title=dataset, xlabel="trainable parameters (count, log scale)",
            ylabel=f"best median test loss ({_loss_label(con, dataset)})", xscale="log",
            yscale=_axis_scale([v for s in series for v in s.y]), legend_title="depth (layers)", series=series,
        ))
    return Figure("loss_vs_parameters",
                  f"Best test loss (median curve) vs parameter count, one line per depth ({choice.shape}, primary sweep)",
                  panels, {"shape": choice.shape})


def double_descent(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    rows, _ = _curves(con, choice)
    series = [Series(label=str(size), x=[float(p[0]) for p in points], y=[p[1] for p in points])
              for size, points in _group(rows).items()]
    panel = Panel(
        title=f"{choice.dataset}, {choice.shape}, depth {choice.depth} (primary sweep)",
        xlabel="epoch (log scale)", ylabel="size (trainable parameters)", xscale="log", kind="heatmap",
        legend_title=f"median test loss ({_loss_label(con, choice.dataset)}, log colour scale)", series=series,
    )
    return Figure("double_descent", "Epoch-wise double descent: median test loss over size and epoch",
                  [panel], asdict(choice))


def _sweep_present(con: duckdb.DuckDBPyConnection, sweep: str) -> None:
    _require(con, "sweep_comparisons")
    if not _rows(con, "select 1 from marts.sweep_comparisons where sweep = ? limit 1", [sweep]):
        raise FigureSkipped(f"the {sweep} sweep is not in the warehouse (its folders were not downloaded?)")


def learning_rate_sweep(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _sweep_present(con, "learning_rate")
    rows = _rows(con, """
        select shape, learning_rate, median(median_curve_best_test_loss) as loss
        from marts.sweep_comparisons
        where sweep = 'learning_rate' and dataset = ? and median_curve_best_test_loss is not null
        group by shape, learning_rate
        order by shape, learning_rate
    """, [choice.dataset])
    if not rows:
        raise FigureSkipped(f"dataset {choice.dataset} is not in the learning-rate sweep")
    series = [Series(label=shape, x=[float(p[0]) for p in pts], y=[p[1] for p in pts])
              for shape, pts in _group(rows).items()]
    panel = Panel(
        title=f"{choice.dataset}: median over the sweep's experiments (all depths and sizes)",
        xlabel="learning rate (log scale)", ylabel=f"best median test loss ({_loss_label(con, choice.dataset)})",
        xscale="log", yscale=_axis_scale([v for s in series for v in s.y]), legend_title="shape", series=series,
    )
    return Figure("learning_rate_sweep", "Learning-rate sweep: best test loss per learning rate and shape",
                  [panel], {"dataset": choice.dataset})


def label_noise(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _require(con, "experiment_summary")
    if not _rows(con, "select 1 from marts.experiment_summary where is_label_noise_sweep limit 1"):
        raise FigureSkipped("the label_noise sweep is not in the warehouse (its folders were not downloaded?)")
    rows = _rows(con, """
        select
            learning_rate,
            label_noise,
            median(median_curve_best_test_loss) as loss,
            median(median_curve_best_test_loss_epoch) as best_epoch
        from marts.experiment_summary
        where is_label_noise_sweep and dataset = ? and shape = ? and median_curve_best_test_loss is not null
        group by learning_rate, label_noise
        order by learning_rate, label_noise
    """, [choice.dataset, choice.shape])
    if not rows:
        raise FigureSkipped(f"dataset {choice.dataset} with shape {choice.shape} is not in the label-noise sweep")
    groups = _group(rows)
    loss = [Series(label=_fmt(lr), x=[p[0] for p in pts], y=[p[1] for p in pts]) for lr, pts in groups.items()]
    epoch = [Series(label=_fmt(lr), x=[p[0] for p in pts], y=[p[2] for p in pts]) for lr, pts in groups.items()]
    where = f"{choice.dataset}, {choice.shape}"
    panels = [
        Panel(title=f"{where}: best loss", xlabel="label noise (share of training labels replaced)",
              ylabel=f"best median test loss ({_loss_label(con, choice.dataset)})",
              yscale=_axis_scale([v for s in loss for v in s.y]), legend_title="learning rate", series=loss),
        Panel(title=f"{where}: epoch of the best loss", xlabel="label noise (share of training labels replaced)",
              ylabel="best epoch (epochs, log scale)", yscale=_axis_scale([v for s in epoch for v in s.y]),
              legend_title="learning rate", series=epoch),
    ]
    return Figure("label_noise", "Label noise: best test loss and its epoch vs noise level", panels,
                  {"dataset": choice.dataset, "shape": choice.shape})


def regularization(con: duckdb.DuckDBPyConnection, choice: Choice) -> Figure:
    _sweep_present(con, "regularization")
    params = [choice.dataset, choice.shape]
    rows = _rows(con, """
        select
            kernel_regularizer_type,
            case kernel_regularizer_type when 'l1' then kernel_regularizer_l1 else kernel_regularizer_l2 end as penalty,
            median(median_curve_best_test_loss) as loss,
            median(delta_vs_core) as delta
        from marts.sweep_comparisons
        where sweep = 'regularization' and dataset = ? and shape = ? and not is_core_value
            and kernel_regularizer_type in ('l1', 'l2') and median_curve_best_test_loss is not null
            and case kernel_regularizer_type when 'l1' then kernel_regularizer_l1 else kernel_regularizer_l2 end
            is not null
        group by all
        order by kernel_regularizer_type, penalty
    """, params)
    core = _rows(con, """
        select median(median_curve_best_test_loss)
        from marts.sweep_comparisons
        where sweep = 'regularization' and dataset = ? and shape = ? and is_core_value
    """, params)[0][0]
    if not rows:
        raise FigureSkipped(f"dataset {choice.dataset} with shape {choice.shape} has no L1/L2 experiments "
                            "in the regularization sweep")
    groups = _group(rows)
    loss = [Series(label=kind.upper(), x=[p[0] for p in pts], y=[p[1] for p in pts]) for kind, pts in groups.items()]
    delta = [Series(label=kind.upper(), x=[p[0] for p in pts], y=[p[2] for p in pts])
             for kind, pts in groups.items() if any(p[2] is not None for p in pts)]
    for s in delta:  # keep the points that have a core to compare with
        kept = [(x, y) for x, y in zip(s.x, s.y, strict=False) if y is not None]
        s.x, s.y = [x for x, _ in kept], [y for _, y in kept]
    unit = _loss_label(con, choice.dataset)
    where = f"{choice.dataset}, {choice.shape}"
    xscale = _x_scale([x for s in loss for x in s.x])
    panels = [
        Panel(title=f"{where}: best loss (dashed: unregularized core)", xlabel="penalty (log scale)",
              ylabel=f"best median test loss ({unit})", xscale=xscale,
              yscale=_axis_scale([v for s in loss for v in s.y] + ([core] if core is not None else [])),
              legend_title="penalty", series=loss, reference=core, reference_label="no penalty (core)"),
        Panel(title=f"{where}: loss minus the unregularized core's", xlabel="penalty (log scale)",
              ylabel=f"median delta vs core ({unit})", xscale=xscale, legend_title="penalty", series=delta,
              reference=0.0, reference_label="core"),
    ]
    return Figure("regularization", "Regularization: L1 and L2 penalties vs the unregularized core", panels,
                  {"dataset": choice.dataset, "shape": choice.shape})


BUILDERS: dict[str, Callable[[duckdb.DuckDBPyConnection, Choice], Figure]] = {
    "learning_curves": learning_curves,
    "loss_vs_parameters": loss_vs_parameters,
    "double_descent": double_descent,
    "learning_rate_sweep": learning_rate_sweep,
    "label_noise": label_noise,
    "regularization": regularization,
}


# --- drawing --------------------------------------------------------------------------------


def _edges(values: list[float], log: bool) -> list[float]:
    """Cell edges around sorted centres (geometric midpoints on a log axis)."""
    if len(values) == 1:
        v = values[0]
        return [v / 1.5, v * 1.5] if log else [v - 0.5, v + 0.5]
    mids = [math.sqrt(a * b) if log else (a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    first = values[0] ** 2 / mids[0] if log else 2 * values[0] - mids[0]
    last = values[-1] ** 2 / mids[-1] if log else 2 * values[-1] - mids[-1]
    return [first, *mids, last]


def _draw_heatmap(fig: plt.Figure, ax: plt.Axes, panel: Panel) -> None:
    values = [v for s in panel.series for v in s.y if v is not None and v > 0]
    norm = LogNorm(vmin=min(values), vmax=max(values)) if values else None
    mesh = None
    for row, s in enumerate(panel.series):  # one row per size, each on its own epoch grid
        x_edges = _edges(s.x, log=True)
        mesh = ax.pcolormesh(x_edges, [row - 0.5, row + 0.5], [s.y], norm=norm, cmap="viridis", shading="flat")
    sizes = [float(s.label) for s in panel.series]
    ax.set_yticks(range(len(sizes)), [f"2^{round(math.log2(v))}" if v > 0 else _fmt(v) for v in sizes])
    ax.grid(False)
    if mesh is not None:
        fig.colorbar(mesh, ax=ax, label=panel.legend_title)


def _draw_lines(ax: plt.Axes, panel: Panel) -> None:
    colors = plt.get_cmap("viridis" if len(panel.series) > 6 else "tab10")
    n = max(len(panel.series) - 1, 1)
    for i, s in enumerate(panel.series):
        color = colors(i / n) if len(panel.series) > 6 else colors(i)
        ax.plot(s.x, s.y, marker="o", markersize=3, linewidth=1.5, color=color, label=s.label)
        if s.band_low is not None and s.band_high is not None:
            ax.fill_between(s.x, s.band_low, s.band_high, color=color, alpha=0.2, linewidth=0)
    if panel.reference is not None:
        ax.axhline(panel.reference, color="black", linestyle="--", linewidth=1, label=panel.reference_label)
    ax.legend(title=panel.legend_title, fontsize="small", title_fontsize="small")


def draw(figure: Figure) -> plt.Figure:
    """The matplotlib figure for ``figure`` (panels in a grid of at most 3 columns)."""
    count = len(figure.panels)
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.6 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, figure.panels, strict=False):
        if panel.kind == "heatmap":
            _draw_heatmap(fig, ax, panel)
        else:
            _draw_lines(ax, panel)
        ax.set_xscale(panel.xscale)
        if panel.kind != "heatmap":
            ax.set_yscale(panel.yscale)
        ax.set_title(panel.title, fontsize="medium")
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    fig.suptitle(figure.title)
    fig.tight_layout()
    return fig


def sidecar(figure: Figure, warehouse: Path) -> dict[str, Any]:
    """What the figure plots, point by point (``<name>.json``)."""
    return {"figure": figure.name, "title": figure.title, "warehouse": str(warehouse),
            "choice": figure.choice, "panels": [asdict(p) for p in figure.panels]}


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


def write_skipped(name: str, why: str, out: Path) -> list[Path]:
    """In place of a figure that could not be drawn: a small image saying why (the docs
    overview shows it instead of a broken image) and a sidecar with the reason."""
    _remove_stale(out, name)

    def note() -> Any:
        fig = plt.figure(figsize=(6.4, 1.2))
        fig.text(0.5, 0.5, f"{name.replace('_', ' ')}: not drawn\n{why}", ha="center", va="center",
                 wrap=True, color="0.35")
        return fig

    return _save(name, note, {"figure": name, "skipped": why}, out)


def render(warehouse: Path, out: Path, dataset: str | None = None, shape: str | None = None,
           depth: int | None = None, log: Callable[[str], None] = print) -> dict[str, str]:
    """Write every figure it has data for; returns {figure: "written" or the reason it was skipped}."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no published warehouse at {warehouse}: run `make build` first "
                                "(or set BUTTER_DUCKDB_PATH)")
    problem = ownership.reader_problem(warehouse)
    if problem:
        raise FileNotFoundError(f"{problem}; no figure was changed")
    status: dict[str, str] = {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if not _has_table(con, "experiment_summary"):
            raise FileNotFoundError(f"{warehouse} has no marts.experiment_summary, which every figure starts from: "
                                    "build the warehouse with `butter build`; no figure was changed")
        out.mkdir(parents=True, exist_ok=True)
        choice = default_choice(con, dataset, shape, depth)
        log(f"figures for dataset {choice.dataset}, shape {choice.shape}, depth {choice.depth} -> {out}")
        for name, build in BUILDERS.items():
            try:
                figure = build(con, choice)
            except FigureSkipped as why:
                write_skipped(name, str(why), out)
                status[name] = f"skipped: {why}"
                log(f"skipped {name}: {why}")
                continue
            paths = write(figure, out, warehouse)
            status[name] = "written"
            log(f"wrote {name} ({', '.join(p.name for p in paths)})")
    finally:
        con.close()
    (out / "figures.json").write_text(json.dumps(status, indent=1, sort_keys=True) + "\n")
    return status


def copy_to_docs_site(out: Path, site: Path, relative: str) -> Path | None:
    """Refresh the docs site's copy of the figures (``dbt docs generate`` copies asset-paths)."""
    if not (site / "index.html").exists():
        return None
    target = site / relative
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(out, target)
    return target


DEFAULT_OUT = Path("assets") / "figures"  # relative to the project: inside the docs site's asset-paths


def run(args: Any, warehouse: Path, project_root: Path, site: Path) -> int:
    """``butter figures``: render, then refresh the docs site's copy when writing to the default place."""
    out = Path(args.out) if args.out else project_root / DEFAULT_OUT
    try:
        status = render(warehouse, out, dataset=args.dataset, shape=args.shape, depth=args.depth)
    except FileNotFoundError as error:
        print(f"butter figures: {error}")
        return 1
    if out.resolve() == (project_root / DEFAULT_OUT).resolve():
        copied = copy_to_docs_site(out, site, str(DEFAULT_OUT))
        if copied is not None:
            print(f"refreshed the docs site's copy in {copied}")
    written = sum(value == "written" for value in status.values())
    print(f"{written} of {len(status)} figures written to {out}")
    return 0
