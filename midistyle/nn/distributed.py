"""Training on several workers: a small ``fit()`` for a compiled Keras model under
``tf.distribute.MultiWorkerMirroredStrategy``.

Keras 3's ``fit()`` cannot consume a multi-worker strategy's distributed dataset
(keras-team/keras#20585), so :func:`fit_multiworker` drives the model's own ``train_step`` and
``test_step`` through ``strategy.run`` with the callbacks of
:func:`midistyle.nn.training.fit_with_checkpoints` (CSV log, early stopping on ``val_loss`` with
the best weights restored, a best-model checkpoint, learning-rate halving on plateaus) and returns
a ``keras.callbacks.History`` with the keys ``fit()`` would give it.

- Numbers: the metrics Keras keeps are summed over every replica of every worker when read
  (``on_read`` variables), so each epoch's logs are the cluster's, identical on every worker,
  and every worker takes the same decisions (stop, halve the learning rate, keep the best weights).
- Datasets: batched ``tf.data`` datasets whose batch is the global batch, distributed with
  ``strategy.experimental_distribute_dataset`` under the auto-shard policy they carry; the callers
  set DATA (:func:`midistyle.nn.training.shard_by_data`): every worker reads the whole stream and
  keeps its own share of each batch (with one replica per worker, every n-th slice of it), so
  generated streams need no files to shard by. Validation data may end unevenly across workers:
  the distributed iterator stops every worker at the same step.
- Saving: only the chief (the ``chief`` task of ``TF_CONFIG``, else worker 0) writes the real
  output; every other worker writes the same files into a temporary folder removed afterwards
  (:func:`worker_path`), the usual rule for this strategy.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time

from ..errors import InputError

__all__ = ["tf_config", "is_chief", "worker_path", "multiworker_strategy", "wait_for_workers", "is_multiworker",
           "fit_multiworker"]


def tf_config(environ=None) -> dict:
    """The cluster of ``TF_CONFIG``, checked: ``{"cluster": {"worker": ["host:port", ...], ...},
    "task": {"type": "worker", "index": i}}``. Raises :class:`InputError` (one line) when it is
    missing or malformed."""
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not raw.strip():
        raise InputError("strategy multiworker: TF_CONFIG is not set (it names the cluster's workers and this "
                         "worker's task, e.g. {\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
                         "\"task\": {\"type\": \"worker\", \"index\": 0}})")
    try:
        cfg = json.loads(raw)
    except ValueError as e:
        raise InputError(f"strategy multiworker: TF_CONFIG is not JSON ({e})") from None
    cluster = cfg.get("cluster") if isinstance(cfg, dict) else None
    task = cfg.get("task") if isinstance(cfg, dict) else None
    if not isinstance(cluster, dict) or not cluster.get("worker") and not cluster.get("chief"):
        raise InputError("strategy multiworker: TF_CONFIG has no cluster with a worker list")
    if any(not isinstance(v, list) or not all(isinstance(a, str) and ":" in a for a in v) for v in cluster.values()):
        raise InputError("strategy multiworker: TF_CONFIG's cluster lists must hold \"host:port\" strings")
    if (not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(task.get("index"), int)
            or not 0 <= task["index"] < len(cluster[task["type"]])):
        raise InputError(f"strategy multiworker: TF_CONFIG's task {task!r} is not one of its cluster's "
                         f"({', '.join(f'{k}: {len(v)}' for k, v in cluster.items())})")
    return cfg


def is_chief(environ=None) -> bool:
    """Whether this process writes the outputs: no ``TF_CONFIG``, or its task is the ``chief``, or
    worker 0 of a cluster without a chief."""
    raw = (os.environ if environ is None else environ).get("TF_CONFIG", "")
    if not raw.strip():
        return True
    cfg = tf_config(environ)
    kind, index = cfg["task"]["type"], cfg["task"]["index"]
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in cfg["cluster"])


@contextlib.contextmanager
def worker_path(path: str, environ=None):
    """``path`` on the chief; elsewhere the same file name in a fresh temporary folder, removed
    (with whatever was written beside it) when the block ends. A block that ends without an error
    waits for the other workers (:func:`wait_for_workers`)."""
    if is_chief(environ):
        yield path
        wait_for_workers()
        return
    tmp = tempfile.mkdtemp(prefix="midistyle-worker-")
    try:
        yield os.path.join(tmp, os.path.basename(path))
        wait_for_workers()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_STRATEGY = []   # the multi-worker strategy of this process, once made


def multiworker_strategy():
    """``tf.distribute.MultiWorkerMirroredStrategy`` over the workers of ``TF_CONFIG`` (checked
    first: :func:`tf_config`); one per process."""
    tf_config()
    import tensorflow as tf

    if not _STRATEGY:
        _STRATEGY.append(tf.distribute.MultiWorkerMirroredStrategy())
    return _STRATEGY[0]


def wait_for_workers() -> None:
    """Block until every worker gets here (one collective sum); nothing before a multi-worker
    strategy is made. The workers then leave together: a worker still running long after the chief
    (which hosts the cluster's coordination service) has left stalls on its failed heartbeats."""
    if not _STRATEGY:
        return
    import tensorflow as tf

    strategy = _STRATEGY[0]

    @tf.function
    def barrier():
        return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce("SUM", tf.ones(())))

    barrier()


def is_multiworker(model) -> bool:
    """Whether ``model`` was built under a multi-worker strategy (and must train with
    :func:`fit_multiworker`)."""
    import tensorflow as tf

    return isinstance(getattr(model, "distribute_strategy", None), tf.distribute.MultiWorkerMirroredStrategy)


def _results(model) -> dict:
    """The model's metric results, read across replicas (summed totals and counts): the cluster's."""
    import numpy as np

    return {k: float(np.asarray(v)) for k, v in model.get_metrics_result().items()}


def fit_multiworker(model, train_ds, val_ds, stem: str, *, epochs: int, steps_per_epoch: int | None,
                    patience: int, lr_patience: int = 1, min_lr: float = 1e-4, progress: bool = True):
    """:func:`midistyle.nn.training.fit_with_checkpoints` for a model compiled under a multi-worker
    strategy: the same parameters, callbacks and return value ``(History, seconds)``.

    Each epoch runs ``steps_per_epoch`` training steps on one iterator that continues from epoch to
    epoch (``None``: one pass over ``train_ds``), then one pass over ``val_ds``; the metrics are reset
    before each, as ``fit()`` does. The chief writes ``STEM.log.csv`` and the checkpoint and shows the
    progress bar; the other workers write theirs to a temporary folder (:func:`worker_path`).
    """
    import keras
    import tensorflow as tf

    strategy = model.distribute_strategy

    @tf.function
    def train_step(batch):
        logs = strategy.run(model.train_step, args=(batch,))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in logs.items()}

    @tf.function
    def test_step(batch):
        strategy.run(model.test_step, args=(batch,))

    chief = is_chief()
    t0 = time.time()
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(worker_path(stem + ".log.csv"))
        ckpt = stack.enter_context(worker_path(stem + ".best.tmp.keras"))
        stack.callback(lambda: os.path.exists(ckpt) and os.unlink(ckpt))
        callbacks = keras.callbacks.CallbackList([
            keras.callbacks.CSVLogger(log),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
            keras.callbacks.ModelCheckpoint(ckpt, monitor="val_loss", save_best_only=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=lr_patience, min_lr=min_lr),
        ], add_history=True, add_progbar=progress and chief, model=model, verbose=1 if progress and chief else 0,
            epochs=epochs, steps=steps_per_epoch)
        dist_train = strategy.experimental_distribute_dataset(train_ds)
        dist_val = strategy.experimental_distribute_dataset(val_ds)
        iterator = iter(dist_train)
        model.stop_training = False
        callbacks.on_train_begin()
        logs = {}
        for epoch in range(epochs):
            model.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            if steps_per_epoch is None:
                iterator = iter(dist_train)
            step = 0
            while steps_per_epoch is None or step < steps_per_epoch:
                try:
                    batch = next(iterator)
                except (StopIteration, tf.errors.OutOfRangeError):
                    if steps_per_epoch is not None:  # a finite stream ran out, as fit() stops then
                        model.stop_training = True
                    break
                callbacks.on_train_batch_begin(step)
                callbacks.on_train_batch_end(step, {k: float(v) for k, v in train_step(batch).items()})
                step += 1
            logs = _results(model)
            model.reset_metrics()
            for batch in dist_val:
                test_step(batch)
            logs.update({"val_" + k: v for k, v in _results(model).items()})
            callbacks.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        callbacks.on_train_end(logs)
    history = next(c for c in callbacks.callbacks if isinstance(c, keras.callbacks.History))
    return history, time.time() - t0
