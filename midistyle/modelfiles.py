"""Model bundles on disk: ``STEM.keras`` (Keras model), ``STEM.json`` (sidecar: kind, versions,
encoder settings, config, figures) and ``STEM.npz`` (weights for the NumPy runtime).

Written once for every model kind with such a bundle (velocity, classifier, chords, audio genre):
paths, sidecar reading with the kind check, output checks before training, the trained model
staged to temporary files and committed atomically with its sidecar, the sidecar's training
summary, and the training-curve plot beside it. A ``train()`` reads as: check the output
(:func:`check_model_output`), load its data, fit, then :func:`stage_bundle` (the model, ready to
be evaluated from its ``.npz``), :func:`commit_bundle` and :func:`plot_history`.
"""
from __future__ import annotations

import json
import os
import time

from .errors import ModelError, OutputError, OutputExistsError
from .nn.numpy_runtime import export_weights

__all__ = ["bundle_stem", "bundle_files", "read_sidecar", "write_sidecar", "update_sidecar", "check_model_output",
           "save_without_optimizer", "stage_bundle", "commit_bundle", "training_summary", "float_history", "timed", "plot_history", "write_card"]


def bundle_stem(path: str) -> str:
    """A model's path without ``.keras``, ``.json`` or ``.npz``: the stem that all its files
    share (``STEM.log.csv`` and ``STEM.loss.png`` of the training included)."""
    stem = os.fspath(path)
    for ext in (".keras", ".json", ".npz"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
    return stem


def bundle_files(path: str) -> dict:
    """Paths of the three files of a model (``keras``, ``json``, ``npz``), from any one of them or the stem."""
    stem = bundle_stem(path)
    return {"keras": stem + ".keras", "json": stem + ".json", "npz": stem + ".npz"}


def read_sidecar(path: str, kind: str) -> tuple:
    """``(files, meta)`` of the model at ``path``; :class:`ModelError` (naming the file) when the
    sidecar is missing, unreadable, not a JSON object, or of another ``kind``."""
    files = bundle_files(path)
    if not os.path.exists(files["json"]):
        if not os.path.exists(files["keras"]):
            raise ModelError(f"{path}: no such model")
        raise ModelError(f"{path}: settings sidecar {files['json']} is missing")
    try:
        with open(files["json"]) as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{files['json']}: unreadable model sidecar ({exc})") from None
    if not isinstance(meta, dict) or meta.get("kind") != kind:
        got = meta.get("kind") if isinstance(meta, dict) else None
        raise ModelError(f"{path}: not a {kind} model (kind={got!r})")
    return files, meta


def check_model_output(output: str, *, force: bool = False) -> dict:
    """The files a training run will write to ``output``, checked before any work: a ``.keras``
    path in an existing folder, not replacing a model unless ``force``."""
    files = bundle_files(output)
    if not os.fspath(output).endswith(".keras"):
        raise OutputError(f"{output}: model path must end with .keras")
    if os.path.exists(files["keras"]) and not force:
        raise OutputExistsError(files["keras"])
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise OutputError(f"{output}: folder does not exist")
    return files


def save_without_optimizer(model, path: str) -> None:
    """Save a Keras model for inference only (architecture + weights, no optimizer state: 3x smaller)."""
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    clone.save(path)


def stage_bundle(model, files: dict, *, optimizer: bool = False) -> tuple:
    """Write a trained Keras model to temporary files beside its bundle ``files``: the ``.keras``
    (with the optimizer state only if ``optimizer``, see :func:`save_without_optimizer`) and the
    NumPy runtime's ``.npz`` (:func:`midistyle.nn.numpy_runtime.export_weights`).

    Returns
    -------
    (str, str)
        The temporary ``.keras`` and ``.npz`` paths: evaluate the model from the ``.npz``, then
        hand both to :func:`commit_bundle`.
    """
    stem = bundle_stem(files["keras"])
    tmp_keras, tmp_npz = stem + ".tmp.keras", stem + ".tmp.npz"
    if optimizer:
        model.save(tmp_keras)
    else:
        save_without_optimizer(model, tmp_keras)
    export_weights(model, tmp_npz)
    return tmp_keras, tmp_npz


def commit_bundle(files: dict, tmp_keras: str, tmp_npz: str, meta: dict) -> None:
    """Move a trained model's temporary ``.keras`` and ``.npz`` into place and write its sidecar
    (through a temporary file), so no bundle is ever half-written under its name."""
    os.replace(tmp_keras, files["keras"])
    os.replace(tmp_npz, files["npz"])
    write_sidecar(files["json"], meta)


def write_sidecar(path: str, meta: dict) -> None:
    """Write a model sidecar ``path`` through a temporary file (never half-written)."""
    with open(path + ".tmp", "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(path + ".tmp", path)


def update_sidecar(model_path: str, **fields) -> dict:
    """Set ``fields`` in the sidecar of the model at ``model_path`` (calibrations added after
    training) and return the whole sidecar."""
    path = bundle_files(model_path)["json"]
    with open(path) as fh:
        meta = json.load(fh)
    meta.update(fields)
    write_sidecar(path, meta)
    return meta


def float_history(history: dict) -> dict:
    """A Keras ``History.history`` as plain JSON: every value a list of Python floats."""
    return {k: [float(x) for x in v] for k, v in history.items()}


def training_summary(history: dict, seconds: float, *, steps_per_epoch: int | None, batch_size: int,
                     load_seconds: float | None = None, sequence: tuple | None = None) -> dict:
    """The ``training`` entry of a sidecar, for a model fitted epoch by epoch.

    Parameters
    ----------
    history : dict
        ``History.history`` of the fit (its ``loss`` has one value per epoch run).
    seconds : float
        Wall time of the fit.
    steps_per_epoch, batch_size : int
        As given to the fit.
    load_seconds : float, optional
        Time spent loading the training data, stored when given.
    sequence : (str, int, str), optional
        For models trained on sequences: the name and length of one example and the unit it
        counts, e.g. ``("window", 512, "notes")``, which adds ``window: 512`` and ``notes_per_s``
        (units fitted per second).

    Returns
    -------
    dict
        ``seconds`` (and ``load_seconds``), rounded to 0.1 s, ``epochs_run``, ``steps_per_epoch``,
        ``batch_size`` (and the sequence's entries), ``history`` (:func:`float_history`).
    """
    epochs = len(history["loss"])
    out = {"seconds": round(seconds, 1)}
    if load_seconds is not None:
        out["load_seconds"] = round(load_seconds, 1)
    out.update(epochs_run=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size)
    if sequence is not None:
        name, length, unit = sequence
        out[name] = length
        out[f"{unit}_per_s"] = round(epochs * steps_per_epoch * batch_size * length / seconds, 1)
    out["history"] = float_history(history)
    return out


def timed(figures, *args, **kwargs) -> dict:
    """``figures(*args, **kwargs)``, a function that returns a dict (a trained model's validation
    figures), with ``seconds`` added: the time it took, rounded to 0.1 s."""
    t0 = time.time()
    out = figures(*args, **kwargs)
    out["seconds"] = round(time.time() - t0, 1)
    return out


def plot_history(history: dict, path: str, title: str, panels=(("loss", "loss"),)) -> None:
    """Training curves as a PNG: one panel per ``(key, y label)``, each with ``key`` and ``val_key``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels) + 1.5, 3.5), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for k in (key, "val_" + key):
            if k in history:
                ax.plot(range(1, len(history[k]) + 1), history[k], marker="o", label=k.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_card(model_path: str, title: str, summary: str, details: str = "") -> str:
    """Write the card ``STEM.md`` of the model at ``model_path`` (a title, a one-sentence summary
    that ``midistyle models`` shows, details below), through a temporary file; returns its path."""
    path = bundle_stem(model_path) + ".md"
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(f"# {title}\n\n{summary}\n" + (f"\n{details}\n" if details else ""))
    os.replace(path + ".tmp", path)
    return path
