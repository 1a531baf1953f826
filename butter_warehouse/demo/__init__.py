"""Deterministic demo data in the published BUTTER layout.

``generate(root, ...)`` writes the 16 hive-partitioned folders of the data
contract (runs and summaries, per sweep), a ``_common_metadata`` schema file per
folder and ``_demo_manifest.json`` (parameters, counts, and where each trap is).

Modules: ``catalog`` (study facts), ``design`` (experiments and sweeps),
``network`` (widths, parameter counts, JSON texts), ``curves`` (run metrics),
``summary`` (per-epoch aggregates, NULL where NREL's have no value), ``traps``,
``tables`` (arrow tables in the contract schema), ``writer`` (partition paths,
parquet files encoded as the export), ``generator``.
"""

from .generator import MANIFEST_NAME, generate

__all__ = ["MANIFEST_NAME", "generate"]
