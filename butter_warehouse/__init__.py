"""BUTTER warehouse: Python glue around the dbt + DuckDB project.

Modules:
- ``contract``: the published BUTTER layout and schema, and how each column is
  spelled in the warehouse (single source of truth for the generator and codegen).
- ``demo``: deterministic demo-data generator.
- ``codegen``: writes the dbt yml/docs files derived from the contract.
- ``duckdb_plugin``: dbt-duckdb plugin that loads httpfs offline and S3 settings.
- ``cli``: the ``butter`` command.
"""

__version__ = "0.1.0"
