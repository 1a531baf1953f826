"""BUTTER warehouse: Python glue around the dbt + DuckDB project.

Modules:
- ``contract``: the published BUTTER layout and schema, and how each column is
  spelled in the warehouse (single source of truth for the generator and codegen).
- ``demo``: deterministic demo-data generator.
- ``codegen``: writes the dbt yml/docs files derived from the contract.
- ``duckdb_plugin``: dbt-duckdb plugin that loads httpfs offline and S3 settings.
- ``publish``: build into a new file and swap it in atomically.
- ``export``: ``butter export``, a model or a select to parquet/csv.
- ``progress``: progress lines (done of total, rate, time left); ``dbt_progress``:
  the heartbeat during long dbt nodes.
- ``project``: finds the butter dbt project (--project-dir, BUTTER_PROJECT_DIR, upward search).
- ``cli``: the ``butter`` command.
"""

__version__ = "0.1.0"
