"""Tests of the demo-data generator: layout, schema, determinism, aggregates, traps, sweeps.

Everything is read back from disk with pyarrow and checked against the contract
(contract.py) or recomputed independently with numpy.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from butter_warehouse import contract
from butter_warehouse.demo import MANIFEST_NAME, catalog, design, generate, writer
from butter_warehouse.demo.generator import LAYOUT_SPELLINGS

import reference as ref
from conftest import TEST_EPOCHS

REPO = Path(__file__).resolve().parents[2]
EPOCHS = TEST_EPOCHS
RUNS = 3
#: canonical names of the 20 per-epoch run arrays
RUN_ARRAYS = [c.name for c in contract.columns("runs") if c.arrow == pa.list_(pa.float32())]
#: the template layout's folders and sweeps (the ``demo`` fixture's data)
TEMPLATE_FOLDERS = contract.LAYOUT_FOLDERS["template"]
TEMPLATE_RUN_FOLDERS = tuple(f for f in TEMPLATE_FOLDERS if contract.folder_kind(f) == "runs")
TEMPLATE_SUMMARY_FOLDERS = tuple(f for f in TEMPLATE_FOLDERS if contract.folder_kind(f) == "summary")
TEMPLATE_SWEEPS = contract.LAYOUT_SWEEPS["template"]


# --- fixtures and readers ---------------------------------------------------------------


@pytest.fixture(scope="module", params=LAYOUT_SPELLINGS["template"])
def demo(request, demo_root) -> tuple[Path, str, dict]:
    """A default-size demo dataset of the template layout in each of its spellings: (root, spelling,
    manifest), the one the other tests build (conftest's ``demo_root``, generated once per test run)."""
    spelling = request.param
    root = demo_root(spelling, runs_per_experiment=RUNS, epochs=EPOCHS, seed=0)
    return root, spelling, json.loads((root / MANIFEST_NAME).read_text())


def data_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def partition_values(path: Path, folder: Path) -> list[tuple[str, str]]:
    """(name, text) pairs of a data file's partition directories."""
    parts = path.relative_to(folder).parts[:-1]
    pairs = []
    for part in parts:
        name, text = part.split("=", 1)
        pairs.append((name, text))
    return pairs


def read_folder(root: Path, folder: str, spelling: contract.Spelling) -> pa.Table:
    """A whole folder with its partition columns cast from the path text, in contract order."""
    schema = contract.arrow_schema(contract.folder_kind(folder), spelling, folder)
    tables = []
    for path in data_files(root / folder):
        table = pq.read_table(path)
        for name, text in partition_values(path, root / folder):
            type_ = schema.field(name).type
            value = None if text == contract.HIVE_NULL else pa.scalar(text).cast(type_)
            table = table.append_column(pa.field(name, type_), pa.array([value] * table.num_rows, type=type_))
        tables.append(table.select(schema.names))
    return pa.concat_tables(tables) if tables else schema.empty_table()


def stored(name: str, kind: contract.Kind, spelling: contract.Spelling) -> str:
    """The stored column name of a canonical column."""
    return next(c.stored_name(spelling) for c in contract.columns(kind) if c.name == name)


def rows(table: pa.Table, kind: contract.Kind, spelling: contract.Spelling) -> list[dict]:
    """Rows keyed by canonical names."""
    canonical = {c.source_name(spelling): c.name for c in contract.columns(kind)}
    return [{canonical[k]: v for k, v in row.items()} for row in table.to_pylist()]


@pytest.fixture(scope="module")
def loaded(demo) -> dict:
    """Runs and summaries of the demo, as canonical-name rows, by folder."""
    root, spelling, manifest = demo
    data = {folder: rows(read_folder(root, folder, spelling), contract.folder_kind(folder), spelling)
            for folder in TEMPLATE_FOLDERS}
    return {"root": root, "spelling": spelling, "manifest": manifest, **data}


def experiments_of(loaded: dict) -> dict[int, dict]:
    """Every experiment's shared values, from summaries and runs."""
    shared = {c.name for c in contract.SHARED_COLUMNS}
    found: dict[int, dict] = {}
    for row in loaded["all_runs"] + loaded["complete_summary"]:
        found.setdefault(row["experiment_id"], {k: v for k, v in row.items() if k in shared})
    return found


def runs_by_experiment(run_rows: list[dict]) -> dict[int, list[dict]]:
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in run_rows:
        grouped[row["experiment_id"]].append(row)
    return grouped


def same(a: dict, b: dict) -> bool:
    """Row equality that treats NaN as equal to NaN."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def f32(value: float | str) -> np.float32:
    return np.float32(value)


# --- layout and schema ------------------------------------------------------------------


def test_every_folder_has_common_metadata_with_the_contract_schema(demo):
    root, spelling, _ = demo
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(TEMPLATE_FOLDERS)
    for folder in TEMPLATE_FOLDERS:
        kind = contract.folder_kind(folder)
        schema = pq.read_schema(root / folder / "_common_metadata")
        expected = contract.arrow_schema(kind, spelling)
        assert schema.names == expected.names, folder
        assert schema.equals(expected, check_metadata=False), folder
        assert data_files(root / folder), f"{folder} has no data file"


def test_data_files_have_the_file_schema_and_hive_paths_in_published_order(demo):
    root, spelling, _ = demo
    names = list(contract.partition_names(spelling))
    for folder in TEMPLATE_FOLDERS:
        expected = contract.file_schema(contract.folder_kind(folder), spelling)
        for path in data_files(root / folder):
            assert pq.read_schema(path).equals(expected, check_metadata=False), path
            assert [n for n, _ in partition_values(path, root / folder)] == names, path
        assert_files_split_at_the_row_limit(root / folder)


#: the export's file size limit (data contract): runs, or experiments, per file of a partition folder
EXPORT_MAX_FILE_ROWS = {"runs": 64, "summary": 128}


def assert_files_split_at_the_row_limit(folder: Path) -> dict[Path, list[int]]:
    """Each leaf folder holds part-0.parquet, part-1.parquet, ...: every file but the last full.

    Returns the rows of each file by leaf folder.
    """
    limit = EXPORT_MAX_FILE_ROWS[contract.folder_kind(folder.name)]
    assert writer.MAX_FILE_ROWS[contract.folder_kind(folder.name)] == limit
    by_leaf: dict[Path, list[Path]] = defaultdict(list)
    for path in data_files(folder):
        by_leaf[path.parent].append(path)
    rows_by_leaf = {}
    for leaf, files in by_leaf.items():
        assert sorted(p.name for p in files) == sorted(f"part-{i}.parquet" for i in range(len(files))), leaf
        rows = [pq.ParquetFile(leaf / f"part-{i}.parquet").metadata.num_rows for i in range(len(files))]
        assert all(r == limit for r in rows[:-1]) and 0 < rows[-1] <= limit, (leaf, rows)
        rows_by_leaf[leaf] = rows
    return rows_by_leaf


# --- the export's encodings ---------------------------------------------------------------

_THRIFT_INT = {4, 5, 6}  # compact protocol i16, i32, i64 (zigzag varints)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _thrift_value(buf: bytes, pos: int, kind: int) -> tuple[object, int]:
    """One value of a thrift compact-protocol type (enough of the protocol for a parquet page header)."""
    if kind in (1, 2):
        return kind == 1, pos
    if kind == 3:
        return buf[pos], pos + 1
    if kind in _THRIFT_INT:
        raw, pos = _varint(buf, pos)
        return (raw >> 1) ^ -(raw & 1), pos
    if kind == 7:
        return buf[pos:pos + 8], pos + 8
    if kind == 8:
        size, pos = _varint(buf, pos)
        return buf[pos:pos + size], pos + size
    if kind in (9, 10):
        size, element = buf[pos] >> 4, buf[pos] & 0x0F
        pos += 1
        if size == 15:
            size, pos = _varint(buf, pos)
        items = []
        for _ in range(size):
            item, pos = _thrift_value(buf, pos, 3 if element in (1, 2) else element)
            items.append(item)
        return items, pos
    if kind == 12:
        return _thrift_struct(buf, pos)
    raise AssertionError(f"thrift type {kind} not expected in a page header")


def _thrift_struct(buf: bytes, pos: int) -> tuple[dict[int, object], int]:
    """A compact-protocol struct as {field id: value}; the position after it."""
    fields: dict[int, object] = {}
    field_id = 0
    while buf[pos] != 0:
        delta, kind = buf[pos] >> 4, buf[pos] & 0x0F
        pos += 1
        if delta:
            field_id += delta
        else:
            raw, pos = _varint(buf, pos)
            field_id = (raw >> 1) ^ -(raw & 1)
        fields[field_id], pos = _thrift_value(buf, pos, kind)
    return fields, pos + 1


DATA_PAGE_V2 = 3  # parquet.thrift PageType


def first_data_page(buf: bytes, column: pq.ColumnChunkMetaData) -> tuple[dict[int, object], bytes]:
    """The PageHeader fields and the page bytes of a column chunk's first data page."""
    header, start = _thrift_struct(buf, column.data_page_offset)
    size = header[3]  # compressed_page_size
    assert isinstance(size, int), header
    return header, buf[start:start + size]


def assert_brotli_page(header: dict[int, object], page: bytes, level: int, where: str) -> bool:
    """A v2 data page whose values section is exactly what Brotli at ``level`` makes of it.

    Returns False for a page stored uncompressed (is_compressed false: the writer does so when
    compressing would not make a small page smaller), True for a page checked.
    """
    assert header[1] == DATA_PAGE_V2, f"{where}: page type {header[1]}, not DATA_PAGE_V2"
    v2 = header[8]  # DataPageHeaderV2
    assert isinstance(v2, dict), header
    levels = v2[5] + v2[6]  # definition + repetition level bytes, never compressed in a v2 page
    if v2.get(7) is False:
        return False
    raw = pa.decompress(page[levels:], decompressed_size=header[2] - levels, codec="brotli")
    again = pa.Codec("brotli", compression_level=level).compress(raw, asbytes=True)
    assert again == page[levels:], f"{where}: not Brotli level {level}"
    return True


def hyperparameter_columns(kind: contract.Kind, spelling: contract.Spelling) -> set[str]:
    """Stored names of the shared scalar settings (not the id, the sweep flags, arrays or partitions)."""
    return {
        stored for c in contract.SHARED_COLUMNS
        if (stored := c.source_name(spelling)) and not c.partition and c.name != "experiment_id"
        and not pa.types.is_list(c.arrow) and not pa.types.is_boolean(c.arrow)
    }


#: Brotli levels of the export (data contract)
EXPORT_LEVELS = {"runs": 6, "summary": 9}


def assert_file_encoded_as_the_export(path: Path, kind: contract.Kind, spelling: contract.Spelling, level: int) -> Counter:
    """Every column chunk of a file: Brotli at ``level`` in v2 data pages; dictionary-encoded
    hyperparameters; byte-stream-split floats. Returns the float pages by whether they were compressed."""
    dictionary = hyperparameter_columns(kind, spelling)
    float_pages: Counter = Counter()
    buf = path.read_bytes()
    metadata = pq.ParquetFile(path).metadata
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            column = metadata.row_group(group).column(index)
            where = f"{path} {column.path_in_schema}"
            assert column.compression == "BROTLI", where
            compressed = assert_brotli_page(*first_data_page(buf, column), level, where)
            name = column.path_in_schema.removesuffix(".list.element")
            if name in dictionary:
                assert column.has_dictionary_page and "RLE_DICTIONARY" in column.encodings, where
            elif column.physical_type == "FLOAT":
                float_pages[compressed] += 1
                assert column.encodings[-1] == "BYTE_STREAM_SPLIT", where
                assert "PLAIN" not in column.encodings, where
    return float_pages


def test_files_are_encoded_as_the_export(demo):
    """Brotli (6 for runs, 9 for summaries), data page v2, byte-stream-split floats, dictionary hyperparameters."""
    root, spelling, manifest = demo
    for folder in ("all_runs", "complete_summary", "learning_rate_sweep_runs", "primary_sweep_summary"):
        kind = contract.folder_kind(folder)
        float_pages: Counter = Counter()
        for path in data_files(root / folder):
            float_pages += assert_file_encoded_as_the_export(path, kind, spelling, EXPORT_LEVELS[kind])
        # only the pages of the shortest curves (300-epoch sweep) are too small to gain from Brotli
        assert float_pages[True] > 2 * float_pages[False], (folder, float_pages)
    assert manifest["files"]["compression_levels"] == EXPORT_LEVELS


@pytest.mark.parametrize(
    "change",
    [{"compression_level": 5}, {"compression_level": 9}, {"data_page_version": "1.0"},
     {"use_byte_stream_split": False}, {"use_dictionary": False}, {"compression": "zstd"}],
)
def test_the_encoding_check_fails_on_what_the_export_did_not_write(demo, tmp_path, change):
    root, spelling, _ = demo
    original = max(data_files(root / "all_runs"), key=lambda p: p.stat().st_size)
    options = {
        "compression": "brotli", "compression_level": EXPORT_LEVELS["runs"], "data_page_version": "2.0",
        "use_byte_stream_split": list(writer.byte_stream_split_columns("runs", spelling)),
        "use_dictionary": sorted(hyperparameter_columns("runs", spelling)),
    }
    table = pq.read_table(original)
    pq.write_table(table, tmp_path / "same.parquet", **options)
    assert_file_encoded_as_the_export(tmp_path / "same.parquet", "runs", spelling, EXPORT_LEVELS["runs"])
    pq.write_table(table, tmp_path / "changed.parquet", **{**options, **change})
    with pytest.raises(AssertionError):
        assert_file_encoded_as_the_export(tmp_path / "changed.parquet", "runs", spelling, EXPORT_LEVELS["runs"])


def test_spelling_specific_names(demo):
    root, spelling, _ = demo
    reg_dirs = {p.name.split("=")[0] for p in (root / "all_runs").rglob("kernel_regularizer*") if p.is_dir()}
    expected = "kernel_regularizer.type" if spelling == "published" else "kernel_regularizer_type"
    assert reg_dirs == {expected}
    schema = contract.arrow_schema("summary", spelling)
    assert ("test_loss_q1" in schema.names) == (spelling == "framework")
    assert ("optimizer_sweep" in schema.names) == (spelling == "framework")


def test_null_regularizer_is_the_hive_default_partition(loaded):
    root, spelling = loaded["root"], loaded["spelling"]
    reg = contract.partition_names(spelling)[3]
    texts = {p.name.split("=", 1)[1] for p in (root / "all_runs").rglob(f"{reg}=*") if p.is_dir()}
    assert texts == {contract.HIVE_NULL, "l1", "l2"}
    for row in loaded["all_runs"] + loaded["complete_summary"]:
        if row["kernel_regularizer_type"] is None:
            assert row["kernel_regularizer"] is None
            assert row["kernel_regularizer_l1"] == 0 and row["kernel_regularizer_l2"] == 0
        else:
            setting = json.loads(row["kernel_regularizer"])
            assert setting["type"] == row["kernel_regularizer_type"]
            penalty = row[f"kernel_regularizer_{row['kernel_regularizer_type']}"]
            assert f32(setting[row["kernel_regularizer_type"]]) == f32(penalty) and penalty > 0


def test_partition_texts_round_trip_to_the_run_settings(loaded):
    root = loaded["root"]
    texts: dict[str, set[str]] = defaultdict(set)
    for path in data_files(root / "all_runs"):
        values = dict(partition_values(path, root / "all_runs"))
        table = pq.read_table(path, columns=["command"])
        for command in map(json.loads, table["command"].to_pylist()):
            assert f32(values["learning_rate"]) == f32(command["optimizer"]["config"]["learning_rate"])
            assert f32(values["label_noise"]) == f32(command["label_noise"])
            assert int(values["epochs"]) == command["epochs"] and int(values["depth"]) == command["depth"]
            assert int(values["batch_size"]) == command["batch_size"]
            assert values["dataset"] == command["dataset"] and values["shape"] == command["shape"]
            texts[str(f32(command["label_noise"]))].add(values["label_noise"])
            texts[f"lr{f32(command['optimizer']['config']['learning_rate'])}"].add(values["learning_rate"])
    assert all(len(t) == 1 for t in texts.values()), texts  # one text per value (0 always the same)
    assert f32(next(iter(texts[f"lr{f32(0.0001)}"]))) == f32(0.0001)


# --- determinism ------------------------------------------------------------------------


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_identical_bytes_even_over_an_old_generation(demo, tmp_path):
    """A demo written earlier is replaced whole (issue 29: a folder holding anything else is refused,
    test_reliability.test_demo_refuses_a_folder_it_did_not_make)."""
    root, spelling, _ = demo
    again = tmp_path / "again"
    shutil.copytree(root, again)
    first, second = sorted((again / "all_runs").rglob("*.parquet"))[:2]
    first.write_bytes(second.read_bytes())  # an earlier generation's file where this one writes another
    assert tree_digest(again) != tree_digest(root)
    generate(again, spelling=spelling, runs_per_experiment=RUNS, epochs=EPOCHS, seed=0)
    assert tree_digest(again) == tree_digest(root)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no work folder left beside it


def test_another_seed_changes_every_data_file_but_not_the_layout(demo, tmp_path):
    root, spelling, _ = demo
    generate(tmp_path, spelling=spelling, runs_per_experiment=RUNS, epochs=EPOCHS, seed=1)
    first, other = tree_digest(root), tree_digest(tmp_path)
    assert other.keys() == first.keys()
    changed = [k for k in first if k.endswith(".parquet") and first[k] != other[k]]
    assert len(changed) == sum(k.endswith(".parquet") for k in first)


# --- counts, copies and lengths -----------------------------------------------------------


def test_manifest_counts_match_the_files(demo):
    root, _, manifest = demo
    on_disk = json.loads((root / MANIFEST_NAME).read_text())
    assert on_disk == manifest
    for folder in TEMPLATE_FOLDERS:
        files = data_files(root / folder)
        counted = manifest["counts"][folder]
        assert counted["files"] == len(files)
        assert counted["rows"] == sum(pq.ParquetFile(p).metadata.num_rows for p in files)
    assert manifest["totals"]["runs_exported"] == manifest["counts"]["all_runs"]["rows"]
    one_run = manifest["traps"]["one_run_experiments"]["experiment_ids"]
    trained = RUNS * (manifest["totals"]["experiments"] - len(one_run)) + len(one_run)
    assert manifest["totals"]["runs_trained"] == trained
    assert list(manifest["counts"]) == manifest["folders"] == list(TEMPLATE_FOLDERS)
    assert manifest["parameters"]["layout"] == "template" and manifest["best_point_epoch_base"] is None


def test_leaf_folders_with_more_runs_than_a_file_holds_get_several_files(tmp_path):
    """With the real 30 runs per experiment, leaves of several experiments hold more than 64 runs."""
    manifest = generate(tmp_path, experiments=90, runs_per_experiment=30, epochs=10)
    split = 0
    for folder in TEMPLATE_RUN_FOLDERS:
        rows_by_leaf = assert_files_split_at_the_row_limit(tmp_path / folder)
        split += sum(len(rows) > 1 for rows in rows_by_leaf.values())
        assert sum(map(sum, rows_by_leaf.values())) == manifest["counts"][folder]["rows"]
        assert len(data_files(tmp_path / folder)) == manifest["counts"][folder]["files"]
    assert split
    runs = read_folder(tmp_path, "all_runs", "published")
    assert runs.num_rows == len(set(runs["run_id"].to_pylist())) == manifest["totals"]["runs_exported"]


def test_the_writer_splits_summaries_at_128_experiments(demo, tmp_path):
    """No demo leaf holds 128 experiments; the writer still splits them as the export did."""
    root, spelling, _ = demo
    one = pq.read_table(data_files(root / "complete_summary")[0]).slice(0, 1)
    limit = EXPORT_MAX_FILE_ROWS["summary"]
    folder = writer.PartitionFolder(tmp_path / "complete_summary" / "dataset=x", "summary", spelling)
    for batch in (1, limit - 1, 1, 2 * limit + 5):
        folder.write(pa.concat_tables([one] * batch))
    folder.close()
    rows = assert_files_split_at_the_row_limit(tmp_path / "complete_summary")[tmp_path / "complete_summary" / "dataset=x"]
    assert rows == [limit, limit, limit, 6] and folder.files == 4 and folder.rows == 3 * limit + 6


def test_sweep_folders_are_exact_copies_of_the_flagged_rows(loaded):
    runs = {r["run_id"]: r for r in loaded["all_runs"]}
    assert len(runs) == len(loaded["all_runs"]), "a run appears once in all_runs"
    summaries = {r["experiment_id"]: r for r in loaded["complete_summary"]}
    assert len(summaries) == len(loaded["complete_summary"])
    for sweep in TEMPLATE_SWEEPS:
        flag = f"is_{sweep}_sweep"
        sweep_runs = loaded[f"{sweep}_sweep_runs"]
        assert {r["run_id"] for r in sweep_runs} == {k for k, r in runs.items() if r[flag]}, sweep
        for row in sweep_runs:
            assert same(row, runs[row["run_id"]])
        sweep_summaries = loaded[f"{sweep}_sweep_summary"]
        assert {r["experiment_id"] for r in sweep_summaries} == {k for k, r in summaries.items() if r[flag]}
        for row in sweep_summaries:
            assert same(row, summaries[row["experiment_id"]])


def test_every_array_is_as_long_as_the_epochs(loaded):
    kinds: tuple[tuple[contract.Kind, str], ...] = (("runs", "all_runs"), ("summary", "complete_summary"))
    for kind, folder in kinds:
        arrays = [c.name for c in contract.columns(kind) if pa.types.is_list(c.arrow) and c.name != "widths"
                  and c.source_name(loaded["spelling"]) is not None]
        quartiles = len(contract.QUARTILE_STATS) if loaded["spelling"] == "framework" else 0
        expected = 1 + sum(len(stats) + quartiles for stats in contract.SUMMARY_STATS.values())
        assert len(arrays) == (2 * len(contract.RUN_METRICS) if kind == "runs" else expected)
        for row in loaded[folder]:
            for name in arrays:
                assert len(row[name]) == row["epochs"], (folder, name)
    epochs = {r["epochs"] for r in loaded["complete_summary"]}
    assert epochs == {EPOCHS, design.short_epochs(EPOCHS), design.long_epochs(EPOCHS)}


# --- summaries ----------------------------------------------------------------------------


def expected_statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    """Independent numpy aggregates over the finite values of a (runs, epochs) matrix (None: not finite).

    As NREL's PostgreSQL computed them: sample standard deviation; NaN where a statistic has no value
    (no finite value; fewer than two for the standard deviation).
    """
    data = np.array(values, dtype=np.float64)  # None -> NaN
    finite = np.isfinite(data)
    data[~finite] = np.nan
    # numpy's nan-quantiles loop in Python per column: take the plain ones when all are finite
    quantile = np.quantile if finite.all() else np.nanquantile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q1, median, q3 = quantile(data, [0.25, 0.5, 0.75], axis=0)
        return {
            "num_finite": finite.sum(axis=0),
            "avg": np.nanmean(data, axis=0),
            "stddev": np.nanstd(data, axis=0, ddof=1),
            "min": np.nanmin(data, axis=0),
            "max": np.nanmax(data, axis=0),
            "median": median,
            "q1": q1,
            "q3": q3,
        }


def summary_arrays(spelling: contract.Spelling) -> list[str]:
    """Canonical names of the per-epoch float statistics of a summary."""
    return [c.name for c in contract.SUMMARY_ONLY_COLUMNS
            if c.arrow == pa.list_(pa.float32()) and c.source_name(spelling) is not None]


def test_summaries_are_the_aggregates_of_the_runs(loaded):
    """Every statistic equals a numpy recomputation; a NULL element exactly where it has no value, never NaN."""
    spelling = loaded["spelling"]
    stats_of = {m: s + (contract.QUARTILE_STATS if spelling == "framework" else ())
                for m, s in contract.SUMMARY_STATS.items()}
    runs = runs_by_experiment(loaded["all_runs"])
    checked = set()
    for summary in loaded["complete_summary"]:
        members = runs.get(summary["experiment_id"], [])
        if len(members) != summary["num_runs"]:
            continue
        checked.add(summary["experiment_id"])
        assert summary["num_runs_at_epoch"] == [summary["num_runs"]] * summary["epochs"]
        for metric, stats in stats_of.items():
            expected = expected_statistics(np.array([r[metric] for r in members], dtype=np.float64))
            for stat in stats:
                stored = summary[f"{metric}_{stat}"]
                where = f"{summary['experiment_id']} {metric}_{stat}"
                nulls = np.array([v is None for v in stored])
                assert (nulls == np.isnan(expected[stat])).all(), f"{where}: NULL elements where no value"
                actual = np.array(stored, dtype=np.float64)
                np.testing.assert_allclose(actual[~nulls], expected[stat][~nulls], rtol=1e-6, atol=1e-6,
                                           err_msg=where)
    traps = loaded["manifest"]["traps"]
    special = {traps["nonfinite_losses"]["experiment_id"], traps["diverged_run"]["experiment_id"],
               traps["all_runs_diverged_epochs"]["experiment_id"], traps["null_element_runs"]["experiment_id"],
               *traps["one_run_experiments"]["experiment_ids"]}
    assert special <= checked
    assert len(checked) >= 0.9 * len(loaded["complete_summary"])


def test_summary_arrays_hold_null_never_nan(loaded):
    """The export stored no NaN in a summary: a statistic without a value is a NULL element."""
    table = read_folder(loaded["root"], "complete_summary", loaded["spelling"])
    nulls = 0
    for name in summary_arrays(loaded["spelling"]):
        column = table[stored(name, "summary", loaded["spelling"])]
        assert column.null_count == 0, f"{name}: a NULL array (the elements may be NULL, the array not)"
        elements = pc.list_flatten(column)
        assert not pc.any(pc.is_nan(elements)).as_py(), name
        assert not pc.any(pc.is_inf(elements)).as_py(), name
        nulls += elements.null_count
    assert nulls > 0


# --- traps --------------------------------------------------------------------------------


def run_of(loaded: dict, run_id: str) -> dict:
    return next(r for r in loaded["all_runs"] if r["run_id"] == run_id)


def summary_of(loaded: dict, experiment_id: int) -> dict:
    return next(r for r in loaded["complete_summary"] if r["experiment_id"] == experiment_id)


def epochs_where(values: Sequence[float] | np.ndarray, test) -> list[int]:
    return [i + 1 for i, v in enumerate(values) if test(v)]


def test_trap_nonfinite_losses(loaded):
    trap = loaded["manifest"]["traps"]["nonfinite_losses"]
    for spec in trap["runs"]:
        run = run_of(loaded, spec["run_id"])
        assert run["experiment_id"] == trap["experiment_id"]
        for split in ("test", "train"):
            values = run[f"{split}_loss"]
            assert epochs_where(values, np.isnan) == spec[f"{split}_loss_nan_epochs"]
            assert epochs_where(values, lambda v: v == np.inf) == spec[f"{split}_loss_posinf_epochs"]
    summary = summary_of(loaded, trap["experiment_id"])
    siblings = [r for r in loaded["all_runs"] if r["experiment_id"] == trap["experiment_id"]]
    assert len(siblings) == summary["num_runs"]
    everywhere = {e - 1 for e in trap["all_runs_nonfinite_epochs"]}
    clean = [r for r in siblings if all(np.isfinite(v) for i, v in enumerate(r["test_loss"]) if i not in everywhere)]
    assert clean, "at the other epochs, some run of the experiment has only finite losses"
    bad = set(epochs_where(summary["test_loss_num_finite"], lambda n: n < summary["num_runs"]))
    assert set(trap["runs"][0]["test_loss_nan_epochs"]) <= bad
    for epoch in trap["all_runs_nonfinite_epochs"]:
        assert summary["test_loss_num_finite"][epoch - 1] == 0
        assert summary["test_loss_avg"][epoch - 1] is None and summary["test_loss_median"][epoch - 1] is None


def is_nan(value: float | None) -> bool:
    return value is not None and bool(np.isnan(value))


#: how a non-finite element is written, as the manifest names it
WRITTEN_AS = {"null": lambda v: v is None, "nan": is_nan, "posinf": lambda v: v == np.inf}


def test_trap_one_run_experiments(loaded):
    """num_runs 1, one run found, every stddev NULL (sample stddev of one value), the rest its values."""
    trap = loaded["manifest"]["traps"]["one_run_experiments"]
    assert len(trap["experiment_ids"]) == len(trap["run_ids"]) >= 2
    stddevs = [n for n in summary_arrays(loaded["spelling"]) if n.endswith("_stddev")]
    for experiment_id, run_id in zip(trap["experiment_ids"], trap["run_ids"], strict=True):
        summary = summary_of(loaded, experiment_id)
        assert summary["num_runs"] == 1 and summary["num_runs_at_epoch"] == [1] * summary["epochs"]
        found = [r for r in loaded["all_runs"] if r["experiment_id"] == experiment_id]
        assert [r["run_id"] for r in found] == [run_id]
        for name in stddevs:
            assert summary[name] == [None] * summary["epochs"], (experiment_id, name)
        for name in ("test_loss_avg", "test_loss_min", "test_loss_max", "test_loss_median", "train_loss_avg"):
            run_values = found[0][name.rsplit("_", 1)[0]]
            np.testing.assert_allclose(summary[name], run_values, rtol=1e-6, err_msg=name)
    sizes = {summary_of(loaded, e)["epochs"] for e in trap["experiment_ids"]}
    assert len(sizes) >= 2, "one-run experiments of different training lengths"


def test_trap_all_runs_diverged_epochs(loaded):
    trap = loaded["manifest"]["traps"]["all_runs_diverged_epochs"]
    summary = summary_of(loaded, trap["experiment_id"])
    runs = {r["run_id"]: r for r in loaded["all_runs"] if r["experiment_id"] == trap["experiment_id"]}
    assert set(runs) == {r["run_id"] for r in trap["runs"]} and len(runs) == summary["num_runs"] >= 2
    assert summary["epochs"] in trap["epochs"], "the last epoch diverged"
    assert {r["written_as"] for r in trap["runs"]} >= {"null", "nan"}
    for spec in trap["runs"]:
        run = runs[spec["run_id"]]
        bad = trap["epochs"] + ([] if spec["run_id"] == trap["finite_run_id"] else trap["single_finite_epochs"])
        for name in RUN_ARRAYS:
            written = spec["written_as"] if spec["written_as"] != "posinf" or name.endswith("_loss") else "nan"
            assert epochs_where(run[name], WRITTEN_AS[written]) == sorted(bad), (spec, name)
            assert all(np.isfinite(v) for i, v in enumerate(run[name]) if i + 1 not in bad), (spec, name)
    for name in summary_arrays(loaded["spelling"]):
        for epoch in trap["epochs"]:
            assert summary[name][epoch - 1] is None, (name, epoch)
        for epoch in trap["single_finite_epochs"]:
            value = summary[name][epoch - 1]
            if name.endswith("_stddev"):
                assert value is None, (name, epoch)
            else:
                metric = name.rsplit("_", 1)[0]
                assert value == pytest.approx(runs[trap["finite_run_id"]][metric][epoch - 1], rel=1e-6), name
    for epoch in trap["epochs"]:
        assert summary["test_loss_num_finite"][epoch - 1] == summary["train_loss_num_finite"][epoch - 1] == 0
    for epoch in trap["single_finite_epochs"]:
        assert summary["test_loss_num_finite"][epoch - 1] == 1


def test_trap_null_element_runs(loaded):
    """NULL elements beside NaN and +inf in the same arrays, exactly where the manifest says."""
    trap = loaded["manifest"]["traps"]["null_element_runs"]
    summary = summary_of(loaded, trap["experiment_id"])
    both = 0
    for spec in trap["runs"]:
        run = run_of(loaded, spec["run_id"])
        assert run["experiment_id"] == trap["experiment_id"]
        for name in RUN_ARRAYS:
            expected = {kind: spec.get(f"{name}_{kind}_epochs", []) for kind in WRITTEN_AS}
            for kind, test in WRITTEN_AS.items():
                assert epochs_where(run[name], test) == expected[kind], (spec["run_id"], name, kind)
            assert epochs_where(run[name], lambda v: v == -np.inf) == []
            both += bool(expected["null"]) and bool(expected["nan"])
        null_epochs = spec["test_loss_null_epochs"]
        assert null_epochs and all(summary["test_loss_num_finite"][e - 1] < summary["num_runs"] for e in null_epochs)
    assert both >= 1, "an array holds both NULL and NaN elements"
    assert run_of(loaded, trap["runs"][1]["run_id"])["test_loss"][-1] is None


def test_run_arrays_hold_nan_inf_and_null_elements(loaded):
    """Across the runs: NaN, +inf and NULL elements, some arrays with NULL and NaN together; no NULL array."""
    table = read_folder(loaded["root"], "all_runs", loaded["spelling"])
    kinds: Counter = Counter()
    for name in RUN_ARRAYS:
        column = table[stored(name, "runs", loaded["spelling"])]
        assert column.null_count == 0, name
        kinds["null"] += pc.list_flatten(column).null_count
        kinds["nan"] += pc.sum(pc.is_nan(pc.list_flatten(column))).as_py() or 0
        kinds["inf"] += pc.sum(pc.is_inf(pc.list_flatten(column))).as_py() or 0
    assert kinds["null"] and kinds["nan"] and kinds["inf"], kinds
    mixed = [r["run_id"] for r in loaded["all_runs"]
             if any(None in r[n] and any(is_nan(v) for v in r[n]) for n in RUN_ARRAYS)]
    assert mixed


def test_trap_diverged_run(loaded):
    trap = loaded["manifest"]["traps"]["diverged_run"]
    run = run_of(loaded, trap["run_id"])
    assert not np.isfinite(run["test_loss"]).any() and not np.isfinite(run["train_loss"]).any()
    assert np.isnan(run["test_accuracy"]).all() and np.isnan(run["train_accuracy"]).all()
    assert np.isposinf(run["test_loss"]).any() and np.isnan(run["test_loss"]).any()
    summary = summary_of(loaded, trap["experiment_id"])
    assert max(summary["test_loss_num_finite"]) == summary["num_runs"] - 1


def test_trap_tied_best_epochs(loaded):
    trap = loaded["manifest"]["traps"]["tied_best_epochs"]
    run = run_of(loaded, trap["run_id"])
    loss, accuracy = np.array(run["test_loss"]), np.array(run["test_accuracy"])
    assert np.isfinite(loss).all()
    assert epochs_where(loss, lambda v: v == loss.min()) == trap["test_loss_min_epochs"]
    assert len(trap["test_loss_min_epochs"]) >= 2 and trap["best_test_loss_epoch"] == trap["test_loss_min_epochs"][0]
    assert int(np.argmin(loss)) + 1 == trap["best_test_loss_epoch"]
    assert f32(trap["best_test_loss"]) == loss.min()
    assert epochs_where(accuracy, lambda v: v == accuracy.max()) == trap["test_accuracy_max_epochs"]
    assert len(trap["test_accuracy_max_epochs"]) >= 2
    assert int(np.argmax(accuracy)) + 1 == trap["best_test_accuracy_epoch"]


def test_trap_missing_run(loaded):
    trap = loaded["manifest"]["traps"]["missing_run"]
    for folder in TEMPLATE_RUN_FOLDERS:
        assert trap["run_id"] not in {r["run_id"] for r in loaded[folder]}, folder
    summary = summary_of(loaded, trap["experiment_id"])
    found = [r for r in loaded["all_runs"] if r["experiment_id"] == trap["experiment_id"]]
    assert summary["num_runs"] == trap["num_runs"] > len(found) == trap["runs_exported"] > 0
    assert set(summary["num_runs_at_epoch"]) == {summary["num_runs"]}
    # the aggregates include the lost run: they differ from those of the runs found
    present = expected_statistics(np.array([r["test_loss"] for r in found]))
    assert not np.allclose(summary["test_loss_avg"], present["avg"], rtol=1e-6)


def test_trap_summary_only_and_run_only_experiments(loaded):
    traps = loaded["manifest"]["traps"]
    only_summary = traps["summary_only_experiment"]["experiment_id"]
    only_runs = traps["run_only_experiment"]["experiment_id"]
    for folder in TEMPLATE_RUN_FOLDERS:
        ids = {r["experiment_id"] for r in loaded[folder]}
        assert only_summary not in ids
        assert (only_runs in ids) == (folder == "all_runs" or summary_flag(loaded, only_runs, folder))
    for folder in TEMPLATE_SUMMARY_FOLDERS:
        assert only_runs not in {r["experiment_id"] for r in loaded[folder]}
    assert only_summary in {r["experiment_id"] for r in loaded["complete_summary"]}
    assert len(traps["run_only_experiment"]["run_ids"]) == RUNS


def summary_flag(loaded: dict, experiment_id: int, folder: str) -> bool:
    row = next(r for r in loaded["all_runs"] if r["experiment_id"] == experiment_id)
    return bool(row[f"is_{contract.folder_sweep(folder)}_sweep"])


def hyperparameters(row: dict, without: str) -> tuple:
    keys = ("dataset", "shape", "depth", "size", "learning_rate", "batch_size", "kernel_regularizer_type",
            "kernel_regularizer_l1", "kernel_regularizer_l2", "label_noise", "epochs")
    return tuple((k, f32(row[k]) if isinstance(row[k], float) else row[k]) for k in keys if k != without)


def test_trap_sweep_groups_without_core(loaded):
    trap = loaded["manifest"]["traps"]["sweep_group_without_core"]
    experiments = experiments_of(loaded)
    core = {"learning_rate": ("learning_rate", f32(catalog.CORE_LEARNING_RATE)), "300_epoch": ("epochs", EPOCHS)}
    for group in trap["groups"]:
        column, value = core[group["sweep"]]
        assert group["experiment_ids"]
        for eid in group["experiment_ids"]:
            row = experiments[eid]
            assert row[f"is_{group['sweep']}_sweep"]
            key = hyperparameters(row, without=column)
            twins = [e for e in experiments.values() if hyperparameters(e, without=column) == key]
            assert all(f32(t[column]) != value for t in twins), eid
    # while the other groups of those sweeps have their core experiment
    lr_rows = [e for e in experiments.values() if e["is_learning_rate_sweep"]]
    assert any(f32(e["learning_rate"]) == f32(catalog.CORE_LEARNING_RATE) for e in lr_rows)


def test_traps_regression_and_classification_and_null_partition(loaded):
    traps = loaded["manifest"]["traps"]
    present = {r["dataset"] for r in loaded["all_runs"]}
    mixed = traps["regression_and_classification"]
    assert mixed["regression_datasets"] and mixed["classification_datasets"]
    assert set(mixed["regression_datasets"]) | set(mixed["classification_datasets"]) <= present
    for row in loaded["all_runs"]:
        if row["dataset"] in mixed["regression_datasets"]:
            assert row["output_activation"] == "linear" and len(row["test_accuracy"]) == row["epochs"]
    unregularized = {r["experiment_id"] for r in loaded["complete_summary"] if r["kernel_regularizer_type"] is None}
    assert set(traps["null_partition"]["experiment_ids"]) <= unregularized


def test_no_traps_means_clean_data(tmp_path):
    manifest = generate(tmp_path, experiments=60, runs_per_experiment=2, epochs=5, traps=False)
    assert manifest["traps"] == {}
    assert manifest["totals"]["runs_exported"] == manifest["totals"]["runs_trained"]
    table = read_folder(tmp_path, "all_runs", "published")
    for name in ("val_loss", "loss", "val_accuracy"):
        values = pc.list_flatten(table[name]).to_numpy()
        assert np.isfinite(values).all()
    assert table.num_rows == manifest["totals"]["runs_trained"]


# --- the numpy reference (tests/python/reference.py) reads what the demo writes ------------


@pytest.fixture(scope="module")
def reference(loaded) -> ref.Data:
    return ref.load(loaded["root"])


def test_reference_reads_null_elements_as_not_finite(loaded, reference):
    """NULL elements come through as NaN: no value for the best, final, num_finite and divergence rules."""
    trap = loaded["manifest"]["traps"]["null_element_runs"]
    best = ref.run_best_epochs(reference)
    for spec in trap["runs"]:
        stored_loss = run_of(loaded, spec["run_id"])["test_loss"]  # None for a NULL element
        seen = reference.runs[spec["run_id"]]["test_loss"]
        assert epochs_where(seen, np.isnan) == sorted(spec["test_loss_null_epochs"] + spec["test_loss_nan_epochs"])
        finite = [(v, i + 1) for i, v in enumerate(stored_loss) if v is not None and np.isfinite(v)]
        row = best[spec["run_id"]]
        assert row["num_finite_test_loss"] == len(finite) < len(stored_loss) and row["is_diverged"]
        assert (row["best_test_loss"], row["best_test_loss_epoch"]) == min(finite)
        assert row["final_test_loss"] == (stored_loss[-1] if stored_loss[-1] is not None else None)
    assert best[trap["runs"][1]["run_id"]]["final_test_loss"] is None


def test_reference_reads_null_summary_elements_as_no_value(loaded, reference):
    traps = loaded["manifest"]["traps"]
    curves = ref.learning_curves(reference)
    for experiment_id in traps["one_run_experiments"]["experiment_ids"]:
        rows = [r for (e, _), r in curves.items() if e == experiment_id]
        assert rows and all(r["test_loss_stddev"] is None and r["test_loss_avg"] is not None for r in rows)
    diverged = traps["all_runs_diverged_epochs"]
    for epoch in diverged["epochs"]:
        row = curves[(diverged["experiment_id"], epoch)]
        assert row["test_loss_num_finite"] == 0
        assert all(row[c] is None for c in ref.CURVE_COLUMNS if not c.endswith("_num_finite")), row
    summary = ref.experiment_summary(reference)[diverged["experiment_id"]]
    assert summary["median_curve_final_test_loss"] is None and summary["median_curve_best_test_loss"] is not None


def test_reference_recomputes_the_published_summaries_from_the_runs(loaded, reference):
    """Curves the reference computes from runs (values_source 'runs') equal the published summaries
    wherever every run was exported: same statistics, sample stddev, NULL where NREL's are NULL."""
    traps = loaded["manifest"]["traps"]
    runs_only = ref.Data(runs=reference.runs, run_metrics=reference.run_metrics)
    from_runs, published = ref.learning_curves(runs_only), ref.learning_curves(reference)
    complete = {e for e, s in reference.summaries.items() if len(reference.runs_of(e)) == s["num_runs"]}
    assert {traps["all_runs_diverged_epochs"]["experiment_id"], traps["null_element_runs"]["experiment_id"],
            *traps["one_run_experiments"]["experiment_ids"]} <= complete
    columns = [c for c in ref.CURVE_COLUMNS if reference.summaries[min(complete)].get(c) is not None]
    compared = 0
    for key, expected in published.items():
        if key[0] not in complete:
            continue
        actual = from_runs[key]
        assert actual["values_source"] == "runs" and expected["values_source"] == "published_summary"
        for column in columns:
            if expected[column] is None:
                assert actual[column] is None, (key, column)
            else:
                assert actual[column] == pytest.approx(expected[column], rel=1e-5, abs=1e-7), (key, column)
            compared += 1
    assert compared and {k for k in published if k[0] in complete} <= set(from_runs)


# --- sweep structure ----------------------------------------------------------------------


def in_sweep(loaded: dict, sweep: str) -> list[dict]:
    return [e for e in experiments_of(loaded).values() if e[f"is_{sweep}_sweep"]]


def values(rows: list[dict], column: str) -> set:
    return {f32(r[column]) if isinstance(r[column], float) else r[column] for r in rows}


def test_primary_sweep_holds_the_core_values(loaded):
    primary = in_sweep(loaded, "primary")
    assert values(primary, "learning_rate") == {f32(0.0001)} and values(primary, "batch_size") == {256}
    assert values(primary, "kernel_regularizer_type") == {None} and values(primary, "label_noise") == {0}
    assert values(primary, "epochs") == {EPOCHS}
    for column in ("dataset", "shape", "depth", "size"):
        assert len(values(primary, column)) >= 2, column


@pytest.mark.parametrize(
    ("sweep", "column", "allowed", "core"),
    [
        ("learning_rate", "learning_rate", catalog.LEARNING_RATES, 0.0001),
        ("label_noise", "label_noise", catalog.LABEL_NOISES, 0.0),
        ("batch_size", "batch_size", catalog.BATCH_SIZES, 256),
    ],
)
def test_sweeps_vary_their_parameter_around_the_core(loaded, sweep, column, allowed, core):
    rows = in_sweep(loaded, sweep)
    seen = values(rows, column)
    assert len(seen) >= 3 and seen <= {f32(v) if isinstance(v, float) else v for v in allowed}
    core_rows = [r for r in rows if values([r], column) == {f32(core) if isinstance(core, float) else core}]
    assert core_rows and all(r["is_primary_sweep"] for r in core_rows if f32(r["learning_rate"]) == f32(0.0001))


def test_label_noise_sweep_uses_two_learning_rates(loaded):
    rows = in_sweep(loaded, "label_noise")
    assert values(rows, "learning_rate") == {f32(0.0001), f32(0.001)}
    higher = [r for r in rows if f32(r["learning_rate"]) == f32(0.001)]
    assert values(higher, "label_noise") == {f32(0.0), f32(0.05)}
    assert any(r["is_learning_rate_sweep"] for r in higher if r["label_noise"] == 0)


def test_batch_size_and_regularization_sweeps_are_rectangles(loaded):
    for sweep in ("batch_size", "regularization"):
        rows = in_sweep(loaded, sweep)
        assert values(rows, "shape") == {"rectangle"}
        assert max(values(rows, "depth")) <= 10
    reg = in_sweep(loaded, "regularization")
    assert values(reg, "kernel_regularizer_type") == {None, "l1", "l2"}
    penalties = {f32(catalog.PENALTIES[i]) for i in range(len(catalog.PENALTIES))}
    for row in reg:
        if row["kernel_regularizer_type"]:
            assert f32(row[f"kernel_regularizer_{row['kernel_regularizer_type']}"]) in penalties
        else:
            assert row["is_primary_sweep"]


def test_the_default_demo_trains_as_long_as_the_real_sweeps():
    """At its default base length (the CLI's and generate()'s, one value) every sweep trains as
    long as BUTTER's, so sweep_comparisons' swept_value reads 3000, 300 and 30000 as on the real
    data (contract: the epoch sweeps' core value, and 300 and 30000 in their descriptions)."""
    import inspect

    from butter_warehouse import cli

    default = inspect.signature(generate).parameters["epochs"].default
    assert cli.parser().parse_args(["demo"]).epochs == default == contract.CORE_EPOCHS == 3000
    axes = design.Axes.of(design.Scale(sizes=3))
    lengths = {sweep: {s.epochs for s in settings} for sweep, settings in design.sweep_settings(axes, default).items()}
    assert lengths["primary"] == {3000} and lengths["300_epoch"] == {300} and lengths["30k_epoch"] == {30000}
    facts = {s.name: s.description for s in contract.SWEEP_FACTS}
    assert "300 epochs" in facts["300_epoch"] and "30000 training epochs" in facts["30k_epoch"]


def test_epoch_sweeps_and_their_primary_counterparts(loaded):
    experiments = list(experiments_of(loaded).values())
    primary = {hyperparameters(e, without="epochs") for e in experiments if e["is_primary_sweep"]}
    short = in_sweep(loaded, "300_epoch")
    assert values(short, "epochs") == {design.short_epochs(EPOCHS)} and values(short, "shape") == {"rectangle"}
    assert values(short, "size") == {2**25, 2**26, 2**27}
    for row in short:
        assert (hyperparameters(row, without="epochs") in primary) == (row["size"] == 2**25)
    long = in_sweep(loaded, "30k_epoch")
    assert values(long, "epochs") == {design.long_epochs(EPOCHS)}
    assert max(values(long, "size")) <= 2**18
    assert all(hyperparameters(row, without="epochs") in primary for row in long)


def test_experiments_belong_to_several_sweeps(loaded):
    experiments = experiments_of(loaded).values()
    flags = [sum(e[f"is_{s}_sweep"] for s in TEMPLATE_SWEEPS) for e in experiments]
    assert max(flags) >= 3 and sum(f >= 2 for f in flags) >= 4
    if loaded["spelling"] == "framework":
        assert all(e["is_optimizer_sweep"] is False for e in experiments)


def test_design_scales_to_the_target_with_every_sweep():
    for target in (100, 300, 500, 1500):
        built = design.build_design(target, 3000)
        count = len(built.experiments)
        assert 0.85 * target <= count <= target, (target, count)
        for sweep in TEMPLATE_SWEEPS:
            assert any(sweep in e.sweeps for e in built.experiments), (target, sweep)
        assert not any("optimizer" in e.sweeps for e in built.experiments)
        # the current layout: the same experiments (ids, settings), some also in the optimizer sweep, then its own
        current = design.build_design(target, 3000, layout="current")
        for template, same in zip(built.experiments, current.experiments, strict=False):
            assert (same.experiment_id, same.setting, same.experimental_batch) == (
                template.experiment_id, template.setting, template.experimental_batch)
            assert tuple(s for s in same.sweeps if s != "optimizer") == template.sweeps
        added = current.experiments[count:]
        assert added and all(e.sweeps == ("optimizer",) for e in added)
        assert [e.experiment_id for e in added] == list(range(count + 1, count + 1 + len(added)))
    smallest = design.build_design(1, 3000)
    assert all(any(s in e.sweeps for e in smallest.experiments) for s in TEMPLATE_SWEEPS)


# --- plausibility -------------------------------------------------------------------------


def test_networks_match_their_hyperparameters(loaded):
    for row in loaded["complete_summary"]:
        widths, depth = row["widths"], row["depth"]
        structure = json.loads(row["network_structure"])
        inputs = structure["input"]["shape"][0]
        assert len(widths) == depth == len(structure["layers"])
        params = sum(a * b + b for a, b in zip([inputs] + widths[:-1], widths, strict=True))
        assert row["num_free_parameters"] == params
        if row["size"] >= 2**16:
            assert abs(params - row["size"]) / row["size"] < 0.05
        hidden = widths[:-1]
        if row["shape"] == "rectangle":
            assert len(set(hidden)) == 1
        elif row["shape"] in ("trapezoid", "exponential"):
            assert hidden == sorted(hidden, reverse=True)


def test_metrics_are_in_range(loaded):
    for run in loaded["all_runs"]:
        arrays = {k: np.array(run[k], dtype=np.float64) for k in RUN_ARRAYS}
        for name, array in arrays.items():
            finite = array[np.isfinite(array)]
            assert finite.dtype == np.float64 and (finite >= -1).all(), name
            if not name.endswith("cosine_similarity"):
                assert (finite >= 0).all(), name
            if name.endswith(("accuracy", "cosine_similarity")):
                assert (finite <= 1).all(), name


def test_curves_learn_and_respond_to_their_hyperparameters(loaded):
    summaries = [s for s in loaded["complete_summary"] if s["epochs"] == EPOCHS]
    for s in summaries:
        if s["is_primary_sweep"]:
            assert s["test_loss_median"][-1] < s["test_loss_median"][0]
            assert s["train_loss_median"][-1] < s["train_loss_median"][0]
            if s["dataset"] == "wine_quality_white":
                assert s["test_accuracy_median"][-1] > s["test_accuracy_median"][0]
    groups: dict[tuple, dict] = defaultdict(dict)
    for s in summaries:
        if s["is_learning_rate_sweep"]:
            groups[hyperparameters(s, without="learning_rate")][f32(s["learning_rate"])] = s
    compared = 0
    for group in groups.values():
        if f32(0.001) in group and f32(0.00001) in group:
            assert group[f32(0.001)]["test_loss_median"][2] < group[f32(0.00001)]["test_loss_median"][2]
            compared += 1
    assert compared >= 2
    noise: dict[tuple, dict] = defaultdict(dict)
    for s in summaries:
        if s["is_label_noise_sweep"] and f32(s["learning_rate"]) == f32(0.0001):
            noise[hyperparameters(s, without="label_noise")][f32(s["label_noise"])] = s
    for group in noise.values():
        if f32(0.0) in group and f32(0.2) in group:
            assert group[f32(0.2)]["test_loss_median"][-1] > group[f32(0.0)]["test_loss_median"][-1]


def test_dataset_facts_agree_with_the_seed_file():
    path = REPO / "seeds" / "butter_datasets.csv"
    if not path.exists():
        pytest.skip("no seeds/butter_datasets.csv")
    with path.open() as handle:
        seeds = {row["dataset"]: row for row in csv.DictReader(handle)}
    # the catalog reads its facts from the seed (one source); what it derives from them must agree too
    assert set(seeds) == set(catalog.DATASETS)
    for name, info in catalog.DATASETS.items():
        row = seeds[name]
        assert info.loss_name == row["loss_function"]
        if info.task_type != "regression":
            assert info.num_classes == int(row["num_classes"])


def test_invalid_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, spelling="other")  # type: ignore[arg-type]  # not a Spelling, on purpose
    with pytest.raises(ValueError):
        generate(tmp_path, runs_per_experiment=1)
    with pytest.raises(ValueError):
        generate(tmp_path, runs_per_experiment=300, traps=False)


# --- the current release's layout -------------------------------------------------------------

CURRENT_FOLDERS = contract.LAYOUT_FOLDERS["current"]


@pytest.fixture(scope="module")
def current(demo_root) -> dict:
    """The default-size demo in the current release's layout (conftest's ``demo_root``): its root,
    manifest and every folder as canonical-name rows."""
    root = demo_root(layout="current")
    data = {folder: rows(read_folder(root, folder, "current"), contract.folder_kind(folder), "current")
            for folder in CURRENT_FOLDERS}
    return {"root": root, "manifest": json.loads((root / MANIFEST_NAME).read_text()), **data}


def test_current_layout_has_exactly_its_folders(current):
    root, manifest = current["root"], current["manifest"]
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(CURRENT_FOLDERS)
    assert manifest["folders"] == list(manifest["counts"]) == list(CURRENT_FOLDERS)
    assert manifest["parameters"]["layout"] == "current" and manifest["parameters"]["spelling"] == "current"
    for folder in CURRENT_FOLDERS:
        files = data_files(root / folder)
        assert files, folder
        assert manifest["counts"][folder] == {
            "files": len(files), "rows": sum(pq.ParquetFile(p).metadata.num_rows for p in files)}, folder
        assert_files_split_at_the_row_limit(root / folder)
        expected = contract.arrow_schema(contract.folder_kind(folder), "current", folder)
        metadata = pq.read_schema(root / folder / "_common_metadata")
        assert metadata.names == expected.names, folder
        for path in files:
            schema = pq.read_schema(path)
            assert [n for n, _ in partition_values(path, root / folder)] == list(contract.partition_names("current"))
            assert schema.names == [n for n in expected.names if n not in contract.partition_names("current")], path
            assert all(metadata.field(n).type == schema.field(n).type for n in schema.names), path
    assert manifest["totals"]["runs_exported"] == manifest["counts"]["all_repetitions"]["rows"]
    per_sweep = manifest["design"]["experiments_per_sweep"]
    assert per_sweep["optimizer"] == len(current["optimizer_sweep_summary"]) > 0


def test_current_runs_are_spelled_per_column(current):
    """all_repetitions/: the Keras run arrays, underscore hyperparameters and partition folders, the
    optimizer_sweep flag; each stored as the contract types it."""
    root = current["root"]
    schema = pq.read_schema(data_files(root / "all_repetitions")[0])
    names = set(schema.names)
    assert {"val_loss", "loss", "val_accuracy", "accuracy"} <= names
    assert not names & {"test_loss", "train_loss", "test_accuracy"}
    assert {"kernel_regularizer_l1", "kernel_regularizer_l2", "optimizer_sweep", "batch"} <= names
    assert not {n for n in names if "." in n}
    assert schema.field("val_loss").type == pa.list_(pa.float32())
    assert schema.field("optimizer_sweep").type == pa.bool_()
    reg_dirs = {p.name.split("=")[0] for p in (root / "all_repetitions").rglob("kernel_regularizer*") if p.is_dir()}
    assert reg_dirs == {"kernel_regularizer_type"}
    summary = pq.read_schema(data_files(root / "complete_summary")[0])
    assert {"test_loss_q1", "test_loss_median", "train_loss_q3", "test_loss_min_epoch_median"} <= set(summary.names)
    assert summary.field("test_loss_min_epoch_median").type == pa.float32()


def test_current_executive_summary_keeps_only_the_executive_columns(current):
    executive = pq.read_schema(data_files(current["root"] / contract.EXECUTIVE_FOLDER)[0])
    parts = set(contract.partition_names("current"))
    kept = [stored for c in contract.columns("summary") if c.executive
            and (stored := c.source_name("current")) is not None and stored not in parts]
    assert executive.names == kept
    best = {contract.best_point_name(m, p, s) for m in contract.BEST_POINT_METRICS
            for p in contract.BEST_POINT_PARTS for s in contract.BEST_POINT_STATS}
    assert best <= set(executive.names)
    assert all(executive.field(n).type == pa.list_(pa.float32()) for n in best)  # [float32], as the page writes it
    # no per-epoch array but the test-loss quartiles (widths: the layer widths, not per epoch)
    lists = {f.name for f in executive if pa.types.is_list(f.type)} - best - {"widths"}
    assert lists == set(contract.EXECUTIVE_ARRAYS)
    assert "num_runs" in executive.names and "num" not in executive.names and "train_loss_median" not in executive.names
    # the same rows as complete_summary, best points as one-element lists
    complete = {r["experiment_id"]: r for r in current["complete_summary"]}
    assert len(current[contract.EXECUTIVE_FOLDER]) == len(complete)
    for row in current[contract.EXECUTIVE_FOLDER]:
        full = complete[row["experiment_id"]]
        for name, value in row.items():
            if name.startswith(contract.NREL_PREFIX):
                assert isinstance(value, list) and len(value) == 1 and same({"v": value[0]}, {"v": full[name]}), name
            else:
                assert same({"v": value}, {"v": full[name]}), name


def test_current_sweep_summaries_are_copies_of_complete_summary(current):
    complete = {r["experiment_id"]: r for r in current["complete_summary"]}
    for sweep in contract.LAYOUT_SWEEPS["current"]:
        rows_ = current[f"{sweep}_sweep_summary"]
        assert rows_, sweep
        flagged = {k for k, r in complete.items() if r[f"is_{sweep}_sweep"]}
        assert {r["experiment_id"] for r in rows_} == flagged, sweep
        assert all(same(r, complete[r["experiment_id"]]) for r in rows_), sweep
    assert all(r["is_optimizer_sweep"] is not None for r in current["complete_summary"] + current["all_repetitions"])


def best_point(values: list, direction: str) -> tuple[int, float] | None:
    """(0-based index of the first best finite value, that value) of one run's array; None: no finite value."""
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(array))
    if finite.size == 0:
        return None
    best = array[finite].min() if direction == "min" else array[finite].max()
    first = finite[array[finite] == best][0]
    return int(first), float(best)


def recomputed_best_points(runs: list[dict], base: int) -> dict[str, float | None]:
    """NREL's best-point statistics of one experiment's runs, by NREL's column name (numpy, float32)."""
    out: dict[str, float | None] = {}
    for metric, direction in contract.BEST_POINT_METRICS.items():
        points = [p for r in runs if (p := best_point(r[metric], direction)) is not None]
        samples = {"epoch": np.array([e + base for e, _ in points], dtype=np.float64),
                   "value": np.array([v for _, v in points], dtype=np.float64)}
        for part, sample in samples.items():
            stats = ({} if not sample.size else
                     {"min": sample.min(), "q1": np.percentile(sample, 25), "median": np.median(sample),
                      "q3": np.percentile(sample, 75), "max": sample.max(), "avg": sample.mean()})
            for stat in contract.BEST_POINT_STATS:
                value = stats.get(stat)
                out[contract.best_point_name(metric, part, stat)] = None if value is None else float(np.float32(value))
    return out


def test_current_best_points_are_those_of_the_runs_except_the_planted_ones(current):
    """Every best-point statistic of every experiment whose runs are all exported, recomputed with numpy from
    all_repetitions at the manifest's epoch base, equals the published one, except exactly the planted ones."""
    manifest = current["manifest"]
    base = manifest["best_point_epoch_base"]
    assert base in (0, 1)
    staged = {c.source_name("current"): c.name for c in contract.SUMMARY_ONLY_COLUMNS}
    runs = runs_by_experiment(current["all_repetitions"])
    found, checked = [], 0
    for summary in current["complete_summary"]:
        members = runs.get(summary["experiment_id"], [])
        if len(members) != summary["num_runs"]:
            continue
        for column, expected in recomputed_best_points(members, base).items():
            published = summary[staged[column]]
            checked += 1
            if published != expected:
                found.append({"experiment_id": summary["experiment_id"], "column": column,
                              "published_value": published, "value_from_runs": expected})
    planted = manifest["traps"]["best_point_disagreements"]["disagreements"]
    found.sort(key=lambda d: (d["experiment_id"], d["column"]))
    assert found == [{k: d[k] for k in ("experiment_id", "column", "published_value", "value_from_runs")}
                     for d in planted]
    assert 3 <= len(planted) and all(d["staged_as"] == staged[d["column"]] for d in planted)
    assert checked > 100 * len(planted)
    # the planted experiments: no other trap; every summary copy publishes the same value
    traps = manifest["traps"]
    others = {entry["experiment_id"] for name, entry in traps.items() if "experiment_id" in entry}
    others |= {i for entry in traps.values() for i in entry.get("experiment_ids", [])}
    for d in planted:
        assert d["experiment_id"] not in others, d
        copies = [r[d["staged_as"]] for folder in CURRENT_FOLDERS if contract.folder_kind(folder) == "summary"
                  for r in current[folder] if r["experiment_id"] == d["experiment_id"]]
        assert len(copies) >= 3
        assert {c[0] if isinstance(c, list) else c for c in copies} == {d["published_value"]}


def test_current_best_points_skip_runs_without_a_finite_value(current):
    """The diverged run of its trap has no finite test loss: the statistics are those of the other runs."""
    trap = current["manifest"]["traps"]["diverged_run"]
    members = [r for r in current["all_repetitions"] if r["experiment_id"] == trap["experiment_id"]]
    summary = next(r for r in current["complete_summary"] if r["experiment_id"] == trap["experiment_id"])
    others = [r for r in members if r["run_id"] != trap["run_id"]]
    assert len(others) == len(members) - 1 >= 1
    best_values = [point for r in others if (point := best_point(r["test_loss"], "min")) is not None]
    assert len(best_values) == len(others), "the other runs of the trap have a finite test loss"
    assert summary["nrel_best_test_loss_max"] == float(np.float32(max(v for _, v in best_values)))


def test_current_optimizer_sweep(current):
    """adam, RMSprop and SGD (momentum 0 or 0.9 in the run command, as Keras writes it), complete comparison
    groups, rectangles of depths 2..6, the sweep's learning rates and batch sizes; ids after the template's."""
    summaries = current["complete_summary"]
    members = [r for r in summaries if r["is_optimizer_sweep"]]
    assert {r["optimizer"] for r in members} == {"adam", "RMSprop", "SGD"}
    assert {r["optimizer"] for r in summaries if not r["is_optimizer_sweep"]} == {"adam"}
    assert {r["shape"] for r in members} == {"rectangle"} and all(2 <= r["depth"] <= 6 for r in members)
    assert {f32(r["learning_rate"]) for r in members} <= {f32(v) for v in catalog.LEARNING_RATES}
    assert {r["batch_size"] for r in members} <= {32, 64, 128, 256}
    keras = {"adam": "Adam", "RMSprop": "RMSprop", "SGD": "SGD"}
    variant: dict[int, tuple] = {}
    for run in current["all_repetitions"]:
        optimizer = json.loads(run["command"])["optimizer"]
        assert optimizer["class_name"] == keras[run["optimizer"]]
        assert f32(optimizer["config"]["learning_rate"]) == f32(run["learning_rate"])
        momentum = optimizer["config"].get("momentum")
        assert (momentum is None) == (run["optimizer"] == "adam") and momentum in (None, 0.0, 0.9)
        assert variant.setdefault(run["experiment_id"], (run["optimizer"], momentum)) == (run["optimizer"], momentum)
    groups: dict[tuple, set] = defaultdict(set)
    for row in members:
        if row["experiment_id"] in variant:
            groups[hyperparameters(row, without="")].add(variant[row["experiment_id"]])
    every = {("adam", None), ("RMSprop", 0.0), ("RMSprop", 0.9), ("SGD", 0.0), ("SGD", 0.9)}
    assert sum(found == every for found in groups.values()) >= 3
    only_optimizer = [r for r in members if sum(r[f"is_{s}_sweep"] for s in contract.SWEEPS) == 1]
    shared_with_others = [r for r in members if r not in only_optimizer]
    assert only_optimizer and shared_with_others  # adam cores that other sweeps also hold
    assert min(r["experiment_id"] for r in only_optimizer) > max(r["experiment_id"] for r in summaries
                                                                   if not r["is_optimizer_sweep"])


def test_current_optimizers_learn_at_their_own_speed(current):
    """Over the training (the mean of the median test-loss curve) SGD without momentum is the slowest
    optimizer of every group; with momentum it still lags adam on average."""
    by_group: dict[tuple, dict] = defaultdict(dict)
    commands = {r["experiment_id"]: json.loads(r["command"])["optimizer"] for r in current["all_repetitions"]}
    for row in current["complete_summary"]:
        if row["is_optimizer_sweep"] and row["experiment_id"] in commands:
            key = (row["optimizer"], commands[row["experiment_id"]]["config"].get("momentum"))
            curve = np.array(row["test_loss_median"], dtype=np.float64)  # None -> NaN
            by_group[hyperparameters(row, without="")][key] = float(np.nanmean(curve))
    complete = [g for g in by_group.values() if {("adam", None), ("SGD", 0.0), ("SGD", 0.9)} <= set(g)]
    assert len(complete) >= 3
    for group in complete:
        assert group[("SGD", 0.0)] == max(group.values()), group
    momentum, adam = (np.mean([g[k] for g in complete]) for k in (("SGD", 0.9), ("adam", None)))
    assert momentum > adam


def test_current_layout_keeps_the_template_experiments_and_runs(current, demo_root):
    template = pq.read_table(demo_root("published") / "all_runs", columns=["experiment_id", "run_id", "val_loss"])
    ours = pq.read_table(current["root"] / "all_repetitions", columns=["experiment_id", "run_id", "val_loss"])
    theirs = {r["run_id"]: r for r in template.to_pylist()}
    kept = [r for r in ours.to_pylist() if r["run_id"] in theirs]
    assert len(kept) == len(theirs)
    assert all(same(r, theirs[r["run_id"]]) for r in kept)


def test_current_summaries_are_the_aggregates_of_the_runs(current):
    runs = runs_by_experiment(current["all_repetitions"])
    checked = 0
    for summary in current["complete_summary"]:
        members = runs.get(summary["experiment_id"], [])
        if len(members) != summary["num_runs"]:
            continue
        expected = expected_statistics(np.array([r["test_loss"] for r in members], dtype=np.float64))
        for stat in ("avg", "median", "q1", "q3"):
            stored = np.array(summary[f"test_loss_{stat}"], dtype=np.float64)
            np.testing.assert_allclose(stored, expected[stat], rtol=1e-6, atol=1e-6, equal_nan=True)
        checked += 1
    assert checked >= 0.9 * len(current["complete_summary"])


def test_current_layout_is_deterministic(current, tmp_path):
    generate(tmp_path, layout="current", epochs=TEST_EPOCHS)
    assert tree_digest(tmp_path) == tree_digest(current["root"])


def test_layouts_refuse_the_other_spellings(tmp_path):
    for layout, spellings in LAYOUT_SPELLINGS.items():
        assert contract.LAYOUT_SPELLING[layout] == spellings[0]
        for spelling in contract.SPELLINGS:
            if spelling not in spellings:
                with pytest.raises(ValueError, match=layout):
                    generate(tmp_path, layout=layout, spelling=spelling)
    with pytest.raises(ValueError):
        generate(tmp_path, layout="other")  # type: ignore[arg-type]  # not a Layout, on purpose
    assert not any(tmp_path.iterdir())


def test_the_demo_command_refuses_a_spelling_of_the_other_layout(tmp_path, capsys):
    from butter_warehouse import cli, errors

    code = cli.main(["demo", "--out", str(tmp_path), "--layout", "current", "--spelling", "published"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == errors.INPUT and len(err) == 1 and err[0].startswith("butter demo: --spelling published")
    assert not any(tmp_path.iterdir())
