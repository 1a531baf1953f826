"""BUTTER warehouse: Python glue around the dbt + DuckDB project.

The map of the package (layers, where each concern lives, how data flows from a
data root to a published file, every setting) is docs/architecture.md. In short:
``settings`` (every environment variable), ``contract`` (the published layout),
``context`` (what a command works on), ``pipeline`` (the build, with a DuckDB and a
Spark engine), ``commands/`` (one module per ``butter`` command), ``cli`` (parse,
find the project, dispatch).
"""

__version__ = "0.1.0"
