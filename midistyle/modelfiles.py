"""Model bundles on disk: ``STEM.keras`` (Keras model), ``STEM.json`` (sidecar: kind, versions,
encoder settings, config, figures) and ``STEM.npz`` (weights for the NumPy runtime).

Written once for every symbolic model kind (velocity, classifier, chords): paths, sidecar
reading with the kind check, output checks before training, the atomic commit of a trained
bundle, and the training-curve plot beside it.
"""
from __future__ import annotations

import json
import os

from .errors import ModelError, OutputError, OutputExistsError

__all__ = ["bundle_files", "read_sidecar", "check_model_output", "save_without_optimizer", "commit_bundle",
           "plot_history"]


def bundle_files(path: str) -> dict:
    """Paths of the three files of a model (``keras``, ``json``, ``npz``), from any one of them or the stem."""
    stem = os.fspath(path)
    for ext in (".keras", ".json", ".npz"):
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
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


def commit_bundle(files: dict, tmp_keras: str, tmp_npz: str, meta: dict) -> None:
    """Move a trained model's temporary ``.keras`` and ``.npz`` into place and write its sidecar
    (through a temporary file), so no bundle is ever half-written under its name."""
    os.replace(tmp_keras, files["keras"])
    os.replace(tmp_npz, files["npz"])
    with open(files["json"] + ".tmp", "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(files["json"] + ".tmp", files["json"])


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
