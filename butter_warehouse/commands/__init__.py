"""The ``butter`` subcommands: one module each, in one shape.

Each module has ``register(subparsers)`` (adds its parser), ``run(ctx, args) -> int``
(does the work, given the ``context.Context``) and ``needs_project(args) -> bool``
(whether ``cli`` must find the dbt project first). ``COMMANDS`` is the registry,
in the order ``butter --help`` lists them.
"""

from __future__ import annotations

from types import ModuleType

from . import build, codegen, compile, demo, download, export, figures, scan, spark_cluster

COMMANDS: tuple[ModuleType, ...] = (demo, codegen, scan, build, compile, export, download, figures,
                                     spark_cluster)


def register_all(subparsers: object) -> None:
    """Add every command's parser; each parser remembers its module (``args.command_module``)."""
    for module in COMMANDS:
        parser = module.register(subparsers)
        parser.set_defaults(command_module=module)
