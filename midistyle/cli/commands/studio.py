"""What ``serve`` do: each reads the parsed arguments and calls the library."""
from __future__ import annotations

from ...serve import StudioSettings, serve
from ..common import settings_from_args


def cmd_serve(args):
    serve(settings_from_args(StudioSettings, args), log_level="warning" if args.quiet else "info")
