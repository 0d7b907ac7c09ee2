"""Training-side helper for Sweep: read the trial's parameters, log metrics.

    import sweep_client

    config = sweep_client.config()          # {"optimizer": {"lr": 0.1}, ...}
    lr = config.optimizer.lr                # or config["optimizer"]["lr"]
    for epoch in range(config.get("epochs", 10)):
        ...
        sweep_client.log({"val/loss": loss, "accuracy": acc}, step=epoch)

Under `sweep agent` the program finds its trial in environment variables:
SWEEP_PARAMS_FILE (a JSON object of the trial's parameters, nested),
SWEEP_METRICS_FILE (a JSON-lines file that metric points are appended to),
SWEEP_ID and SWEEP_TRIAL_ID. Run by hand, without them, config() reads
SWEEP_PARAMS_JSON (a JSON object; `sweep best` prints a rerun command that
sets it) or is empty, and log() prints "name=value" lines on stdout instead,
so the same program works in both places.

One metric point is one line, e.g. {"_step": 3, "val/loss": 0.2}: `_step`
only when a step was given, values are numbers, NaN and infinities are
written the way json.dumps writes them (NaN, Infinity, -Infinity).

Python 3.7 or newer, standard library only. Thread-safe.
"""

from __future__ import annotations

import collections.abc
import copy
import json
import numbers
import os
import threading
from typing import Any, Dict, Mapping, Optional, Union

__all__ = ["Config", "config", "log", "as_number", "plain", "trial_id",
           "sweep_id"]

PARAMS_FILE_VARIABLE = "SWEEP_PARAMS_FILE"
PARAMS_JSON_VARIABLE = "SWEEP_PARAMS_JSON"
METRICS_FILE_VARIABLE = "SWEEP_METRICS_FILE"

Number = Union[int, float]

# Keeps the lines of concurrent log() calls whole and in call order.
_write_lock = threading.Lock()


class Config(dict):
    """A dict whose keys can also be read and written as attributes.

    Nested dicts are Configs too, so `config.optimizer.lr` works; a missing
    key raises AttributeError for attribute access and KeyError for item
    access. It stays a plain dict for everything else (json.dumps, **kwargs,
    isinstance(config, dict)).
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            super().__setitem__(key, _to_config(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"the configuration has no parameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __reduce__(self) -> Any:
        # Pickled (torch.save of a checkpoint holding the config) as the
        # plain dict it is: loading it needs no sweep_client, as with W&B's
        # config. The price: a Config sent to another process (a
        # multiprocessing worker) arrives as a dict, read with ["lr"].
        return (dict, (plain(self),))

    def __copy__(self) -> "Config":
        return Config(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Config":
        return Config(copy.deepcopy(plain(self), memo))


def plain(value: Any) -> Any:
    """`value` with every Config in it (at any depth, in lists too) made a
    plain dict: what to hand a library that checks type(x) is dict."""
    if isinstance(value, collections.abc.Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _to_config(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, Config):
        return Config(value)
    if isinstance(value, list):
        return [_to_config(item) for item in value]
    return value


def _teach_yaml() -> None:
    """Lets PyYAML's safe dumper write a Config as the mapping it is
    (yaml.safe_dump(dict(config)) of nested parameters, the usual way to
    save a run's config beside its checkpoint), and its other dumper too,
    instead of a python/object tag safe_load refuses. Imports PyYAML when it
    is installed (as W&B does at import); nothing happens when it is not."""
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except Exception:  # pylint: disable=broad-except
        return  # Not installed, or not PyYAML (a yaml/ folder of configs).
    if not all(hasattr(yaml, name) for name in ("SafeDumper", "Dumper")):
        return
    for dumper in (yaml.SafeDumper, yaml.Dumper):
        dumper.add_representer(
            Config, lambda dumper, data: dumper.represent_dict(data))
    for cdumper in ("CSafeDumper", "CDumper"):
        if hasattr(yaml, cdumper):
            getattr(yaml, cdumper).add_representer(
                Config, lambda dumper, data: dumper.represent_dict(data))


_teach_yaml()


def config() -> Config:
    """The trial's parameters, read from $SWEEP_PARAMS_FILE.

    Without that variable (not under an agent), from $SWEEP_PARAMS_JSON, a
    JSON object, which is how `sweep best` reruns a trial by hand; an empty
    Config when neither is set. Returns a new Config on every call (changing
    it changes nothing else). Raises RuntimeError, naming the file or
    variable, when it is unreadable or is not a JSON object.
    """
    path = os.environ.get(PARAMS_FILE_VARIABLE)
    if path:
        where = f"{PARAMS_FILE_VARIABLE}={path}"
        try:
            with open(path, encoding="utf-8") as params_file:
                text = params_file.read()
        except OSError as error:
            raise RuntimeError(f"{where}: cannot read the trial's "
                               f"parameters: {error}") from error
    else:
        where = PARAMS_JSON_VARIABLE
        text = os.environ.get(PARAMS_JSON_VARIABLE)
        if not text:
            return Config()
    try:
        params = json.loads(text)
    except ValueError as error:
        raise RuntimeError(f"{where}: cannot read the trial's parameters: "
                           f"{error}") from error
    if not isinstance(params, dict):
        raise RuntimeError(f"{where}: expected a JSON object, found "
                           f"{type(params).__name__}")
    return Config(params)


def as_number(value: Any) -> Optional[Number]:
    """The number a metric value stands for, or None when it is not one.

    int and float stay as they are; a bool counts as 0 or 1; anything with
    .item() (a numpy scalar, a one-element torch tensor) is unwrapped; other
    real numbers (Fraction, numpy's own types) become floats.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(type(value), "item", None)
    if callable(item):
        try:
            unwrapped = value.item()
        except Exception:  # A multi-element array or tensor: not a number.
            return None
        if unwrapped is not value and not hasattr(type(unwrapped), "item"):
            return as_number(unwrapped)
    return None


def _flatten(metrics: Mapping[Any, Any], prefix: str, separator: str,
             flat: Dict[str, Any]) -> Dict[str, Any]:
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise TypeError(f"metric names must be strings, got {key!r}")
        name = prefix + key
        if isinstance(value, Mapping):
            _flatten(value, name + separator, separator, flat)
        else:
            flat[name] = value
    return flat


def _check_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step must be an integer, got {step!r}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return int(step)


def log(metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
    """Records one metric point: appends one JSON line to $SWEEP_METRICS_FILE.

    Nested dicts are flattened with "/" ({"val": {"loss": 1}} logs
    "val/loss"). `step` (an int >= 0; also accepted as a "_step" entry of
    `metrics`) becomes the point's `_step`. Every value must be a number as
    as_number() reads it; anything else raises TypeError naming the metric,
    and nothing is written. A point with no metrics writes nothing.

    The line is appended in one write and the file closed again, so the agent
    sees it at once and a half-written line never shows. When the variable is
    unset, prints "_step=3 val/loss=0.2" on stdout instead.
    """
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a dict, got {type(metrics).__name__}")
    flat = _flatten(metrics, "", "/", {})
    given_step = flat.pop("_step", None)
    if step is None:
        step = given_step
    point: Dict[str, Any] = {}
    if step is not None:
        point["_step"] = _check_step(step)
    for name, value in flat.items():
        number = as_number(value)
        if number is None:
            raise TypeError(f"metric {name!r}: {value!r} is not a number")
        point[name] = number
    if not flat:
        return
    path = os.environ.get(METRICS_FILE_VARIABLE)
    with _write_lock:
        if path:
            _append_line(path, json.dumps(point) + "\n")
        else:
            print(" ".join(f"{name}={value}" for name, value in point.items()),
                  flush=True)


def _append_line(path: str, line: str) -> None:
    data = line.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            written = os.write(fd, data)
            data = data[written:]
    finally:
        os.close(fd)


def trial_id() -> Optional[str]:
    """This trial's number as given by the agent ($SWEEP_TRIAL_ID), or None."""
    return os.environ.get("SWEEP_TRIAL_ID") or None


def sweep_id() -> Optional[str]:
    """The sweep's id ($SWEEP_ID), or None when not under an agent."""
    return os.environ.get("SWEEP_ID") or None
