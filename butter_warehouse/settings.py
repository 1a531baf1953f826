"""Every setting butter takes from the environment: read, validated and defaulted here.

``load(env=None)`` reads ``os.environ`` (or the mapping given) once and returns a
frozen ``Settings``; a value that cannot be used stops with a ``SettingError``
naming the variable. No other module reads a ``BUTTER_*`` variable: they take a
``Settings`` (or call ``load``). ``VARIABLES`` describes each one; ``butter
codegen`` writes it as the settings table of docs/architecture.md.

dbt's profile (profiles.yml) reads the same variables with ``env_var``. Under
``butter`` it never falls back to its own defaults: ``Settings.profile_env``
hands dbt every resource value this module resolved. The ``env_var`` defaults in
profiles.yml stay only for plain ``dbt`` runs; tests/python/test_settings.py
renders the profile with dbt's own renderer and checks it agrees with ``load({})``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ButterError

#: where the published DuckDB warehouse lives, relative to the project (BUTTER_DUCKDB_PATH unset)
DEFAULT_DUCKDB_PATH = "warehouse/butter.duckdb"
#: where the Spark warehouse lives, relative to the project (BUTTER_SPARK_WAREHOUSE unset)
DEFAULT_SPARK_WAREHOUSE = "warehouse/spark"
#: the demo data root, relative to the project (BUTTER_DATA_ROOT unset)
DEFAULT_DEMO_ROOT = "data/demo"
#: where ``butter build`` lands an s3:// data root (or re-encodes a local one for Spark),
#: relative to the project (BUTTER_S3_CACHE unset)
DEFAULT_S3_CACHE = "data/s3-cache"

_FALSE = ("0", "false", "no")
_ON = ("1", "always", "on", "true", "yes")
_OFF = ("0", "never", "off", "false", "no")


#: what ``duckdb.connect(config=...)`` takes (``Settings.duckdb_resources``)
DuckDBConfig = dict[str, str | bool | int | float | list[str]]


class SettingError(ButterError, ValueError):
    """A BUTTER_* setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, the Settings field it fills, default and meaning."""

    name: str
    field: str
    default: str
    doc: str
    parse: Callable[[str, str | None], Any]
    dbt: bool = False  # read by profiles.yml / the macros too


def _text(default: str | None) -> Callable[[str, str | None], str | None]:
    def parse(name: str, raw: str | None) -> str | None:
        raw = raw.strip() if raw is not None else None
        return raw or default
    return parse


def _whole(default: int, minimum: int, example: int) -> Callable[[str, str | None], int]:
    def parse(name: str, raw: str | None) -> int:
        text = (raw or str(default)).strip()
        if not text.isdigit() or int(text) < minimum:
            raise SettingError(f"{name} must be a whole number >= {minimum} (e.g. {example}), got {text!r}")
        return int(text)
    return parse


#: the Thrift server's authentication modes dbt-spark's ``thrift`` method speaks
SPARK_AUTHS = ("NONE", "NOSASL", "LDAP", "KERBEROS", "CUSTOM")


def _choice(default: str, choices: tuple[str, ...]) -> Callable[[str, str | None], str]:
    def parse(name: str, raw: str | None) -> str:
        text = (raw or default).strip().upper()
        if text not in choices:
            raise SettingError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return text
    return parse


def _timeout(name: str, raw: str | None) -> int:
    text = (raw or "30").strip()
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{name} must be a number of seconds (e.g. 30), got {text!r}") from None
    if not value >= 1 or math.isinf(value):
        raise SettingError(f"{name} must be at least 1 second, got {text!r}")
    return round(value)


def _seconds(default: float) -> Callable[[str, str | None], float]:
    def parse(name: str, raw: str | None) -> float:
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingError(f"{name} must be a number of seconds, not {raw!r}") from None
        if not value > 0:
            raise SettingError(f"{name} must be > 0, not {raw!r}")
        return value
    return parse


def _flag(name: str, raw: str | None) -> bool:
    return (raw or "true").strip().lower() not in _FALSE


def _switch(name: str, raw: str | None) -> bool:
    """`1` on; `0` or unset off (what the dbt macro reading it compares with)."""
    text = (raw or "").strip().lower()
    if text not in ("", "0", "1"):
        raise SettingError(f"{name} must be 1 or 0 (or unset), got {raw!r}")
    return text == "1"


def _ci(name: str, raw: str | None) -> bool:
    return (raw or "").strip().lower() not in ("", *_FALSE)


def _progress(name: str, raw: str | None) -> bool | None:
    text = (raw or "").strip().lower()
    return True if text in _ON else False if text in _OFF else None


def _url_style(name: str, raw: str | None) -> str:
    return (raw or "vhost").strip() or "vhost"


def _raw(name: str, raw: str | None) -> str | None:
    return raw if raw else None


#: every variable, in the order of the settings table; AWS_* and CI are not butter's but read here too
VARIABLES: tuple[Variable, ...] = (
    Variable("BUTTER_PROJECT_DIR", "project_dir", "the nearest dbt_project.yml named butter at or above the "
             "working directory", "the dbt project butter works on (after --project-dir)", _text(None)),
    Variable("BUTTER_DATA_ROOT", "data_root", f"`{DEFAULT_DEMO_ROOT}` in the project (demo data, generated "
             "on first build)", "the BUTTER data: a local folder (relative to where butter runs) or `s3://bucket/prefix`",
             _text(None), dbt=True),
    Variable("BUTTER_DUCKDB_PATH", "duckdb_path", f"`{DEFAULT_DUCKDB_PATH}` in the project",
             "the published DuckDB warehouse (relative to where butter runs)", _text(None), dbt=True),
    Variable("BUTTER_DECODE_STORE", "decode_store", "`butter build`: `<published warehouse>.store` beside it; "
             "plain dbt: in memory (nothing kept)",
             "the decode store: every source file's decoded copies, kept between DuckDB builds (delete it, "
             "or `butter build --full-refresh`, to decode everything again)", _text(None), dbt=True),
    Variable("BUTTER_INVENTORY", "inventory", "set by `butter build`; plain dbt scans in-process",
             "the scan's inventory folder the staging models read", _text(None), dbt=True),
    Variable("BUTTER_REGISTER_SOURCES", "register_sources", "set to `1` by `butter build --target spark` / "
             "`spark_cluster`; plain dbt: unset", "`1`: every dbt command that runs hooks registers the Spark "
             "source tables first (on-run-start, `butter_register_sources`)", _switch, dbt=True),
    Variable("BUTTER_THREADS", "threads", "2", "dbt threads: models and tests run at the same time",
             _whole(2, 1, 2), dbt=True),
    Variable("BUTTER_DUCKDB_THREADS", "duckdb_threads", "2", "DuckDB worker threads per query",
             _whole(2, 1, 2), dbt=True),
    Variable("BUTTER_MEMORY_LIMIT", "memory_limit", "1GB", "DuckDB buffer memory for the whole build "
             "(sorts, joins and aggregates spill beyond it)", _text("1GB"), dbt=True),
    Variable("BUTTER_TEMP_DIRECTORY", "temp_directory", "`<database>.tmp` beside the warehouse file",
             "where DuckDB spills", _text(None), dbt=True),
    Variable("BUTTER_S3_ENDPOINT", "s3_endpoint", "AWS", "host[:port] of an S3-compatible endpoint", _text(None)),
    Variable("BUTTER_S3_REGION", "s3_region", "us-west-2", "S3 region (the OEDI bucket's)", _text("us-west-2")),
    Variable("BUTTER_S3_URL_STYLE", "s3_url_style", "vhost", "`vhost` or `path` (most emulators)", _url_style),
    Variable("BUTTER_S3_USE_SSL", "s3_use_ssl", "true", "`false`, `0` or `no` for plain http", _flag),
    Variable("BUTTER_HTTP_TIMEOUT", "http_timeout", "30", "seconds before an unanswered request fails "
             "(whole seconds, >= 1)", _timeout),
    Variable("BUTTER_HTTP_RETRIES", "http_retries", "3", "retries of a failed request (>= 0)", _whole(3, 0, 3)),
    Variable("BUTTER_S3_CONCURRENCY", "s3_concurrency", "32", "S3 requests in flight at once (scan footers, "
             "`butter download`, the S3 landing of `butter build`)", _whole(32, 1, 32)),
    Variable("BUTTER_S3_CACHE", "s3_cache", f"`{DEFAULT_S3_CACHE}` in the project",
             "where `butter build` lands an s3:// data root (and Spark's zstd copy of a Brotli root); "
             "`off` reads the data root as it is (S3 directly; Brotli on a Spark with the codec)", _text(None)),
    Variable("AWS_ACCESS_KEY_ID", "aws_access_key_id", "unset (unsigned reads of the public bucket)",
             "S3 credentials", _raw),
    Variable("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "unset", "S3 credentials", _raw),
    Variable("AWS_SESSION_TOKEN", "aws_session_token", "unset", "S3 credentials", _raw),
    Variable("BUTTER_PROGRESS", "progress", "on a terminal and not under CI", "`always` or `never`: "
             "force progress lines on or off", _progress),
    Variable("CI", "ci", "unset", "set (not false/0/no): no progress lines", _ci),
    Variable("BUTTER_HEARTBEAT_SECONDS", "heartbeat_seconds", "30", "seconds of dbt silence before a "
             "progress heartbeat", _seconds(30.0)),
    Variable("BUTTER_SPARK_WAREHOUSE", "spark_warehouse", f"`{DEFAULT_SPARK_WAREHOUSE}` in the project",
             "the Spark warehouse folder (`--target spark`)", _text(None), dbt=True),
    Variable("BUTTER_SPARK_MASTER", "spark_master", "local[*]", "Spark master", _text("local[*]"), dbt=True),
    Variable("BUTTER_SPARK_DRIVER_MEMORY", "spark_driver_memory", "2g", "Spark driver JVM heap", _text("2g"),
             dbt=True),
    Variable("BUTTER_SPARK_SHUFFLE_PARTITIONS", "spark_shuffle_partitions", "4", "spark.sql.shuffle.partitions",
             _whole(4, 1, 4), dbt=True),
    Variable("BUTTER_SPARK_HOST", "spark_host", "127.0.0.1", "the Spark Thrift server's host (`--target "
             "spark_cluster`)", _text("127.0.0.1"), dbt=True),
    Variable("BUTTER_SPARK_PORT", "spark_port", "10000", "the Spark Thrift server's port", _whole(10000, 1, 10000),
             dbt=True),
    Variable("BUTTER_SPARK_USER", "spark_user", "butter", "the user name given to the Thrift server",
             _text("butter"), dbt=True),
    Variable("BUTTER_SPARK_AUTH", "spark_auth", "NONE", "the Thrift server's authentication: `NONE`, `NOSASL`, "
             "`LDAP`, `KERBEROS` or `CUSTOM` (`hive.server2.authentication`)", _choice("NONE", SPARK_AUTHS),
             dbt=True),
)

#: the variables profiles.yml reads with a default of its own: butter always passes them resolved
PROFILE_VARIABLES = ("BUTTER_THREADS", "BUTTER_DUCKDB_THREADS", "BUTTER_MEMORY_LIMIT", "BUTTER_SPARK_MASTER",
                     "BUTTER_SPARK_DRIVER_MEMORY", "BUTTER_SPARK_SHUFFLE_PARTITIONS", "BUTTER_SPARK_HOST",
                     "BUTTER_SPARK_PORT", "BUTTER_SPARK_USER", "BUTTER_SPARK_AUTH")


def decode_store_beside(warehouse: Path) -> Path:
    """The decode store kept beside a DuckDB warehouse file: ``<warehouse>.store``."""
    return warehouse.with_name(warehouse.name + ".store")


@dataclass(frozen=True)
class Settings:
    """The environment's settings, validated and defaulted (see ``VARIABLES``)."""

    project_dir: str | None = None
    data_root: str | None = None
    duckdb_path: str | None = None
    decode_store: str | None = None
    inventory: str | None = None
    register_sources: bool = False
    threads: int = 2
    duckdb_threads: int = 2
    memory_limit: str = "1GB"
    temp_directory: str | None = None
    s3_endpoint: str | None = None
    s3_region: str = "us-west-2"
    s3_url_style: str = "vhost"
    s3_use_ssl: bool = True
    http_timeout: int = 30
    http_retries: int = 3
    s3_concurrency: int = 32
    s3_cache: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    progress: bool | None = None
    ci: bool = False
    heartbeat_seconds: float = 30.0
    spark_warehouse: str | None = None
    spark_master: str = "local[*]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 4
    spark_host: str = "127.0.0.1"
    spark_port: int = 10000
    spark_user: str = "butter"
    spark_auth: str = "NONE"

    # --- derived values -----------------------------------------------------------------

    @property
    def s3_cache_off(self) -> bool:
        """BUTTER_S3_CACHE=off: the build reads the data root as it is (no landed copy)."""
        return (self.s3_cache or "").lower() in ("off", "no", "0", "false")

    def warehouse_path(self, project_root: Path) -> Path:
        """The published DuckDB file: BUTTER_DUCKDB_PATH (relative to the working directory), else the default."""
        return Path(os.path.abspath(self.duckdb_path or project_root / DEFAULT_DUCKDB_PATH))

    def decode_store_path(self, project_root: Path) -> Path:
        """The decode store: BUTTER_DECODE_STORE (relative to the working directory), else
        the one beside the published warehouse (where a new build finds it)."""
        if self.decode_store:
            return Path(os.path.abspath(self.decode_store))
        return decode_store_beside(self.warehouse_path(project_root))

    def spark_warehouse_dir(self, project_root: Path) -> Path:
        """The Spark warehouse folder: BUTTER_SPARK_WAREHOUSE (relative to the working directory), else the default."""
        return Path(os.path.abspath(self.spark_warehouse)) if self.spark_warehouse else \
            project_root / DEFAULT_SPARK_WAREHOUSE

    def s3_cache_dir(self, project_root: Path) -> Path:
        return Path(os.path.abspath(self.s3_cache or project_root / DEFAULT_S3_CACHE))

    def duckdb_resources(self) -> DuckDBConfig:
        """``duckdb.connect(..., config=...)``: the resources dbt's DuckDB connection gets from the profile."""
        config: DuckDBConfig = {"threads": str(self.duckdb_threads), "memory_limit": self.memory_limit}
        if self.temp_directory:
            config["temp_directory"] = self.temp_directory
        return config

    def profile_env(self) -> dict[str, str]:
        """The profile's variables, resolved: what butter hands dbt so profiles.yml never uses its own defaults."""
        by_name = {v.name: v for v in VARIABLES}
        return {name: str(getattr(self, by_name[name].field)) for name in PROFILE_VARIABLES}


def load(env: Mapping[str, str] | None = None) -> Settings:
    """The settings in ``env`` (default ``os.environ``); raises SettingError naming the first unusable one."""
    env = os.environ if env is None else env
    return Settings(**{v.field: v.parse(v.name, env.get(v.name)) for v in VARIABLES})


def get(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One variable's value, parsed and defaulted as ``load`` does (for code that needs only it,
    such as a progress bar, so an unrelated unusable setting does not stop it)."""
    env = os.environ if env is None else env
    variable = next((v for v in VARIABLES if v.name == name), None)
    if variable is None:
        raise KeyError(f"{name} is not a setting (butter_warehouse.settings.VARIABLES)")
    return variable.parse(name, env.get(name))


def coerce(given: Settings | Mapping[str, str] | None) -> Settings:
    """A Settings as is; a mapping (or None: os.environ) loaded."""
    return given if isinstance(given, Settings) else load(given)


def markdown_table() -> str:
    """The settings table of docs/architecture.md (``butter codegen`` writes it)."""
    rows = ["| Variable | Default | Meaning | dbt reads it |", "|---|---|---|---|"]
    for v in VARIABLES:
        rows.append(f"| `{v.name}` | {v.default} | {v.doc} | {'yes' if v.dbt else ''} |")
    return "\n".join(rows)


assert {v.field for v in VARIABLES} == {f.name for f in fields(Settings)}, "VARIABLES and Settings disagree"
