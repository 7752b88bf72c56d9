"""``serve``: the local studio page and its JSON API."""
from __future__ import annotations

from .common import RAW, command, config_fields, nonneg_int, pos_float, pos_int

__all__ = ["add_commands"]


def add_commands(sub) -> None:
    """``serve`` on the top-level subparsers ``sub``."""
    s = sub.add_parser("serve", help="the local studio: drop a file on a page, hear and see before/after, download",
                       description="Start the studio at http://127.0.0.1:8000: a page where you drop a MIDI file (or "
                                   "a score), restyle it or draw chords from it, see the before/after figure, listen "
                                   "to both (SoundFont piano) and download the MIDI and WAV. The page's JSON API "
                                   "(GET /api/models, POST /api/velocity, POST /api/chords) works from scripts too. "
                                   "Nothing is fetched from the network; results live in a private temporary folder "
                                   "and are removed when they expire or the studio stops.",
                       epilog="examples:\n  midistyle serve\n  midistyle serve --port 8765\n"
                              "  curl -F file=@song.mid -F to=classical http://127.0.0.1:8000/api/velocity",
                       formatter_class=RAW)
    s.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1, this machine only; "
                                                "any other warns, since the studio has no login)")
    s.add_argument("--port", type=nonneg_int, default=None, help="port (default: 8000; 0 picks a free one)")
    s.add_argument("--max-upload-mb", type=pos_float, default=None, help="largest upload in MiB (default: 20)")
    s.add_argument("--keep-minutes", type=pos_float, default=None,
                   help="results are removed this long after they were made (default: 60)")
    s.add_argument("--audio-seconds", type=pos_float, default=None,
                   help="render at most this many seconds of a piece as audio (default: 600)")
    s.add_argument("--render-workers", type=pos_int, default=None, help="audio renders at once (default: 1)")
    s.add_argument("--quiet", action="store_true", help="log warnings and errors only (no request log)")
    fields = {"host": "--host", "port": "--port", "max_upload_mb": "--max-upload-mb",
              "keep_minutes": "--keep-minutes", "audio_seconds": "--audio-seconds",
              "render_workers": "--render-workers"}
    config_fields(s, fields)
    s.set_defaults(func=command("studio", "cmd_serve"))
