"""wandb.integration.keras (and the older wandb.keras) under the shim: Keras
callbacks that log what model.fit reports, under the names W&B's use.

- WandbCallback (W&B's legacy callback) logs each epoch's `logs` with the
  epoch number as "epoch" ({"epoch": 3, "loss": ..., "val_loss": ...}), and
  with log_batch_frequency=N every N-th batch's `logs`; the best value of
  `monitor` goes into the summary as best_<monitor>, with best_epoch.
- WandbMetricsLogger logs each epoch's `logs` as "epoch/<name>" with
  "epoch/epoch" (and "epoch/learning_rate" when the optimizer has one); with
  log_freq="batch" or N, also every N-th batch's as "batch/<name>" with
  "batch/batch_step". So a sweep whose metric is val_loss gets it from
  WandbCallback, but from WandbMetricsLogger only as epoch/val_loss (as in
  W&B).
- WandbModelCheckpoint and WandbEvalCallback are accepted and do nothing.

When Keras is installed they subclass keras.callbacks.Callback (tf.keras's
when TensorFlow is in use, as W&B's do), so model.fit takes them; without
Keras they are plain objects with Keras's callback methods.
"""

import importlib
import sys
from typing import Any, Dict, Optional

import sweep_client

from ._config import warn
from .errors import Error

__all__ = ["WandbCallback", "WandbMetricsLogger", "WandbModelCheckpoint",
           "WandbEvalCallback"]


def _keras_callback_class() -> Optional[type]:
    """keras.callbacks.Callback: tf.keras's when TensorFlow is already in
    use, else Keras's, else tf.keras's; None when neither is installed."""
    order = ("tensorflow", "keras") if "tensorflow" in sys.modules \
        else ("keras", "tensorflow")
    for name in order:
        try:
            module = importlib.import_module(name)
            keras = module.keras if name == "tensorflow" else module
            return keras.callbacks.Callback
        except Exception:  # pylint: disable=broad-except
            continue  # Not installed, or broken: try the other one.
    return None


class _PlainCallback:
    """Keras's callback interface, for when Keras is not installed: set_model,
    set_params, and every on_* hook, doing nothing."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: Dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: Dict[str, Any]) -> None:
        self.params = params

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):  # on_train_begin, on_test_batch_end, ...
            return _ignore
        raise AttributeError(name)


def _ignore(*args: Any, **kwargs: Any) -> None:
    """A callback hook with nothing to do."""


_Base: type = _keras_callback_class() or _PlainCallback


def _wandb() -> Any:
    """The wandb package, for its current run (wandb.run changes)."""
    return sys.modules[__package__]


def _require_run(callback: str) -> None:
    if _wandb().run is None:
        raise Error(f"You must call wandb.init() before {callback}()")


def _learning_rate(model: Any) -> Optional[float]:
    """The optimizer's current learning rate as a number, or None."""
    optimizer = getattr(model, "optimizer", None)
    rate = getattr(optimizer, "learning_rate", None)
    try:
        if callable(rate) and not hasattr(rate, "numpy"):
            rate = rate(optimizer.iterations)  # A schedule: the rate now.
        if hasattr(rate, "numpy"):  # A tf or Keras variable or tensor.
            rate = rate.numpy()
        return sweep_client.as_number(rate)
    except Exception:  # pylint: disable=broad-except
        return None  # Not worth failing the training for.


class WandbCallback(_Base):  # type: ignore[misc, valid-type]
    """W&B's legacy Keras callback: logs the epochs' (and optionally the
    batches') metrics and the best `monitor` value (see the module comment).
    Saving models, graphs, weights, gradients and example predictions is
    accepted and not done."""

    def __init__(self, monitor: str = "val_loss", verbose: int = 0,
                 mode: str = "auto", *args: Any,
                 log_batch_frequency: Optional[int] = None,
                 log_best_prefix: Optional[str] = "best_",
                 **options: Any) -> None:
        super().__init__()
        _require_run("WandbCallback")
        self.monitor = monitor
        self.log_batch_frequency = log_batch_frequency
        self.log_best_prefix = log_best_prefix
        if mode not in ("min", "max"):  # "auto", as W&B guesses it.
            mode = "max" if "acc" in monitor or \
                monitor.startswith("fmeasure") else "min"
        self.mode = mode
        self.best: Optional[float] = None

    def on_epoch_end(self, epoch: int, logs: Optional[Dict] = None) -> None:
        logs = dict(logs or {})
        _wandb().log({"epoch": epoch, **logs})
        self._keep_best(epoch, logs)

    def _keep_best(self, epoch: int, logs: Dict[str, Any]) -> None:
        current = sweep_client.as_number(logs.get(self.monitor))
        if current is None or (self.best is not None and (
                current <= self.best if self.mode == "max"
                else current >= self.best)):
            return
        self.best = current
        run = _wandb().run
        if self.log_best_prefix and run is not None:
            run.summary[f"{self.log_best_prefix}{self.monitor}"] = current
            run.summary[f"{self.log_best_prefix}epoch"] = epoch

    def on_train_batch_end(self, batch: int, logs: Optional[Dict] = None
                           ) -> None:
        frequency = self.log_batch_frequency
        if frequency and batch % frequency == 0:
            _wandb().log(dict(logs or {}))

    # Keras's older name; Keras calls one or the other for a batch.
    on_batch_end = on_train_batch_end


class WandbMetricsLogger(_Base):  # type: ignore[misc, valid-type]
    """W&B's Keras metrics logger: "epoch/<name>" keys at each epoch's end;
    with log_freq="batch" or N, also "batch/<name>" keys every N batches (see
    the module comment)."""

    def __init__(self, log_freq: Any = "epoch", initial_global_step: int = 0,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__()
        _require_run("WandbMetricsLogger")
        if log_freq == "batch":
            log_freq = 1
        # An int means every log_freq batches; anything else, epochs only.
        self.logging_batch_wise = isinstance(log_freq, int) and \
            not isinstance(log_freq, bool)
        self.log_freq = log_freq if self.logging_batch_wise else None
        self.global_batch = 0
        self.global_step = initial_global_step

    def _with_learning_rate(self, prefix: str, logs: Dict[str, Any]
                            ) -> Dict[str, Any]:
        rate = _learning_rate(getattr(self, "model", None))
        if rate is not None:
            logs[f"{prefix}/learning_rate"] = rate
        return logs

    def on_epoch_end(self, epoch: int, logs: Optional[Dict] = None) -> None:
        point = {f"epoch/{name}": value for name, value in (logs or {}).items()}
        point["epoch/epoch"] = epoch
        _wandb().log(self._with_learning_rate("epoch", point))

    def on_batch_end(self, batch: int, logs: Optional[Dict] = None) -> None:
        self.global_step += 1
        if not self.logging_batch_wise or batch % self.log_freq != 0:
            return
        point = {f"batch/{name}": value for name, value in (logs or {}).items()}
        point["batch/batch_step"] = self.global_batch
        _wandb().log(self._with_learning_rate("batch", point))
        self.global_batch += self.log_freq

    def on_train_batch_end(self, batch: int, logs: Optional[Dict] = None
                           ) -> None:
        self.on_batch_end(batch, logs)


class WandbModelCheckpoint(_Base):  # type: ignore[misc, valid-type]
    """W&B's checkpointing callback: accepted, saves nothing (a warning says
    so; use keras.callbacks.ModelCheckpoint to keep checkpoints)."""

    def __init__(self, filepath: Any = None, *args: Any, **kwargs: Any
                 ) -> None:
        super().__init__()
        self.filepath = filepath
        warn("WandbModelCheckpoint saves nothing under the sweep shim; use "
             "keras.callbacks.ModelCheckpoint to keep checkpoints")


class WandbEvalCallback(_Base):  # type: ignore[misc, valid-type]
    """W&B's base class for callbacks that log evaluation tables: it can be
    subclassed; its tables are never built (add_ground_truth and
    add_model_predictions are not called)."""

    def __init__(self, data_table_columns: Any = None,
                 pred_table_columns: Any = None, *args: Any,
                 **kwargs: Any) -> None:
        super().__init__()
        self.data_table_columns = data_table_columns
        self.pred_table_columns = pred_table_columns
