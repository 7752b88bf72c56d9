"""Settings and constants of a chord generator: :class:`ChordsConfig` (architecture and training),
the file kind and format, the running decays the model reads, and the MIDI grid of its output."""
from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings

KIND = "chords"
FORMAT_VERSION = 3
#: Decay per 50 ms of the two running pitch-class profiles the LSTM reads (about 1.7 s and 7 s
#: half-lives); a frame of ``k`` 25 ms steps decays by ``d ** (k / 2)`` (:func:`frame_decays`).
KEY_DECAYS = (0.98, 0.995)
#: Decay per 50 ms of the running pedal share and onset-event rate the LSTM reads (about 3.5 s half-life).
HABIT_DECAY = 0.99
#: Where those two running habits sit among the model inputs (the last two columns).
HABIT_COLUMNS = slice(-2, None)
TICKS_PER_SECOND = 960          # 480 ticks per beat at 120 bpm
MAX_SECONDS = 3600.0
#: Seconds at the start of an inspiration whose key a draw is told (a harmony LSTM that reads keys)
INSPIRATION_KEY_SECONDS = 30.0


def frame_decays(frame_steps: int) -> tuple:
    """``(key decays, habit decay)`` per frame of ``frame_steps`` 25 ms steps: the same half-lives
    in seconds whatever the frame."""
    e = frame_steps / 2.0
    return tuple(d ** e for d in KEY_DECAYS), HABIT_DECAY ** e


def key_memory_decay(frame_steps: int, half_life: float) -> float:
    """Decay per frame of ``frame_steps`` 25 ms steps of the per-key trace of the last strike
    (:attr:`ChordsConfig.key_memory`, a half-life in seconds)."""
    return 0.5 ** (0.025 * frame_steps / half_life)


@dataclass
class ChordsConfig(Settings):
    """Architecture and training settings of a chord generator."""

    frame_steps: int = 1           # 25 ms steps per frame: 1 -> 25 ms
    units: int = 256
    cond_dropout: float = 0.1      # dropout on the embedding in training
    foreign_cond: float = 0.25     # share of training windows started from another genre's embedding
    transpose: int = 6             # training windows shifted by up to +- this many semitones
    seq_len: int = 256             # frames per training window (6.4 s of 25 ms frames)
    batch_size: int = 32
    epochs: int = 40
    steps_per_epoch: int = 60
    patience: int = 4
    learning_rate: float = 3e-3
    input_noise: float = 0.003     # training: share of key / pedal bits of the fed-back frames flipped
    within_frame: bool = True      # a key's onset depends on the keys below it struck in the same frame
    within_holds: bool = False     # the holds and the pedal of a frame depend on the keys struck in it
    key_memory: float = 0.0        # half-life (s) of a per-key trace of its last strike, read each frame (0: none)
    event_memory: int = 0          # frames of past onset events (struck or not) read each frame (0: none)
    relative_keys: int = 0         # keys up to this many semitones away reach a key's onset through the
                                   # trace of key_memory by one weight per distance, shared over the keyboard
    lowest_key: bool = False       # an onset event's lowest struck key comes from one softmax over the keys
                                   # (an event always strikes a key); the keys above it as with within_frame
    harmony: int = 0               # frames per harmony step (0: no harmony layer); each frame reads the
                                   # harmony of its step and the next, drawn first by a harmony LSTM
    harmony_vocab: int = 48        # set classes the harmony LSTM draws from (each in 12 transpositions)
    harmony_units: int = 128
    harmony_seq: int = 64          # harmony steps per training window of the harmony LSTM
    harmony_noise: float = 0.0     # training: share of the harmony LSTM's input tokens replaced by random ones
                                   # (so that a draw recovers its key after an unlikely harmony of its own)
    harmony_key: bool = False      # the harmony LSTM reads the key of each step (told one key when it draws)
    figure_lags: int = 0           # each frame reads the keys struck 1..figure_lags harmony steps before it
    seed: int = 0

    def validate(self) -> None:
        """Sizes >= 1, shares in [0, 1], transposition >= 0."""
        self.require_min(1, "frame_steps", "units", "seq_len", "batch_size", "epochs", "steps_per_epoch", "patience")
        self.require_min(0, "transpose", "seed", "key_memory", "event_memory", "relative_keys")
        self.require("event_memory", isinstance(self.event_memory, int), "must be a whole number of frames")
        self.require("relative_keys", isinstance(self.relative_keys, int) and (not self.relative_keys or self.key_memory),
                     "must be a whole number of semitones, and needs key_memory > 0")
        for name in ("foreign_cond", "input_noise", "harmony_noise"):
            value = getattr(self, name)
            self.require(name, isinstance(value, (int, float)) and 0 <= value <= 1, "must be in [0, 1]")
        self.require("cond_dropout", isinstance(self.cond_dropout, (int, float)) and 0 <= self.cond_dropout < 1,
                     "must be in [0, 1)")
        self.require("learning_rate", isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0,
                     "must be > 0")
        self.require("within_frame", isinstance(self.within_frame, bool), "must be true or false")
        self.require("within_holds", isinstance(self.within_holds, bool) and (not self.within_holds or self.within_frame),
                     "must be true or false, and needs within_frame")
        self.require("lowest_key", isinstance(self.lowest_key, bool) and (not self.lowest_key or self.within_frame),
                     "must be true or false, and needs within_frame")
        self.require_min(0, "harmony", "figure_lags")
        self.require_min(1, "harmony_vocab", "harmony_units", "harmony_seq")
        self.require("figure_lags", not self.figure_lags or self.harmony, "needs harmony > 0 (lags are harmony steps)")
        self.require("harmony_noise", not self.harmony_noise or self.harmony, "needs harmony > 0 (it is the harmony LSTM's)")
        self.require("harmony_key", isinstance(self.harmony_key, bool) and (not self.harmony_key or self.harmony),
                     "must be true or false, and needs harmony > 0 (it is the harmony LSTM's)")


def memory_settings(cfg: "ChordsConfig | None") -> dict:
    """``key_memory`` and ``event_memory`` of ``cfg`` (none without one)."""
    return {"key_memory": cfg.key_memory, "event_memory": cfg.event_memory} if cfg is not None else {}
