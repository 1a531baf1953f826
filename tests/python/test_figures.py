"""`butter figures`: the seven figures, drawn from the current warehouse.

On a copy of the built demo warehouse (the template layout, which has no optimizer sweep: that
figure is a note saying why; the current release's layout draws it): every figure is written as PNG and SVG
(non-empty, loadable, titled and labelled), its JSON sidecar holds exactly the
points an independent SQL query on the marts gives, the output is byte-identical
from run to run, and a figure whose data is absent is skipped with a reason
while the others are still drawn.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import duckdb
import numpy as np
import pytest

from conftest import PROJECT_ROOT, DbtResult

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FIGURES = ("learning_curves", "loss_vs_parameters", "double_descent",
           "learning_rate_sweep", "label_noise", "regularization", "optimizer_sweep")
#: the figures a template-layout warehouse draws: it has no optimizer sweep
TEMPLATE_FIGURES = tuple(name for name in FIGURES if name != "optimizer_sweep")


@pytest.fixture(scope="module")
def warehouse(built_warehouse: Callable[[str], DbtResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the built demo warehouse, as `butter build` publishes it."""
    path = tmp_path_factory.mktemp("figures-wh") / "butter.duckdb"
    shutil.copy(built_warehouse("published").db_path, path)
    return path


def _cli(args: list[str], warehouse: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BUTTER_DUCKDB_PATH=str(warehouse))
    return subprocess.run([str(Path(sys.executable).with_name("butter")), "figures", *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def figures_dir(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``butter figures --out DIR`` on the warehouse copy (what `make build` runs)."""
    out = tmp_path_factory.mktemp("figures")
    proc = _cli(["--out", str(out)], warehouse)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(proc.stdout)
    return out


def _sidecar(out: Path, name: str) -> dict[str, Any]:
    return json.loads((out / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def current_warehouse(built_warehouse: Callable[[str], DbtResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the demo warehouse built from the current release's layout (`butter demo
    --layout current`: all_repetitions/, the optimizer sweep, complete_executive_summary/)."""
    path = tmp_path_factory.mktemp("figures-current-wh") / "butter.duckdb"
    shutil.copy(built_warehouse("current").db_path, path)
    return path


@pytest.fixture(scope="module")
def current_figures(current_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("figures-current")
    proc = _cli(["--out", str(out)], current_warehouse)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_every_figure_is_written(figures_dir: Path) -> None:
    status = json.loads((figures_dir / "figures.json").read_text())
    assert status == {**{name: "written" for name in TEMPLATE_FIGURES}, "optimizer_sweep": status["optimizer_sweep"]}
    _check_drawn(figures_dir, TEMPLATE_FIGURES)
    _check_no_optimizer_sweep(figures_dir, status)


def _check_no_optimizer_sweep(out: Path, status: dict[str, str]) -> None:
    """The template layout has no optimizer sweep: in place of its figure a small image saying why."""
    reason = status["optimizer_sweep"].removeprefix("skipped: ")
    assert reason.startswith("the optimizer sweep is not in the warehouse") and "template layout" in reason, status
    assert 100 < (out / "optimizer_sweep.png").stat().st_size < 100_000
    assert "not drawn" in (out / "optimizer_sweep.svg").read_text()
    assert _sidecar(out, "optimizer_sweep") == {"figure": "optimizer_sweep", "skipped": reason,
                                                "synthetic_demo_data": True}


def test_every_figure_is_written_from_the_current_layout(current_figures: Path) -> None:
    status = json.loads((current_figures / "figures.json").read_text())
    assert status == {name: "written" for name in FIGURES}, status
    _check_drawn(current_figures, FIGURES)


def _check_drawn(figures_dir: Path, names: tuple[str, ...]) -> None:
    from matplotlib import image

    for name in names:
        png, svg = figures_dir / f"{name}.png", figures_dir / f"{name}.svg"
        assert png.stat().st_size > 5_000 and svg.stat().st_size > 5_000, name
        pixels = image.imread(png)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300, (name, pixels.shape)
        assert pixels.std() > 0.01, f"{name}.png is blank"
        text = svg.read_text()
        assert text.lstrip().startswith("<?xml") and "<svg" in text, name
        data = _sidecar(figures_dir, name)
        # what the sidecar says was drawn is visible in the SVG: title, axis labels, legend entries
        for needle in [data["title"], *(p["xlabel"] for p in data["panels"]), *(p["ylabel"] for p in data["panels"])]:
            assert _svg_escape(needle) in text, (name, needle)
        for panel in data["panels"]:
            assert panel["series"], (name, panel["title"])
            if panel["kind"] == "line":
                for series in panel["series"]:
                    assert _svg_escape(series["label"]) in text, (name, series["label"])


def _svg_escape(text: str) -> str:
    return escape(text)  # matplotlib escapes &, < and > in SVG text


def _expected_scale(values: list[float | None]) -> str:
    found = [v for v in values if v is not None]
    return "log" if found and min(found) > 0 and max(found) / min(found) >= 100 else "linear"


def test_log_scales_only_where_the_data_spans_decades(figures_dir: Path) -> None:
    checked = 0
    for name in TEMPLATE_FIGURES:
        for panel in _sidecar(figures_dir, name)["panels"]:
            xs = [x for s in panel["series"] for x in s["x"]]
            ys = [y for s in panel["series"] for y in s["y"]]
            if name != "regularization":  # penalties: symlog when a zero penalty must stay visible
                assert panel["xscale"] == _expected_scale(xs), (name, panel["title"], min(xs), max(xs))
            if panel["kind"] == "line" and panel["reference"] is None:
                assert panel["yscale"] == _expected_scale(ys), (name, panel["title"])
            for axis in ("xlabel", "ylabel"):  # the 10^k ticks say it: no "(log scale)" in a label
                assert "log scale" not in panel[axis], (name, panel[axis])
            checked += 1
    assert checked >= 6
    # the learning-rate axis of the demo spans 1e-5..1e-2: the one the data makes logarithmic
    assert _sidecar(figures_dir, "learning_rate_sweep")["panels"][0]["xscale"] == "log"


def _redrawn(data: dict[str, Any]) -> Any:
    """The matplotlib figure of a sidecar, drawn again by the drawing code (ticks laid out)."""
    from butter_warehouse.figures import drawing
    from butter_warehouse.figures.model import Figure, Panel, Series

    panels = [Panel(**{**p, "series": [Series(**s) for s in p["series"]]}) for p in data["panels"]]
    figure = Figure(data["figure"], data["title"], panels, data["choice"], data["synthetic_demo_data"])
    fig = drawing.draw(figure)
    fig.canvas.draw()
    return fig


def test_one_tick_style_per_axis(figures_dir: Path) -> None:
    """A logarithmic axis (or colour scale) is ticked at powers of ten, each labelled 10^k; a
    linear axis in plain numbers, never 1e-05 or 10^k. Checked on the drawn figures' axes."""
    import re

    import matplotlib.pyplot as plt

    power = re.compile(r"\$\\mathdefault\{-?10\^\{-?\d+\}\}\$")
    plain = re.compile(r"[\u2212-]?\d+(\.\d+)?")
    seen = {"log": 0, "linear": 0}
    for name in TEMPLATE_FIGURES:
        fig = _redrawn(_sidecar(figures_dir, name))
        try:
            for ax in fig.axes:
                for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
                    low, high = sorted(axis.get_view_interval())
                    labels = [t.get_text() for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs(), strict=True)
                              if t.get_text() and low <= v <= high]
                    if not labels or not any(plain.fullmatch(t) or power.fullmatch(t) for t in labels):
                        continue  # a categorical axis (the heat map's sizes)
                    kind = "log" if scale in ("log", "symlog") else "linear"
                    style = power if kind == "log" else plain
                    odd = [t for t in labels if not style.fullmatch(t) and not (kind == "log" and t == "0")]
                    assert not odd, (name, kind, labels)
                    seen[kind] += 1
        finally:
            plt.close(fig)
    assert seen["log"] and seen["linear"], seen  # the demo draws both kinds


def test_pngs_are_300_dpi(figures_dir: Path) -> None:
    from PIL import Image

    for name in FIGURES:  # the optimizer sweep's placeholder too
        with Image.open(figures_dir / f"{name}.png") as png:
            assert [round(d) for d in png.info["dpi"]] == [300, 300], (name, png.info.get("dpi"))
        assert (figures_dir / f"{name}.svg").exists(), name


def test_demo_data_says_so_on_the_image(figures_dir: Path) -> None:
    for name in FIGURES:  # the optimizer sweep is a placeholder on this layout: marked too
        assert _sidecar(figures_dir, name)["synthetic_demo_data"] is True, name
        assert "synthetic demo data" in (figures_dir / f"{name}.svg").read_text(), name


def test_double_descent_rows_found_are_marked(figures_dir: Path, warehouse: Path) -> None:
    """The heat map outlines the sizes where the analysis rule found double descent, and only those."""
    from butter_warehouse import figures

    data = _sidecar(figures_dir, "double_descent")
    choice = _choice(data)
    found = _query(warehouse, f"""
        select distinct e.size from ({figures.DoubleDescentRule.of_project(PROJECT_ROOT).sql()}) as f
        join marts.experiment_summary as e on f.experiment_id = e.experiment_id
        where f.dataset = ? and f.shape = ? and f.depth = ?
    """, [choice["dataset"], choice["shape"], choice["depth"]])
    assert found and sorted(data["panels"][0]["marked"]) == sorted(str(r[0]) for r in found)
    values = [v for s in data["panels"][0]["series"] for v in s["y"] if v is not None and v > 0]
    log = max(values) / min(values) >= 100  # the colour scale by the axes' rule
    assert ("log colour scale" in data["panels"][0]["legend_title"]) == log, data["panels"][0]["legend_title"]


def test_n_is_shown(figures_dir: Path) -> None:
    for name in TEMPLATE_FIGURES:
        data = _sidecar(figures_dir, name)
        text = (figures_dir / f"{name}.svg").read_text()
        for panel in data["panels"]:
            for series in panel["series"]:
                assert series["n"] is not None and len(series["n"]) == len(series["x"]), (name, series["label"])
                assert all(n >= 1 for n in series["n"]), (name, series["label"])
                low, high = min(series["n"]), max(series["n"])
                assert (f"(n={low})" if low == high else f"(n={low}-{high})") in text, (name, series["label"])


# --- the plotted points equal an independent query -------------------------------------------


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _points(data: dict[str, Any], field: str = "y") -> dict[tuple, float | None]:
    """{(panel title, series label, x): value} of a sidecar."""
    found: dict[tuple, float | None] = {}
    for panel in data["panels"]:
        for series in panel["series"]:
            values = series[field]
            assert values is not None and len(values) == len(series["x"]), (panel["title"], series["label"])
            for x, v in zip(series["x"], values, strict=False):
                found[(panel["title"], series["label"], float(x))] = v
    return found


def _compare(plotted: dict[tuple, float | None], expected: dict[tuple, float | None]) -> None:
    assert expected, "the reference query returned no rows: the test data should have them"
    assert sorted(plotted) == sorted(expected), (sorted(set(plotted) ^ set(expected)))[:10]
    wrong = [(key, plotted[key], expected[key]) for key in expected if not _close(plotted[key], expected[key])]
    assert not wrong, wrong[:10]


def _query(warehouse: Path, sql: str, params: list[Any]) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _choice(data: dict[str, Any]) -> dict[str, Any]:
    return data["choice"]


def _size_label(size: int) -> str:
    return f"2^{round(math.log2(size))}"


def test_learning_curves_match_the_marts(figures_dir: Path, warehouse: Path) -> None:
    _check_learning_curves(figures_dir, warehouse)


def test_quartile_band_where_published(
    built_warehouse: Callable[[str], DbtResult], tmp_path: Path,
) -> None:
    """The framework spelling publishes q1/q3 summary arrays: figure 1 draws them as a band, with a
    gap where a point has none (here epoch 2 of every curve, removed from this copy)."""
    warehouse = tmp_path / "framework" / "butter.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(built_warehouse("framework").db_path, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.experiment_learning_curves set test_loss_q1 = null, test_loss_q3 = null "
                    "where epoch = 2")
    proc = _cli(["--out", str(tmp_path / "out")], warehouse)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _check_learning_curves(tmp_path / "out", warehouse), "no q1-q3 band although quartiles are published"
    assert "band: q1-q3" in (tmp_path / "out" / "learning_curves.svg").read_text()
    gaps = {x for s in _sidecar(tmp_path / "out", "learning_curves")["panels"][0]["series"]
            for x, low in zip(s["x"], s["band_low"], strict=True) if low is None}
    assert gaps == {2.0}, gaps


def test_quartile_band_on_the_current_layout(current_figures: Path, current_warehouse: Path) -> None:
    """The current release's summaries publish q1/q3 too: every line with quartiles has its band."""
    assert _check_learning_curves(current_figures, current_warehouse), "no q1-q3 band on the current layout"


def test_a_point_without_quartiles_is_a_gap_in_the_band() -> None:
    """A band with a missing point is drawn around it, not dropped for the whole line."""
    from butter_warehouse.figures import drawing
    from butter_warehouse.figures.model import Figure, Panel, Series

    series = Series(label="2^8", x=[1.0, 2.0, 3.0, 4.0], y=[1.0, 0.8, 0.7, 0.6],
                    band_low=[0.9, None, 0.6, 0.5], band_high=[1.1, None, 0.8, 0.7], n=[1, 1, 1, 1])
    panel = Panel(title="t", xlabel="epoch", ylabel="loss", xscale="linear", yscale="linear",
                  legend_title="size", series=[series])
    fig = drawing.draw(Figure("learning_curves", "t", [panel], {}))
    bands = [c for c in fig.axes[0].collections if c.get_paths()]
    assert len(bands) == 1
    # the band's outline covers epochs 1 and 3-4, not 2 (where there is no q1/q3)
    xs = sorted({round(float(x), 6) for path in bands[0].get_paths() for x in np.asarray(path.vertices)[:, 0]})
    assert 1.0 in xs and 3.0 in xs and 4.0 in xs and 2.0 not in xs, xs


def _check_learning_curves(out: Path, warehouse: Path) -> bool:
    """Figure 1's points (and band, if drawn) equal the marts'; whether a band was drawn."""
    data = _sidecar(out, "learning_curves")
    choice = _choice(data)
    rows = _query(warehouse, """
        with curves as (
            select e.size, lc.epoch, lc.test_loss_median, lc.test_loss_q1, lc.test_loss_q3
            from marts.experiment_summary as e, marts.experiment_learning_curves as lc
            where lc.experiment_id = e.experiment_id and e.is_primary_sweep
              and e.dataset = ? and e.shape = ? and e.depth = ?
        )
        select size, epoch, quantile_cont(test_loss_median, 0.5), quantile_cont(test_loss_q1, 0.5),
               quantile_cont(test_loss_q3, 0.5)
        from curves where test_loss_median is not null group by size, epoch
    """, [choice["dataset"], choice["shape"], choice["depth"]])
    title = data["panels"][0]["title"]
    _compare(_points(data), {(title, _size_label(r[0]), float(r[1])): r[2] for r in rows})
    # a line has a band where its quartiles are published (a point without them is a gap);
    # a line without any published quartile has none
    expected = {"band_low": {(title, _size_label(r[0]), float(r[1])): r[3] for r in rows},
                "band_high": {(title, _size_label(r[0]), float(r[1])): r[4] for r in rows}}
    has_band = False
    for series in data["panels"][0]["series"]:
        keys = [(title, series["label"], float(x)) for x in series["x"]]
        if not any(expected["band_low"][k] is not None and expected["band_high"][k] is not None for k in keys):
            assert series["band_low"] is None and series["band_high"] is None, series["label"]
            continue
        has_band = True
        for field, values in expected.items():
            wrong = [(k, v, values[k]) for k, v in zip(keys, series[field], strict=True) if not _close(v, values[k])]
            assert not wrong, (series["label"], field, wrong[:5])
    return has_band


def test_double_descent_matches_the_marts(figures_dir: Path, warehouse: Path) -> None:
    data = _sidecar(figures_dir, "double_descent")
    choice = _choice(data)
    rows = _query(warehouse, """
        select e.size, lc.epoch, quantile_cont(lc.test_loss_median, 0.5)
        from marts.experiment_learning_curves as lc
        join marts.experiment_summary as e on lc.experiment_id = e.experiment_id
        where e.is_primary_sweep and e.dataset = ? and e.shape = ? and e.depth = ? and lc.test_loss_median is not null
        group by 1, 2
    """, [choice["dataset"], choice["shape"], choice["depth"]])
    title = data["panels"][0]["title"]
    _compare(_points(data), {(title, str(r[0]), float(r[1])): r[2] for r in rows})
    sizes = [int(s["label"]) for s in data["panels"][0]["series"]]
    assert sizes == sorted(sizes) and len(sizes) == len({r[0] for r in rows})


def test_loss_vs_parameters_matches_the_marts(figures_dir: Path, warehouse: Path) -> None:
    data = _sidecar(figures_dir, "loss_vs_parameters")
    rows = _query(warehouse, """
        select dataset, depth, num_free_parameters, quantile_cont(median_curve_best_test_loss, 0.5)
        from marts.experiment_summary
        where is_primary_sweep and shape = ?
        group by 1, 2, 3
        having count(median_curve_best_test_loss) > 0
    """, [_choice(data)["shape"]])
    assert [p["title"] for p in data["panels"]] == sorted({r[0] for r in rows})
    _compare(_points(data), {(r[0], str(r[1]), float(r[2])): r[3] for r in rows})


def test_learning_rate_sweep_matches_the_marts(figures_dir: Path, warehouse: Path) -> None:
    data = _sidecar(figures_dir, "learning_rate_sweep")
    rows = _query(warehouse, """
        select shape, learning_rate, quantile_cont(median_curve_best_test_loss, 0.5)
        from marts.sweep_comparisons
        where sweep = 'learning_rate' and group_is_complete and dataset = ?
        group by 1, 2
    """, [_choice(data)["dataset"]])
    title = data["panels"][0]["title"]
    _compare(_points(data), {(title, r[0], float(r[1])): r[2] for r in rows})


def test_label_noise_matches_the_marts(figures_dir: Path, warehouse: Path) -> None:
    data = _sidecar(figures_dir, "label_noise")
    choice = _choice(data)
    rows = _query(warehouse, """
        select learning_rate, label_noise,
               quantile_cont(median_curve_best_test_loss, 0.5),
               quantile_cont(median_curve_best_test_loss_epoch, 0.5) filter (where median_curve_best_test_loss is not null)
        from marts.experiment_summary
        where is_label_noise_sweep and dataset = ? and shape = ?
        group by 1, 2
        having count(median_curve_best_test_loss) > 0
    """, [choice["dataset"], choice["shape"]])
    loss, epoch = data["panels"]
    _compare(_points({"panels": [loss]}), {(loss["title"], f"{r[0]:g}", float(r[1])): r[2] for r in rows})
    _compare(_points({"panels": [epoch]}), {(epoch["title"], f"{r[0]:g}", float(r[1])): r[3] for r in rows})


def test_optimizer_sweep_matches_the_marts(current_figures: Path, current_warehouse: Path) -> None:
    """Figure 7 on the current release's layout: one line per optimizer (with its momentum), its
    points the median over complete comparison groups, as the saved query optimizer_sweep."""
    data = _sidecar(current_figures, "optimizer_sweep")
    rows = _query(current_warehouse, """
        select swept_value, learning_rate, quantile_cont(median_curve_best_test_loss, 0.5)
        from marts.sweep_comparisons
        where sweep = 'optimizer' and group_is_complete and dataset = ?
        group by 1, 2
    """, [_choice(data)["dataset"]])
    title = data["panels"][0]["title"]
    _compare(_points(data), {(title, r[0], float(r[1])): r[2] for r in rows})
    optimizers = _query(current_warehouse, """
        select distinct swept_value from marts.sweep_comparisons where sweep = 'optimizer' and group_is_complete
    """, [])
    # every optimizer of the sweep is a line, adam (the core) among them
    assert sorted(s["label"] for s in data["panels"][0]["series"]) == sorted(r[0] for r in optimizers)
    assert "adam" in {r[0] for r in optimizers} and len(optimizers) >= 3, optimizers
    svg = (current_figures / "optimizer_sweep.svg").read_text()
    for series in data["panels"][0]["series"]:
        assert _svg_escape(series["label"]) in svg, series["label"]


def test_regularization_matches_the_marts(figures_dir: Path, warehouse: Path) -> None:
    data = _sidecar(figures_dir, "regularization")
    choice = _choice(data)
    params = [choice["dataset"], choice["shape"]]
    complete = """
        with complete as (  -- groups holding every swept value of the sweep with a loss, from the definition
            select comparison_group_id from marts.sweep_comparisons where sweep = 'regularization'
            group by 1
            having count(distinct swept_value) filter (where median_curve_best_test_loss is not null)
                = (select count(distinct swept_value) from marts.sweep_comparisons where sweep = 'regularization')
        )
    """
    rows = _query(warehouse, complete + """
        select upper(kernel_regularizer_type),
               if(kernel_regularizer_type = 'l1', kernel_regularizer_l1, kernel_regularizer_l2) as penalty,
               quantile_cont(median_curve_best_test_loss, 0.5), quantile_cont(delta_vs_core, 0.5)
        from marts.sweep_comparisons
        where sweep = 'regularization' and dataset = ? and shape = ? and is_core_value = false
          and comparison_group_id in (select comparison_group_id from complete)
          and kernel_regularizer_type in ('l1', 'l2') and median_curve_best_test_loss is not null
        group by 1, 2
        having penalty is not null
    """, params)
    core, core_n = _query(warehouse, complete + """
        select quantile_cont(median_curve_best_test_loss, 0.5), count(median_curve_best_test_loss)
        from marts.sweep_comparisons
        where sweep = 'regularization' and dataset = ? and shape = ? and is_core_value
          and comparison_group_id in (select comparison_group_id from complete)
    """, params)[0]
    loss, delta = data["panels"]
    assert core is not None and _close(loss["reference"], core) and loss["reference_n"] == core_n
    _compare(_points({"panels": [loss]}), {(loss["title"], r[0], float(r[1])): r[2] for r in rows})
    _compare(_points({"panels": [delta]}),
             {(delta["title"], r[0], float(r[1])): r[3] for r in rows if r[3] is not None})


# --- determinism, options, absent data -------------------------------------------------------


def test_output_is_deterministic(figures_dir: Path, warehouse: Path, tmp_path: Path) -> None:
    from butter_warehouse import figures

    figures.render(warehouse, tmp_path, log=lambda line: None, project_root=PROJECT_ROOT)
    for name in FIGURES:
        for suffix in ("png", "svg", "json"):
            assert (tmp_path / f"{name}.{suffix}").read_bytes() == (figures_dir / f"{name}.{suffix}").read_bytes(), (
                name, suffix)


def test_options_choose_the_slice(warehouse: Path, tmp_path: Path) -> None:
    from butter_warehouse import figures

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        other = con.execute("""
            select dataset, shape, depth from marts.experiment_summary where is_primary_sweep
            group by all order by count(*), dataset desc, shape desc, depth desc limit 1
        """).fetchall()[0]
    finally:
        con.close()
    status = figures.render(warehouse, tmp_path, dataset=other[0], shape=other[1], depth=int(other[2]),
                            log=lambda line: None, project_root=PROJECT_ROOT)
    assert status["learning_curves"] == "written", status
    assert _sidecar(tmp_path, "learning_curves")["choice"] == {"dataset": other[0], "shape": other[1],
                                                                "depth": int(other[2])}


def test_absent_data_is_skipped_with_a_reason(warehouse: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial" / "butter.duckdb"
    partial.parent.mkdir()
    shutil.copy(warehouse, partial)
    con = duckdb.connect(str(partial))
    try:  # a warehouse built without the learning-rate sweep and without learning curves
        con.execute("delete from marts.sweep_comparisons where sweep = 'learning_rate'")
        con.execute("drop table marts.experiment_learning_curves")
        con.execute("checkpoint")
    finally:
        con.close()
    out = tmp_path / "out"
    out.mkdir()
    (out / "learning_rate_sweep.png").write_bytes(b"stale")  # left over from an earlier build
    proc = _cli(["--out", str(out)], partial)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name in ("learning_curves", "double_descent", "learning_rate_sweep"):
        reason = [line for line in lines if line.startswith(f"skipped {name}: ")]
        assert len(reason) == 1, (name, proc.stdout)
        # in its place a small image saying why (no broken image on the docs overview), the stale one gone
        assert 100 < (out / f"{name}.png").stat().st_size < 100_000, name
        assert "not drawn" in (out / f"{name}.svg").read_text(), name
        assert _sidecar(out, name) == {"figure": name, "skipped": reason[0].split(": ", 1)[1],
                                       "synthetic_demo_data": True}, name
    assert "learning_rate sweep is not in the warehouse" in proc.stdout
    assert "experiment_learning_curves is not in the warehouse" in proc.stdout
    for name in ("loss_vs_parameters", "label_noise", "regularization"):
        assert (out / f"{name}.png").stat().st_size > 5_000, name


def test_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    proc = _cli(["--out", str(tmp_path / "out")], tmp_path / "nowhere.duckdb")
    assert proc.returncode == 1
    assert "no published warehouse at" in proc.stdout and "nowhere.duckdb" in proc.stdout


def test_make_build_draws_the_figures() -> None:
    # what `make build` would run (make's dry run: nothing is executed)
    build = subprocess.run(["make", "-n", "--no-print-directory", "build"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True)
    commands = [line for line in build.stdout.splitlines() if not line.startswith("make")]  # under `make test` too
    assert [c.rsplit("/", 1)[-1] for c in commands[-2:]] == ["butter build", "butter figures"], commands
    overview = (PROJECT_ROOT / "models" / "_docs.md").read_text().split("{% enddocs %}", 1)[0]
    for name in FIGURES:
        assert f"assets/figures/{name}.png" in overview, name


@pytest.mark.parametrize(("kind", "message"), [
    ("csv", "butter figures: {path} is not a DuckDB file: point BUTTER_DUCKDB_PATH / --warehouse at the warehouse "
            "`butter build` wrote; no figure was changed"),
    ("no_marts", "butter figures: {path} is a DuckDB file without the marts schema, not a BUTTER warehouse"),
    ("no_summary", "butter figures: {path} has no marts.experiment_summary, which every figure starts from"),
])
def test_not_a_warehouse_leaves_the_figures_untouched(tmp_path: Path, kind: str, message: str) -> None:
    path = tmp_path / "thing.duckdb"
    if kind == "csv":
        path.write_text("a,b\n1,2\n")
    else:
        with duckdb.connect(str(path)) as con:
            con.execute("create schema marts" if kind == "no_summary" else "select 1")
            con.execute(f"create table {'marts.' if kind == 'no_summary' else ''}sweep_comparisons as select 1 as x")
    out = tmp_path / "figures"
    out.mkdir()
    (out / "learning_curves.png").write_bytes(b"a good figure")
    proc = _cli(["--out", str(out)], path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith(message.format(path=path)) and proc.stdout.count("\n") == 1, proc.stdout
    assert "Traceback" not in proc.stderr
    assert [p.name for p in out.iterdir()] == ["learning_curves.png"]
    assert (out / "learning_curves.png").read_bytes() == b"a good figure"


# --- default slices: each figure where its sweep has the most experiments ----------------------

#: figure -> the experiments its sweep has, one row per experiment with the slice's columns
SWEEP_ROWS = {
    "learning_curves": ("""select distinct e.dataset, e.shape, e.depth, e.experiment_id from marts.experiment_summary as e
                           join marts.experiment_learning_curves as c on e.experiment_id = c.experiment_id
                           where e.is_primary_sweep and c.test_loss_median is not null""", ("dataset", "shape", "depth")),
    "loss_vs_parameters": ("""select shape from marts.experiment_summary
                              where is_primary_sweep and median_curve_best_test_loss is not null""", ("shape",)),
    "learning_rate_sweep": ("""select dataset from marts.sweep_comparisons
                               where sweep = 'learning_rate' and group_is_complete""", ("dataset",)),
    "label_noise": ("""select dataset, shape from marts.experiment_summary
                       where is_label_noise_sweep and median_curve_best_test_loss is not null""", ("dataset", "shape")),
    "regularization": ("""select dataset, shape from marts.sweep_comparisons
                          where sweep = 'regularization' and group_is_complete and not is_core_value
                          and kernel_regularizer_type in ('l1', 'l2')
                          and median_curve_best_test_loss is not null""", ("dataset", "shape")),
    "optimizer_sweep": ("""select dataset from marts.sweep_comparisons
                           where sweep = 'optimizer' and group_is_complete""", ("dataset",)),
}


def _check_default_slices(out: Path, warehouse: Path) -> None:
    for name, (sql, keys) in SWEEP_ROWS.items():
        if "skipped" in _sidecar(out, name):  # a sweep its layout does not publish (the optimizer's)
            assert name == "optimizer_sweep", _sidecar(out, name)
            continue
        choice = _sidecar(out, name)["choice"]
        counts = {row[:-1]: row[-1] for row in _query(
            warehouse, f"select {', '.join(keys)}, count(*) from ({sql}) group by all", [])}
        chosen = tuple(choice[k] for k in keys)
        assert counts.get(chosen) == max(counts.values()), (name, chosen, counts)


def test_each_figure_defaults_to_where_its_sweep_has_the_most_experiments(figures_dir: Path, warehouse: Path) -> None:
    _check_default_slices(figures_dir, warehouse)


def test_the_optimizer_figure_defaults_to_where_its_sweep_has_the_most_experiments(
    current_figures: Path, current_warehouse: Path,
) -> None:
    assert "skipped" not in _sidecar(current_figures, "optimizer_sweep")
    _check_default_slices(current_figures, current_warehouse)


def test_double_descent_default_shows_it(figures_dir: Path, warehouse: Path) -> None:
    """The demo holds an experiment whose median curve falls, rises and falls again: the
    default heat map is a slice holding one, found by the analysis rule on the curves."""
    from butter_warehouse import figures

    data = _sidecar(figures_dir, "double_descent")
    found = _query(warehouse, figures.DoubleDescentRule.of_project(PROJECT_ROOT).sql(), [])
    assert found, "the demo should hold an epoch-wise double descent"
    here = [r for r in found if (r[0], r[1], r[2]) == tuple(data["choice"][k] for k in ("dataset", "shape", "depth"))]
    assert here, (data["choice"], found)
    assert f"{len(here)} experiment" in data["panels"][0]["title"]


def test_an_option_a_figure_does_not_use_is_said_so(warehouse: Path, tmp_path: Path) -> None:
    depth = _query(warehouse, "select depth from marts.experiment_summary where is_primary_sweep "
                              "group by 1 order by count(*) desc, depth limit 1", [])[0][0]
    proc = _cli(["--out", str(tmp_path), "--depth", str(depth)], warehouse)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = json.loads((tmp_path / "figures.json").read_text())
    for name in ("loss_vs_parameters", "learning_rate_sweep", "label_noise", "regularization"):
        note = f"--depth does not apply to {name}"
        assert status[name].startswith("written; ") and note in status[name], status[name]
        assert any(line.startswith(f"wrote {name} ") and note in line for line in proc.stdout.splitlines()), proc.stdout
    for name in ("learning_curves", "double_descent"):
        assert status[name] == "written" and _sidecar(tmp_path, name)["choice"]["depth"] == depth, status[name]


def test_every_figure_where_the_primary_sweep_is_largest_outside_the_other_sweeps(
    warehouse: Path, tmp_path: Path,
) -> None:
    """Data holding every sweep whose most common primary-sweep slice is in no other sweep
    (as the real data's is): every figure still finds its own slice, all the layout's sweeps are drawn."""
    crowded = tmp_path / "crowded.duckdb"
    shutil.copy(warehouse, crowded)
    con = duckdb.connect(str(crowded))
    try:  # the primary sweep's experiments again, as a (dataset, shape, depth) no other sweep has
        top = con.execute("select max(experiment_id) from marts.experiment_summary").fetchall()[0][0]
        con.execute("""
            create temp table extra as
            select experiment_id, experiment_id + ? as new_id from marts.experiment_summary where is_primary_sweep
        """, [top])
        for _ in range(3):  # several copies per slice, so this slice outnumbers every other one
            con.execute("""
                insert into marts.experiment_summary by name
                select s.* replace (x.new_id as experiment_id, 'crowded_dataset' as dataset,
                                  'crowded_shape' as shape, 99 as depth)
                from marts.experiment_summary as s join extra as x on s.experiment_id = x.experiment_id
            """)
            con.execute("""
                insert into marts.experiment_learning_curves by name
                select c.* replace (x.new_id as experiment_id)
                from marts.experiment_learning_curves as c join extra as x on c.experiment_id = x.experiment_id
            """)
            con.execute("update extra set new_id = new_id + ?", [top])
        con.execute("checkpoint")
        primary_top = con.execute("""select dataset from marts.experiment_summary where is_primary_sweep
                                     group by 1 order by count(*) desc limit 1""").fetchall()[0][0]
    finally:
        con.close()
    assert primary_top == "crowded_dataset"
    out = tmp_path / "out"
    proc = _cli(["--out", str(out)], crowded)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = json.loads((out / "figures.json").read_text())
    assert status == {**{name: "written" for name in TEMPLATE_FIGURES}, "optimizer_sweep": status["optimizer_sweep"]}
    _check_no_optimizer_sweep(out, status)
    assert _sidecar(out, "learning_curves")["choice"]["dataset"] == "crowded_dataset"
    for name in ("learning_rate_sweep", "label_noise", "regularization"):
        assert _sidecar(out, name)["choice"]["dataset"] != "crowded_dataset", name
    _check_default_slices(out, crowded)
