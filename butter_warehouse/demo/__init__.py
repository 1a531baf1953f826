"""Deterministic demo data in the published BUTTER layout.

``generate(root, layout=...)`` writes the hive-partitioned folders of one layout
of the data contract (``contract.LAYOUT_FOLDERS``): the template's 16 (runs and
summaries, per sweep; the default) or the current release's (runs in
``all_repetitions/``, the summaries of eight sweeps with the optimizer sweep's,
``complete_executive_summary/`` and NREL's best-point columns, epochs counted from
0), a ``_common_metadata`` schema file per folder and ``_demo_manifest.json``
(parameters, folders, counts, and where each trap is).

Modules: ``catalog`` (study facts), ``design`` (experiments and sweeps),
``network`` (widths, parameter counts, JSON texts), ``curves`` (run metrics),
``summary`` (per-epoch aggregates, NULL where NREL's have no value), ``traps``,
``tables`` (arrow tables in the contract schema), ``writer`` (partition paths,
parquet files encoded as the export), ``generator``.
"""

from .generator import LAYOUT_SPELLINGS, MANIFEST_NAME, generate

__all__ = ["LAYOUT_SPELLINGS", "MANIFEST_NAME", "generate"]
