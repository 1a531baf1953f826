"""butter_warehouse.settings: every BUTTER_* variable read, validated and defaulted in one place,
and dbt's profile takes the same values (rendered by dbt itself, not parsed by a regex)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from butter_warehouse import settings
from butter_warehouse.context import Context
from butter_warehouse.settings import SettingError, load

from conftest import PROJECT_ROOT


def render_profile(env: dict[str, str]) -> dict[str, Any]:
    """profiles.yml's butter outputs as dbt renders them with exactly ``env``."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(env)
    raw = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())["butter"]["outputs"]
    return {name: ProfileRenderer({}).render_data(output) for name, output in raw.items()}


def plain(environ: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any BUTTER_* variable, plus ``environ``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BUTTER_")}
    return {**base, **(environ or {})}


def assert_profile_is(profile: dict[str, Any], cfg: settings.Settings, duckdb_path: str) -> None:
    dev, spark = profile["dev"], profile["spark"]
    assert dev["path"] == duckdb_path
    assert dev["threads"] == cfg.threads
    assert dev["config_options"]["threads"] == str(cfg.duckdb_threads)
    assert dev["config_options"]["memory_limit"] == cfg.memory_limit
    assert dev["config_options"]["temp_directory"] == (cfg.temp_directory or duckdb_path + ".tmp")
    assert spark["threads"] == cfg.threads
    params = spark["server_side_parameters"]
    assert params["spark.master"] == cfg.spark_master
    assert params["spark.driver.memory"] == cfg.spark_driver_memory
    assert params["spark.sql.shuffle.partitions"] == str(cfg.spark_shuffle_partitions)
    cluster = profile["spark_cluster"]
    assert (cluster["host"], cluster["port"], cluster["user"], cluster["auth"], cluster["threads"]) == \
        (cfg.spark_host, cfg.spark_port, cfg.spark_user, cfg.spark_auth, cfg.threads)
    # the cluster's session gets the spark target's SQL settings (a Thrift server applies a key
    # only as set:hiveconf:<key>), plus ANSI off, which dbt-spark adds only for the session method
    session_sql = {k: v for k, v in params.items() if k.startswith("spark.sql.") and k != "spark.sql.warehouse.dir"}
    prefix = "set:hiveconf:"
    assert all(k.startswith(prefix) for k in cluster["server_side_parameters"])
    assert {k.removeprefix(prefix): v for k, v in cluster["server_side_parameters"].items()} == \
        {**session_sql, "spark.sql.ansi.enabled": "false"}


def test_profile_and_settings_agree() -> None:
    """Plain dbt (no BUTTER_* set) gets the defaults settings gives Python; under butter the profile
    gets settings' values whatever they are, so its own defaults are never used."""
    defaults = load({})
    assert_profile_is(render_profile(plain()), defaults, settings.DEFAULT_DUCKDB_PATH)
    assert render_profile(plain())["spark"]["server_side_parameters"]["spark.sql.warehouse.dir"] == \
        settings.DEFAULT_SPARK_WAREHOUSE

    custom = load({"BUTTER_THREADS": "3", "BUTTER_DUCKDB_THREADS": "1", "BUTTER_MEMORY_LIMIT": "700MB",
                   "BUTTER_SPARK_MASTER": "local[1]", "BUTTER_SPARK_DRIVER_MEMORY": "1g",
                   "BUTTER_SPARK_SHUFFLE_PARTITIONS": "2", "BUTTER_SPARK_HOST": "spark.example.org",
                   "BUTTER_SPARK_PORT": "10001", "BUTTER_SPARK_USER": "analyst", "BUTTER_SPARK_AUTH": "ldap"})
    env = plain({**custom.profile_env(), "BUTTER_DUCKDB_PATH": "w.duckdb"})
    assert_profile_is(render_profile(env), custom, "w.duckdb")
    # what butter hands dbt: the resolved values, even when nothing is set
    handed = Context(project_root=PROJECT_ROOT, settings=defaults).dbt_env()
    assert_profile_is(render_profile(plain({k: v for k, v in handed.items() if k.startswith("BUTTER_")})),
                      defaults, settings.DEFAULT_DUCKDB_PATH)

    # a Python connection with settings' resources is held to the limits of dbt's connection
    options = render_profile(env)["dev"]["config_options"]
    con = duckdb.connect(config=custom.duckdb_resources())
    same = duckdb.connect(config={k: v for k, v in options.items() if k != "temp_directory"})
    try:
        for setting in ("threads", "memory_limit"):
            query = f"select current_setting('{setting}')"
            assert con.sql(query).fetchone() == same.sql(query).fetchone(), setting
    finally:
        con.close()
        same.close()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("BUTTER_HTTP_TIMEOUT", "30s", "BUTTER_HTTP_TIMEOUT must be a number of seconds (e.g. 30), got '30s'"),
    ("BUTTER_HTTP_TIMEOUT", "0.2", "BUTTER_HTTP_TIMEOUT must be at least 1 second, got '0.2'"),
    ("BUTTER_HTTP_RETRIES", "-1", "BUTTER_HTTP_RETRIES must be a whole number >= 0 (e.g. 3), got '-1'"),
    ("BUTTER_S3_CONCURRENCY", "0", "BUTTER_S3_CONCURRENCY must be a whole number >= 1 (e.g. 32), got '0'"),
    ("BUTTER_THREADS", "two", "BUTTER_THREADS must be a whole number >= 1 (e.g. 2), got 'two'"),
    ("BUTTER_DUCKDB_THREADS", "0", "BUTTER_DUCKDB_THREADS must be a whole number >= 1 (e.g. 2), got '0'"),
    ("BUTTER_SPARK_AUTH", "password", "BUTTER_SPARK_AUTH must be one of NONE, NOSASL, LDAP, KERBEROS, CUSTOM, "
                                      "got 'password'"),
    ("BUTTER_SPARK_PORT", "port", "BUTTER_SPARK_PORT must be a whole number >= 1 (e.g. 10000), got 'port'"),
    ("BUTTER_HEARTBEAT_SECONDS", "soon", "BUTTER_HEARTBEAT_SECONDS must be a number of seconds, not 'soon'"),
])
def test_an_unusable_value_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingError) as raised:
        load({name: value})
    assert str(raised.value) == message


def test_defaults_and_parsing() -> None:
    cfg = load({})
    assert (cfg.http_timeout, cfg.http_retries, cfg.s3_concurrency, cfg.threads) == (30, 3, 32, 2)
    assert cfg.duckdb_resources() == {"threads": "2", "memory_limit": "1GB"}
    assert load({"BUTTER_HTTP_TIMEOUT": "7.9"}).http_timeout == 8
    assert load({"BUTTER_S3_USE_SSL": "No"}).s3_use_ssl is False
    assert load({"BUTTER_S3_CACHE": "off"}).s3_cache_off
    assert load({"BUTTER_PROGRESS": "never"}).progress is False
    assert load({"BUTTER_TEMP_DIRECTORY": "/tmp/spill"}).duckdb_resources()["temp_directory"] == "/tmp/spill"
    assert "secret" not in repr(load({"AWS_SECRET_ACCESS_KEY": "secret"}))
    project = Path("/p")
    assert load({}).warehouse_path(project) == project / settings.DEFAULT_DUCKDB_PATH
    with pytest.raises(KeyError):
        settings.get("BUTTER_NOT_A_SETTING", {})


def test_every_variable_read_anywhere_is_declared() -> None:
    """Each BUTTER_* name in the package, the profile, the macros and the models is in VARIABLES, and
    those dbt reads (profile, macros, models) are marked so in the settings table."""
    declared = {v.name: v for v in settings.VARIABLES}
    name = re.compile(r"BUTTER_[A-Z0-9_]*[A-Z0-9]")
    places = [*(PROJECT_ROOT / "butter_warehouse").rglob("*.py"), PROJECT_ROOT / "profiles.yml",
              *(PROJECT_ROOT / "macros").rglob("*.sql"), *(PROJECT_ROOT / "models").rglob("*.sql")]
    for path in places:
        found = {n for n in name.findall(path.read_text()) if not n.endswith(("_S3", "_HTTP"))}
        assert found <= declared.keys() | {"BUTTER_S3", "BUTTER_HTTP"}, (path, found - declared.keys())
        if path.suffix in (".sql", ".yml"):  # read there with env_var(): the table says dbt reads it
            read = set(re.findall(r"env_var\(\s*['\"](BUTTER_\w+)", path.read_text()))
            assert all(declared[n].dbt for n in read), (path, read)


def test_settings_table_in_the_architecture_doc_is_current() -> None:
    assert settings.markdown_table() in (PROJECT_ROOT / "docs" / "architecture.md").read_text()
