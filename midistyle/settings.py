"""The contract every settings / config dataclass follows, written once.

A settings class is a dataclass that inherits :class:`Settings`: it validates itself on
construction (its :meth:`Settings.validate` names the offending field in a
:class:`SettingsError`), and round-trips through :meth:`Settings.to_dict` /
:meth:`Settings.from_dict` (JSON-ready: tuples become lists and back; unknown keys, e.g. from an
older sidecar, are ignored; a value of the wrong type is a :class:`SettingsError`).
"""
from __future__ import annotations

import dataclasses

from .errors import MidistyleError

__all__ = ["Settings", "SettingsError", "is_number"]


def is_number(value) -> bool:
    """An int or float (not a bool, not a string)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class SettingsError(MidistyleError, ValueError):
    """A settings field has a value it cannot take. ``field`` names it (the command line maps
    it to its flag when it reports)."""

    def __init__(self, owner: str, field: str, problem: str):
        self.owner, self.field, self.problem = owner, field, problem
        super().__init__(f"{owner}: {field} {problem}")


class Settings:
    """Mixin for settings dataclasses: validation on construction, ``to_dict`` / ``from_dict``."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.type in ("tuple", tuple) and isinstance(getattr(self, f.name), list):
                object.__setattr__(self, f.name, tuple(getattr(self, f.name)))
        self.validate()

    def validate(self) -> None:
        """Check every field; raise :class:`SettingsError` naming the first bad one. Override."""

    def require(self, field: str, ok: bool, problem: str) -> None:
        """Raise :class:`SettingsError` for ``field`` (``problem``, e.g. "must be >= 1") unless ``ok``."""
        if not ok:
            raise SettingsError(type(self).__name__, field, f"{problem}, got {getattr(self, field)!r}")

    def require_min(self, minimum, *names: str) -> None:
        """Every field of ``names`` is a number >= ``minimum``."""
        for name in names:
            value = getattr(self, name)
            self.require(name, is_number(value) and value >= minimum, f"must be a number >= {minimum}")

    def require_positive(self, *names: str) -> None:
        """Every field of ``names`` is a number > 0."""
        for name in names:
            value = getattr(self, name)
            self.require(name, is_number(value) and value > 0, "must be > 0")

    def require_dilations(self, *names: str) -> None:
        """Every field of ``names`` is a non-empty sequence of integers >= 1 (dilated stacks)."""
        for name in names:
            value = getattr(self, name)
            self.require(name, len(value) > 0 and all(isinstance(d, int) and d >= 1 for d in value),
                         "must be a non-empty list of integers >= 1")

    def require_one_of(self, field: str, choices) -> None:
        """``field`` is one of ``choices``."""
        self.require(field, getattr(self, field) in choices, f"must be one of {', '.join(map(str, choices))}")

    def to_dict(self) -> dict:
        """JSON-ready values of every field (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict):
        """Settings from :meth:`to_dict` output (unknown keys ignored); validated."""
        if not isinstance(d, dict):
            raise SettingsError(cls.__name__, "settings", f"must be a mapping, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in names})
        except TypeError as exc:             # e.g. a string where a number belongs
            raise SettingsError(cls.__name__, "settings", f"are malformed ({exc})") from None
