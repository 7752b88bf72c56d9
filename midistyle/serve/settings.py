"""The studio's settings (the one config object of `midistyle serve`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings, is_number

__all__ = ["StudioSettings", "LOCAL_HOSTS"]

#: hosts that only this machine reaches
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class StudioSettings(Settings):
    """Settings of the local studio.

    Attributes
    ----------
    host, port : str, int
        Where it listens (127.0.0.1:8000; port 0 picks a free one).
    max_upload_mb : float
        Largest upload taken, in MiB (20).
    max_seconds : float
        Longest piece taken (7200 s = 2 h, the command line's guard).
    max_chord_seconds : float
        Longest chords draw asked for (120 s).
    audio_seconds : float
        Audio is rendered for at most this many seconds of a piece (600).
    keep_minutes : float
        A result is removed this long after it was made (60); all are removed when the studio stops.
    render_workers : int
        Audio renders at once (1).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: float = 20.0
    max_seconds: float = 7200.0
    max_chord_seconds: float = 120.0
    audio_seconds: float = 600.0
    keep_minutes: float = 60.0
    render_workers: int = 1

    def validate(self) -> None:
        self.require("host", isinstance(self.host, str) and bool(self.host.strip()), "must be a host name or address")
        self.require("port", isinstance(self.port, int) and 0 <= self.port <= 65535, "must be in 0..65535")
        for name in ("max_upload_mb", "max_seconds", "max_chord_seconds", "audio_seconds", "keep_minutes"):
            self.require(name, is_number(getattr(self, name)) and getattr(self, name) > 0, "must be a number > 0")
        self.require("render_workers", isinstance(self.render_workers, int) and self.render_workers >= 1,
                     "must be an integer >= 1")

    @property
    def max_upload_bytes(self) -> int:
        """The upload cap in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def local(self) -> bool:
        """Whether only this machine can reach the studio."""
        return self.host in LOCAL_HOSTS
