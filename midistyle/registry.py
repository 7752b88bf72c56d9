"""Where models live and how a kind and a name (a genre) map to files.

Models are looked up, in this order, in

1. the **shipped** set: ``midistyle/_models`` inside an installed package (a wheel or sdist build
   copies the inference files of the checkout's ``models/`` there), else the checkout's
   ``models/`` folder (an editable install);
2. each folder of ``$MIDISTYLE_MODELS`` (``os.pathsep``-separated), which *adds* to the search;
3. the user's model folder (:func:`user_dir`: the platform's user data folder, e.g.
   ``~/.local/share/midistyle/models`` on Linux), where the train commands install models.

A model is a sidecar ``STEM.json`` whose ``kind`` names a model kind, with its NumPy weights
``STEM.npz`` beside it (the judges are a JSON file alone). When two folders hold a model of the
same kind and name, the first in that order wins and the others are listed as *shadowed*
(:func:`catalog`): the shipped models win, so a name in the documentation and the model cards
always means the model they describe, and a file dropped in a folder never silently changes what
a command does. A shadowed model is still used when named by its path.
"""
from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import asdict, dataclass, field

from .errors import InputError, ModelError

__all__ = ["SHIPPED", "ENV", "USER", "MODEL_KINDS", "ModelEntry", "shipped_dir", "user_dir", "search_path",
           "scan_folder", "catalog", "find", "names", "install_path", "check_model_name",
           "velocity_genres", "velocity_model_path", "chords_genres", "chords_model_path", "classifier_path",
           "velocity_judge_path", "content_judge_path", "audio_genre_path"]

#: where a model folder comes from, in search order
SHIPPED, ENV, USER = "shipped", "env", "user"
#: model kinds and whether a model of that kind has NumPy weights (``STEM.npz``) beside its sidecar
MODEL_KINDS = {"velocity": True, "chords": True, "tempo": True, "classifier": True, "audio-genre": True,
               "velocity-judge": False, "content-judge": False}
#: kinds with one model per genre, named by the genre; the others are named by their kind
GENRE_KINDS = ("velocity", "chords", "tempo")
#: the name a user model may have (it becomes part of a file name)
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class ModelEntry:
    """One model found in a model folder.

    ``kind`` and ``name`` (the genre, or the kind for single models) identify it; ``path`` is its
    sidecar ``STEM.json``, which its loader takes (the ``.npz`` weights and, in a checkout, the
    training's ``.keras`` share the stem); ``origin`` is
    :data:`SHIPPED`, :data:`ENV` or :data:`USER`; ``summary`` is the first sentence of its card
    (``STEM.md``) or ``""``; ``figures`` its headline validation figures (a judge: what it was
    fitted on, when it has no card); ``shadowed_by`` the path
    of the model of the same kind and name that wins over it, or None.
    """

    kind: str
    name: str
    path: str
    origin: str
    summary: str = ""
    figures: dict = field(default_factory=dict)
    shadowed_by: str | None = None

    def to_dict(self) -> dict:
        """The entry as a JSON-ready dict."""
        return asdict(self)


# ----------------------------------------------------------------------------- folders
def _checkout_models() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")


def shipped_dir() -> str:
    """Folder holding the shipped models: the installed package's ``_models``, else the checkout's
    ``models/``."""
    packaged = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_models")
    return packaged if os.path.isdir(packaged) else _checkout_models()


def user_dir() -> str:
    """The user's model folder (platformdirs' user data folder of midistyle, ``models`` in it);
    it may not exist yet."""
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("midistyle", appauthor=False), "models")


def search_path() -> list:
    """``[(origin, folder), ...]`` in search order: shipped, ``$MIDISTYLE_MODELS``'s folders, user."""
    env = [p for p in os.environ.get("MIDISTYLE_MODELS", "").split(os.pathsep) if p.strip()]
    return [(SHIPPED, shipped_dir())] + [(ENV, p) for p in env] + [(USER, user_dir())]


# ----------------------------------------------------------------------------- reading folders
def _card_summary(md_path: str) -> str:
    """First sentence of the first paragraph after a card's title, or ``""``."""
    try:
        with open(md_path, encoding="utf-8") as fh:
            text = fh.read(4000)
    except (OSError, UnicodeDecodeError):
        return ""
    para = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#") and not para:
            continue
        if not s:
            if para:
                break
            continue
        para.append(s)
    words = re.sub(r"\*\*|`", "", " ".join(para))
    m = re.match(r"(.+?[.:])(\s|$)", words)
    return (m.group(1) if m else words)[:200]


def _figures(meta: dict) -> dict:
    """Headline validation figures of a sidecar (rounded), by kind."""
    v = meta.get("validation") if isinstance(meta.get("validation"), dict) else {}
    kind = meta.get("kind")
    out = {}
    try:
        if kind == "velocity":
            p = v.get("performance", {})
            out = {"spread_ratio": p.get("spread_ratio"), "discriminator": p.get("discriminator"),
                   "nll_per_note": p.get("nll_per_note"), "rmse_mean": v.get("methods", {}).get("model", {}).get("rmse")}
        elif kind == "chords":
            out = {"nll_per_frame": v.get("model", {}).get("nll_per_frame"),
                   "onset_f1_best": v.get("model", {}).get("onset_f1_best")}
        elif kind == "tempo":
            out = {"nll_per_beat": v.get("nll_per_beat"), "rubato_std_ratio": v.get("std_ratio_median"),
                   "lag1_real": v.get("lag1_real_median"), "lag1_drawn": v.get("lag1_drawn_median"),
                   "discriminator": v.get("discriminator")}
        elif kind == "classifier":
            out = {"piece_accuracy": v.get("piece_accuracy"), "segment_accuracy": v.get("segment_accuracy")}
        elif kind == "audio-genre":
            out = {"piece_accuracy": v.get("pieces", {}).get("accuracy"),
                   "excerpt_accuracy": v.get("excerpts", {}).get("accuracy")}
        elif kind in ("velocity-judge", "content-judge"):
            acc = meta.get("accuracy_on_real_validation") or meta.get("accuracy_on_real_validation_windows") or {}
            out = {f"accuracy_{g}": a for g, a in acc.items()}
    except AttributeError:
        return {}
    return {k: round(float(x), 3) for k, x in out.items() if isinstance(x, (int, float))}


def _entry(json_path: str, origin: str) -> ModelEntry | None:
    """The model whose sidecar is ``json_path``, or None when it is no model (figures files,
    comparisons without weights, unreadable JSON)."""
    try:
        with open(json_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("kind") not in MODEL_KINDS:
        return None
    kind = meta["kind"]
    stem = json_path[: -len(".json")]
    if MODEL_KINDS[kind] and not os.path.isfile(stem + ".npz"):
        return None
    if kind in GENRE_KINDS:
        name = meta.get("genre")
        if not isinstance(name, str) or not name:
            return None
    else:
        name = kind
    path = stem + ".json"
    summary = _card_summary(stem + ".md") or str(meta.get("fitted_on", ""))[:200]
    return ModelEntry(kind=kind, name=name, path=path, origin=origin, summary=summary, figures=_figures(meta))


def scan_folder(folder: str, origin: str) -> list:
    """The models in one folder (not its subfolders), sorted by kind and name; ``[]`` for a folder
    that does not exist."""
    if not os.path.isdir(folder):
        return []
    found = [_entry(p, origin) for p in sorted(glob.glob(os.path.join(glob.escape(folder), "*.json")))]
    return sorted((e for e in found if e is not None), key=lambda e: (e.kind, e.name))


def catalog() -> list:
    """Every model on the search path (:func:`search_path`), in search order, each marked with
    the path of the model that shadows it (same kind and name, found earlier), if any."""
    winners, out = {}, []
    for origin, folder in search_path():
        for e in scan_folder(folder, origin):
            key = (e.kind, e.name)
            if key in winners:
                e = ModelEntry(**{**e.to_dict(), "shadowed_by": winners[key]})
            else:
                winners[key] = e.path
            out.append(e)
    return out


def names(kind: str) -> list:
    """Sorted names of the models of ``kind`` that are used when named (not shadowed)."""
    return sorted(e.name for e in catalog() if e.kind == kind and e.shadowed_by is None)


def find(kind: str, name: str | None = None) -> ModelEntry:
    """The model of ``kind`` called ``name`` (the genre; single models need none) that a command
    uses; :class:`ModelError` naming the field ``genre`` and listing the names available."""
    entries = [e for e in catalog() if e.kind == kind and e.shadowed_by is None]
    if kind not in GENRE_KINDS:
        if not entries:
            raise ModelError(f"no {kind} model found (looked in {', '.join(f for _, f in search_path())})")
        return entries[0]
    available = ", ".join(sorted(e.name for e in entries)) or "none"
    if not name:
        raise ModelError(f"name a genre (available: {available})", field="genre")
    for e in entries:
        if e.name == name:
            return e
    raise ModelError(f"no {kind} model for genre {name!r} (available: {available}; looked in "
                     f"{', '.join(f for _, f in search_path())})", field="genre")


# ----------------------------------------------------------------------------- installing
def check_model_name(name: str) -> str:
    """``name`` if it can name a user model (lower-case letters, digits, ``_`` and ``-``, at most
    40, starting with a letter or digit); :class:`InputError` naming ``genre`` otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError(f"genre {name!r} cannot name a model: use lower-case letters, digits, '_' and '-' "
                         "(at most 40, starting with a letter or digit)", field="genre")
    return name


def install_path(kind: str, name: str) -> str:
    """The ``.keras`` path a trained model of ``kind`` and ``name`` is installed at, in the user's
    model folder (created). Refuses a name a shipped model of that kind has, since the shipped one
    would win over it (:class:`ModelError` naming ``genre``)."""
    check_model_name(name)
    for e in scan_folder(shipped_dir(), SHIPPED):
        if e.kind == kind and e.name == name:
            raise ModelError(f"a shipped {kind} model is called {name!r} and would win over an installed one; "
                             "choose another genre name", field="genre")
    folder = user_dir()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the user model folder {folder} ({exc.strerror or exc})") from None
    return os.path.join(folder, f"{kind}-{name}.keras")


# ----------------------------------------------------------------------------- what the commands use
def _loader_path(entry: ModelEntry) -> str:
    """The ``.keras`` path the loaders take for a model with weights (its bundle's stem; the
    ``.keras`` file itself may be absent, as in an installed package), else its JSON."""
    return entry.path[: -len(".json")] + ".keras" if MODEL_KINDS[entry.kind] else entry.path


def velocity_genres() -> list:
    """Genres with a velocity model, sorted."""
    return names("velocity")


def velocity_model_path(genre: str | None) -> str:
    """Path of the velocity model for ``genre``; a clear error lists the genres available."""
    return _loader_path(find("velocity", genre))


def chords_genres() -> list:
    """Genres with a chord generator, sorted."""
    return names("chords")


def chords_model_path(genre: str | None) -> str:
    """Path of the chord generator for ``genre``; a clear error lists the genres available."""
    return _loader_path(find("chords", genre))


def classifier_path() -> str:
    """Path of the genre classifier (``classifier.keras``); ModelError if none is found."""
    return _loader_path(find("classifier"))


def audio_genre_path() -> str:
    """Path of the audio genre classifier (``audio-genre.keras``); ModelError if none is found."""
    return _loader_path(find("audio-genre"))


def _optional(kind: str) -> str | None:
    try:
        return find(kind).path
    except ModelError:
        return None


def velocity_judge_path() -> str | None:
    """Path of the velocity-only genre judge (``velocity-judge.json``), or None."""
    return _optional("velocity-judge")


def content_judge_path() -> str | None:
    """Path of the independent content judge (``content-judge.json``), or None."""
    return _optional("content-judge")
