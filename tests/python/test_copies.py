"""The fault matrix, part 5 (issue 17): runs that disagree on hyperparameters, copies whose arrays differ.

One ``butter build`` of a copy of small demo data with three faults:

======================================  ===============================================================
fault                                   outcome asserted
======================================  ===============================================================
one run of an experiment moved to       `experiment_runs_disagree` naming a file of each side; the
another dataset= folder, both ways      experiment keeps its summary's dataset, the moved run is left
(A -> B and B -> A)                     out of experiment_best_epochs / runs_found, run_best_epochs
                                        shows it as its file says
val_loss changed in one sweep copy      `run_copies_disagree` ... "differ in per-epoch arrays", the file
                                        read and the differing file named; the all_runs copy published,
                                        the sweep copy quarantined in load_audit
one run trained with another            `experiment_runs_disagree` (issue 29: every column that defines
activation / other widths (every copy)  an experiment is compared, not only butter_hyperparameters); the
                                        run is not aggregated into its experiment
q1/q3 arrays added to one file of       issue 29: its experiments are read from that copy (the one with
primary_sweep_summary (the folder       the quartiles), not from complete_summary's first-ranked copy
read first, complete_summary, has none) without them; the folder's other experiments keep complete_summary
======================================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_reliability import butter, butter_env, copy_demo, output

pytestmark = [pytest.mark.slow]

SIZES = {"experiments": 20, "runs_per_experiment": 2, "epochs": 10}


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def dataset_of(path: Path) -> str:
    return next(p.split("=", 1)[1] for p in path.parts if p.startswith("dataset="))


def move_one_run(root: Path, source: Path, run_id: str, dataset: str) -> Path:
    """Move one run of ``source`` into the same partition under ``dataset=<dataset>``."""
    table = pq.read_table(source, partitioning=None)
    moved = pc.equal(table["run_id"], run_id)
    target = Path(*[f"dataset={dataset}" if p.startswith("dataset=") else p for p in source.parts])
    target = target.with_name("part-moved.parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.filter(moved), target)
    pq.write_table(table.filter(pc.invert(moved)), source)
    return target


def change_val_loss(path: Path, run_id: str) -> None:
    table = pq.read_table(path, partitioning=None)
    field = table.schema.field("val_loss")
    values = [[x * 2 + 1 for x in v] if r == run_id else v
              for r, v in zip(table["run_id"].to_pylist(), table["val_loss"].to_pylist(), strict=True)]
    pq.write_table(table.set_column(table.schema.get_field_index("val_loss"), field, pa.array(values, field.type)),
                   path)


def set_column(root: Path, run_id: str, column: str, value: object) -> Path:
    """Give one run another ``column`` value in every copy of it (every runs folder); its all_runs file."""
    found = None
    for path in sorted(root.glob("*_runs/**/*.parquet")):
        table = pq.read_table(path, partitioning=None)
        if run_id not in table["run_id"].to_pylist():
            continue
        field = table.schema.field(column)
        values = [value if r == run_id else v
                  for r, v in zip(table["run_id"].to_pylist(), table[column].to_pylist(), strict=True)]
        pq.write_table(table.set_column(table.schema.get_field_index(column), field, pa.array(values, field.type)),
                       path)
        found = path if path.parts[len(root.parts)] == "all_runs" else found
    assert found is not None
    return found


def pick_runs(root: Path) -> tuple[list[tuple[Path, str, int, str]], tuple[Path, str, Path]]:
    """Two experiments in different datasets (each with a run file of >= 2 of its runs), and a run
    held in all_runs and in primary_sweep_runs."""
    con = duckdb.connect()
    rows = con.execute(
        f"select filename, experiment_id, list(run_id order by run_id) from "
        f"read_parquet('{root}/all_runs/**/*.parquet', filename=true, hive_partitioning=false) "
        "group by all having count(*) >= 2 order by filename").fetchall()
    chosen: dict[str, tuple[Path, str, int]] = {}
    for filename, experiment_id, runs in rows:
        chosen.setdefault(dataset_of(Path(filename)), (Path(filename), runs[0], experiment_id))
    (a, first), (b, second) = sorted(chosen.items())[:2]
    moves = [(first[0], first[1], first[2], b), (second[0], second[1], second[2], a)]
    moved_ids = {first[1], second[1]}
    sweep = con.execute(
        f"select s.filename, s.run_id, a.filename from "
        f"read_parquet('{root}/primary_sweep_runs/**/*.parquet', filename=true, hive_partitioning=false) as s "
        f"join read_parquet('{root}/all_runs/**/*.parquet', filename=true, hive_partitioning=false) as a "
        "using (run_id) order by s.run_id").fetchall()
    copy = next((Path(s), r, Path(a)) for s, r, a in sweep if r not in moved_ids and Path(a) not in
                {first[0], second[0]})
    return moves, copy


def add_quartiles(root: Path) -> Path:
    """Give one primary_sweep_summary file the q1/q3 arrays the published spelling lacks (framework
    names, values beside each median); the file's path."""
    from butter_warehouse import contract

    path = sorted((root / "primary_sweep_summary").rglob("*.parquet"))[0]
    table = pq.read_table(path, partitioning=None)
    columns = {col.name: col for col in contract.columns("summary")}
    for name, col in columns.items():
        if name.endswith(("_q1", "_q3")) and col.sql_type == "float[]" and col.published is None and col.framework:
            median = table[columns[name[:-3] + "_median"].published or name[:-3] + "_median"]
            factor = 0.9 if name.endswith("_q1") else 1.1
            values = [None if arr is None else [None if x is None else x * factor for x in arr]
                      for arr in median.to_pylist()]
            table = table.append_column(col.framework, pa.array(values, median.type))
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def faulted(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    work = tmp_path_factory.mktemp("copies")
    root = copy_demo(demo_root("published", **SIZES), work / "data")
    moves, (sweep_file, changed_run, all_runs_file) = pick_runs(root)
    facts: dict = {"moves": [], "changed": (sweep_file, changed_run, all_runs_file)}
    for source, run_id, experiment_id, dataset in moves:
        target = move_one_run(root, source, run_id, dataset)
        facts["moves"].append((source, target, run_id, experiment_id, dataset_of(source), dataset))
    change_val_loss(sweep_file, changed_run)
    taken = {m[2] for m in facts["moves"]} | {changed_run}
    taken_experiments = {m[3] for m in facts["moves"]}
    con = duckdb.connect()
    candidates = [(e, min(runs), widths) for e, runs, widths in con.execute(
        f"select experiment_id, list(run_id), any_value(widths) from read_parquet('{root}/all_runs/**/*.parquet', "
        "hive_partitioning=false) group by experiment_id having count(*) >= 2 order by experiment_id").fetchall()
        if e not in taken_experiments and not taken & set(runs)]
    facts["redefined"] = []
    for column, experiment_id, run_id, widths in [
            ("activation", *candidates[0]), ("widths", *candidates[1])]:
        value = "selu" if column == "activation" else [w + 1 for w in widths]
        facts["redefined"].append((column, experiment_id, run_id, set_column(root, run_id, column, value)))
    facts["quartiles_file"] = add_quartiles(root)
    warehouse = work / "wh" / "butter.duckdb"
    proc = butter("build", "--skip-docs", env=butter_env(root, warehouse, work), timeout=900)
    assert proc.returncode == 0, output(proc)[-5000:]
    return facts, warehouse, output(proc)


@pytest.mark.timeout(900)
def test_runs_disagreeing_on_hyperparameters_are_reported_both_ways(faulted: tuple[dict, Path, str]) -> None:
    facts, db, _ = faulted
    assert len(facts["moves"]) == 2
    for source, target, run_id, experiment_id, original, moved_to in facts["moves"]:
        found = query(db, "select detail from audit.source_reconciliation "
                          f"where difference = 'experiment_runs_disagree' and experiment_id = {experiment_id}")
        assert found == [(
            f"the runs differ in hyperparameters: 1 run(s) as in all_runs: {source} (the experiment's: aggregated); "
            f"1 run(s) as in all_runs: {target} (not aggregated into the experiment's marts)",
        )], (found, original, moved_to)
        # the experiment keeps its summary's dataset; the moved run is shown as its file says, not aggregated
        assert query(db, f"select dataset, runs_found from marts.experiment_summary "
                         f"where experiment_id = {experiment_id}") == [(original, 1)]
        assert query(db, f"select dataset, runs_found from marts.experiment_best_epochs "
                         f"where experiment_id = {experiment_id}") == [(original, 1)]
        assert query(db, f"select dataset from marts.run_best_epochs where run_id = '{run_id}'") == [(moved_to,)]
        assert query(db, "select count(distinct dataset) from marts.experiment_best_epochs "
                         f"where experiment_id = {experiment_id}") == [(1,)]


@pytest.mark.timeout(900)
def test_copies_whose_arrays_differ_are_reported_and_the_rule_picks_one(faulted: tuple[dict, Path, str]) -> None:
    facts, db, _ = faulted
    sweep_file, run_id, all_runs_file = facts["changed"]
    assert query(db, "select detail from audit.source_reconciliation "
                     f"where difference = 'run_copies_disagree' and entity_id = '{run_id}'") == [(
        f"copies in all_runs, primary_sweep_runs differ in per-epoch arrays; read from all_runs: {all_runs_file}, "
        f"differing: primary_sweep_runs: {sweep_file}",
    )]
    row = query(db, "select rows_quarantined, quarantine_reasons from audit.load_audit "
                    "where source_folder = 'primary_sweep_runs'")[0]
    assert row[0] >= 1 and "differs from the copy read from all_runs, which is published instead" in row[1], row
    # the all_runs copy (the dedup rule) is the one published
    published = query(db, f"select best_test_loss from marts.run_best_epochs where run_id = '{run_id}'")[0][0]
    on_disk = pq.read_table(all_runs_file, partitioning=None).to_pylist()
    original = next(r["val_loss"] for r in on_disk if r["run_id"] == run_id)
    finite = [x for x in original if x == x and abs(x) != float("inf")]
    assert published == pytest.approx(min(finite), rel=1e-6)


@pytest.mark.timeout(900)
def test_runs_differing_in_any_column_that_defines_the_experiment_are_reported(
        faulted: tuple[dict, Path, str]) -> None:
    facts, db, _ = faulted
    assert [column for column, *_ in facts["redefined"]] == ["activation", "widths"]
    for _column, experiment_id, run_id, path in facts["redefined"]:
        found = query(db, "select detail from audit.source_reconciliation "
                          f"where difference = 'experiment_runs_disagree' and experiment_id = {experiment_id}")
        assert found == [(
            f"the runs differ in hyperparameters: 1 run(s) as in all_runs: {path} (the experiment's: aggregated); "
            f"1 run(s) as in all_runs: {path} (not aggregated into the experiment's marts)",
        )], found
        assert query(db, f"select runs_found from marts.experiment_summary where experiment_id = {experiment_id}") \
            == [(1,)]
        assert query(db, f"select count(*) from marts.run_best_epochs where run_id = '{run_id}'") == [(1,)]


@pytest.mark.timeout(900)
def test_the_copy_holding_the_quartiles_is_read(faulted: tuple[dict, Path, str]) -> None:
    """Copies that agree: the one holding the q1/q3 arrays is read, whatever the folder order."""
    facts, db, _ = faulted
    path = facts["quartiles_file"]
    table = pq.read_table(path, partitioning=None)
    with_quartiles = {e: q1 for e, q1 in zip(table["experiment_id"].to_pylist(), table["test_loss_q1"].to_pylist(),
                                             strict=True)}
    assert with_quartiles
    located = dict(query(db, "select experiment_id, read_from_folder from intermediate.int_experiments_located "
                             "where source_folders like '%primary_sweep_summary%'"))
    assert {e: located[e] for e in with_quartiles} == {e: "primary_sweep_summary" for e in with_quartiles}
    others = {e for e in located if e not in with_quartiles}
    assert others and {located[e] for e in others} == {"complete_summary"}
    read = dict(query(db, "select experiment_id, test_loss_q1 from intermediate.int_experiments_deduplicated "
                          f"where experiment_id in ({', '.join(str(e) for e in with_quartiles)})"))
    for experiment_id, q1 in with_quartiles.items():
        assert read[experiment_id] == pytest.approx(q1, rel=1e-6), experiment_id
    # not a disagreement: the quartiles are compared only where every folder stores them
    assert query(db, "select count(*) from audit.source_reconciliation where difference = 'experiment_copies_disagree' "
                     f"and detail like '%{path}%'") == [(0,)]
