"""Engine macros: every dispatched path renders SQL that parses, on both engines.

Each engine primitive ``butter_x`` dispatches to ``default__butter_x`` (Spark SQL)
and ``duckdb__butter_x`` (DuckDB SQL), macros/engine/. A DuckDB build runs only the
DuckDB side and the Spark side runs only in the slow Spark equality test, so here
both variants of every SQL-producing primitive are rendered with sample arguments
in one ``dbt compile --inline`` (no Spark needed) and each rendering is parsed
with sqlfluff in its engine's dialect (sparksql / duckdb): a syntax slip in either
variant fails here, in the fast lane. Primitives that return Python values or run
queries at compile time (no SQL text to parse) are listed in NOT_SQL; a new
dispatcher must be added to one of the two tables. The same compile renders the
project's generic tests on rows they must reject (GENERIC_TEST_CASES), which run
here on DuckDB: each returns its failing rows.
"""

from __future__ import annotations

import re

import pytest

from conftest import PROJECT_ROOT, run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.fast]

#: how a rendering is made a statement to parse
EXPR = "select {sql} as v from t"
STATEMENT = "select * from ({sql}) as u"
TYPE = "select cast(null as {sql}) as v"

#: dispatcher -> [(arguments, wrapper)]
CASES: dict[str, list[tuple[tuple, str]]] = {
    "butter_type": [(("uinteger",), TYPE), (("float[]",), TYPE), (("timestamp with time zone",), TYPE)],
    "butter_list_literal": [(("[0.5, NaN, Infinity]",), EXPR), (("[2, 0]", "utinyint[]"), EXPR)],
    "butter_exact_double": [(("f",), EXPR)],
    "butter_from_unix_seconds": [(("ts",), EXPR)],
    "butter_number_text": [(("f",), EXPR)],
    "butter_value_text": [(("f", "float"), EXPR), (("ts", "timestamp with time zone"), EXPR)],
    "butter_array_checksum": [(("xs",), EXPR)],
    "butter_json_number": [(("command", "$.optimizer.config.momentum"), EXPR)],
    "butter_any_value": [(("f",), EXPR)],
    "butter_quantile_cont": [(("f", 0.5), EXPR)],
    "butter_string_agg": [(("name", "', '", "k1, k2"), EXPR), (("name", "', '", "name", True), EXPR)],
    "butter_list_agg": [(("f",), EXPR)],
    "butter_array_length": [(("xs",), EXPR)],
    "butter_list_element": [(("xs", "p"), EXPR)],
    "butter_list_position": [(("xs", "v"), EXPR)],
    "butter_list_contains": [(("xs", "v"), EXPR)],
    "butter_list_min": [(("xs",), EXPR)],
    "butter_list_max": [(("xs",), EXPR)],
    "butter_list_range": [(("n",), EXPR)],
    "butter_list_transform": [(("xs", "x", "x + 1"), EXPR)],
    "butter_list_where": [(("xs", "x", "x > 0"), EXPR)],
    "butter_is_finite": [(("f",), EXPR)],
    "butter_list_avg": [(("xs",), EXPR)],
    "butter_list_quantile_cont": [(("xs", 0.25), EXPR)],
    "butter_list_stddev_samp": [(("xs",), EXPR)],
    "butter_epoch_grid": [(("n", "best", 8), EXPR)],
    "butter_unnest_epochs": [(("runs", ["run_id", "seed"], ["a", "b"]), STATEMENT)],
    "butter_unnest_zipped": [(("runs", ["a", "b"], ["run_id", "seed"]), STATEMENT)],
    "butter_partition_value": [(("dataset",), EXPR)],
    "butter_struct": [(([["grid", "xs"], ["best_epoch", "n + 1"]],), EXPR)],
    "butter_star_except": [((["a", "b"],), "select {sql} from t"), ((["a"], "t"), "select {sql} from t")],
}
#: dispatchers whose variants return Python values or run queries at compile time
NOT_SQL = {
    "butter_describe": "runs DESCRIBE and returns a list of columns",
    "butter_source_relation": "reads the inventory; returns a relation",
    "butter_register_sources": "runs DDL on Spark; logs on DuckDB",
    "butter_scan_inventory": "returns a folder (raises on Spark)",
    "butter_inventory": "a table expression over a file path (checked by every build)",
    "butter_failure_advice": "returns advice text",
    "butter_store_database": "returns a database name (or none)",
    "butter_current_copies": "reads the inventory (a statement checked by every build)",
    "butter_staging_sql": "queries the catalog; returns folder -> SQL",
}
DIALECTS = {"default": "sparksql", "duckdb": "duckdb"}


def dispatchers() -> set[str]:
    found = set()
    for path in (PROJECT_ROOT / "macros").rglob("*.sql"):
        found |= set(re.findall(r"adapter\.dispatch\('(\w+)'", path.read_text()))
    return found


def jinja(value: object) -> str:
    if value is True or value is False:
        return str(value).lower()
    return repr(value)


def test_every_dispatcher_is_checked_or_listed() -> None:
    assert dispatchers() == set(CASES) | set(NOT_SQL)


#: generic tests rendered in the same compile and run on DuckDB here: (test macro call, rows it must return)
GENERIC_TEST_CASES: dict[str, tuple[str, list[tuple]]] = {
    # NaN, +inf and -inf fail, NULL and finite values pass; one row per failing column
    "finite_values": (
        "test_butter_finite_values(\"(select * from (values (1.0::double, 1.0::float, 1.0::double), "
        "('nan'::double, 'inf'::float, null), ('-inf'::double, 2.0::float, 3.0::double)) as t(a, b, c))\", "
        "['a', 'b', 'c'])",
        [("a", 2), ("b", 1)],
    ),
    # NULL fails, any other value (NaN, empty text, false) passes; one row per failing column
    "not_null": (
        "test_butter_not_null(\"(select * from (values (1, 'x', 'nan'::double, false), (null, '', null, null), "
        "(null, 'y', 2.0::double, true)) as t(a, b, c, d))\", ['a', 'b', 'c', 'd'])",
        [("a", 2), ("c", 1), ("d", 1)],
    ),
    # `when`: NULL fails only in the rows its condition holds
    "not_null_when": (
        "test_butter_not_null(\"(select * from (values (1, null), (3, null), (null, null), (2, 5)) as t(a, e))\", "
        "['a'], {'e': 'a is not null'})",
        [("a", 1), ("e", 2)],
    ),
    # a repeated value, a value not accepted (a number, a string) and one missing from the parent (whose
    # repeated keys must not multiply the rows) fail; NULL passes every rule
    "column_rules": (
        "test_butter_column_rules(\"(select * from (values (1, 'x', 'p'), (1, 'y', 'q'), (2, 'z', 'r'), "
        "(null, 'x', 'r'), (null, null, null)) as t(a, b, c))\", ['a', 'b'], {'a': [2], 'b': ['x', 'y']}, "
        "{'c': {'to': \"(select * from (values ('p'), ('p'), ('q')) as p(k))\", 'field': 'k'}})",
        [("a__accepted_values", 2), ("a__unique", 1), ("b__accepted_values", 1), ("b__unique", 1),
         ("c__relationships", 2)],
    ),
    # outside the bounds fails (a bound may be another column; a NULL bound fails a value), NULL passes
    "columns_between": (
        "test_butter_columns_between(\"(select * from (values (1, 5, 2), (0, 5, null), (7, 6, 3), (null, 1, 9), (3, null, 1)) "
        "as t(a, n, b))\", {'a': {'min_value': 1, 'max_value': 'n'}, 'b': {'max_value': 2}, 'n': {'min_value': 1}})",
        [("a", 3), ("b", 2)],
    ),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every case of CASES (``<engine>__<name>#<i>``) and GENERIC_TEST_CASES rendered by one
    ``dbt compile --inline``: key -> SQL."""
    lines = []
    for name, cases in CASES.items():
        for i, (args, _) in enumerate(cases):
            for engine in DIALECTS:
                lines += [f"-- @@{engine}__{name}#{i}", f"{{{{ {engine}__{name}({', '.join(jinja(a) for a in args)}) }}}}"]
    for key, (call, _) in GENERIC_TEST_CASES.items():
        lines += [f"-- @@{key}", f"{{{{ {call} }}}}"]
    lines.append("-- @@end")
    workdir = tmp_path_factory.mktemp("engine-macros")
    result = run_dbt(["--quiet", "compile", "--inline", "\n".join(lines)], data_root=workdir / "none",
                     workdir=workdir / "dbt")
    assert result.ok, result
    return dict(re.findall(r"^-- @@(\S+)\n(.*?)(?=^-- @@)", result.output, re.S | re.M))


def test_generic_tests_return_the_failing_rows(rendered: dict[str, str]) -> None:
    """A generic test run on rows it must reject returns them (it can fail)."""
    import duckdb

    for key, (_, expected) in GENERIC_TEST_CASES.items():
        assert sorted(duckdb.sql(rendered[key]).fetchall()) == expected, (key, rendered[key])


def test_every_variant_renders_sql_that_parses(rendered: dict[str, str]) -> None:
    from sqlfluff.core import FluffConfig, Linter

    wrappers = {f"{engine}__{name}#{i}": wrapper for name, cases in CASES.items()
                for i, (_, wrapper) in enumerate(cases) for engine in DIALECTS}
    assert set(rendered) == set(wrappers) | set(GENERIC_TEST_CASES)
    failures = []
    linters = {engine: Linter(config=FluffConfig(overrides={"dialect": dialect, "templater": "raw"}))
               for engine, dialect in DIALECTS.items()}
    for key, sql in rendered.items():
        if key not in wrappers:
            continue
        statement = wrappers[key].format(sql=sql.strip()) + "\n"
        parsed = linters[key.split("__")[0]].parse_string(statement)
        unparsable = parsed.tree is None or "unparsable" in parsed.tree.stringify()
        if parsed.violations or unparsable:
            failures.append(f"{key}: {[str(v) for v in parsed.violations][:2]}\n{statement}")
    assert not failures, "\n\n".join(failures)
