"""What each command does: one module per command group, named like its parser module in
:mod:`midistyle.cli` (which names each command's handler here; :func:`midistyle.cli.common.command`
imports it when the command runs, so that parsing and ``--help`` load none of the library)."""
