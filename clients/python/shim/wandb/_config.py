"""wandb.config under the shim: the trial's parameters, which always win.

The sweep's parameters are locked, as in W&B: defaults from
wandb.init(config=...) and later writes never replace them. Deliberately
different from W&B in two friendly ways: a default for a nested key the sweep
did not set is kept (the sweep's {"optimizer": {"lr": 0.01}} over the default
{"optimizer": {"lr": 0.1, "beta": 0.9}} gives {"lr": 0.01, "beta": 0.9}), and
changing a key that is not the sweep's is allowed without allow_val_change.
"""

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from typing import Any, Dict, Iterable, Iterator

import sweep_client


class ConfigKeyError(KeyError, AttributeError):
    """A missing key: a KeyError for config["x"], an AttributeError for
    config.x (so getattr(config, "x", default) and hasattr work)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def to_dict(source: Any) -> Dict[str, Any]:
    """The parameters in anything W&B takes as a config: a dict or mapping,
    an argparse.Namespace (or any plain object), a dataclass, absl flags, or
    the path of a JSON file. A YAML path is not read (no YAML parser in the
    standard library): a warning says so and it counts as empty."""
    if source is None:
        return {}
    if isinstance(source, Config):
        return source.as_dict()
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, str):
        return _read_file(source)
    if dataclasses.is_dataclass(source) and not isinstance(source, type):
        return dataclasses.asdict(source)
    flag_values_dict = getattr(source, "flag_values_dict", None)  # absl
    if callable(flag_values_dict):
        return dict(flag_values_dict())
    if hasattr(source, "keys") and hasattr(source, "__getitem__"):
        return {key: source[key] for key in source.keys()}
    if hasattr(source, "__dict__"):  # argparse.Namespace and the like.
        return {key: value for key, value in vars(source).items()
                if not key.startswith("_")}
    raise TypeError("config must be a dict, an argparse.Namespace or a "
                    f"file path, not {type(source).__name__}")


def _read_file(path: str) -> Dict[str, Any]:
    if not path.endswith(".json"):
        warn(f"config={path!r}: the sweep shim reads JSON files only; "
             "pass a dict instead. Ignoring it.")
        return {}
    with open(path, encoding="utf-8") as config_file:
        loaded = json.load(config_file)
    if not isinstance(loaded, dict):
        raise TypeError(f"config file {path}: expected a JSON object")
    return loaded


def warn(message: str) -> None:
    print(f"wandb: WARNING {message}", file=sys.stderr, flush=True)


def _wrap(value: Any) -> Any:
    """Nested dicts (and Namespaces) become sweep_client.Config, so that
    config.optimizer.lr works as well as config.optimizer["lr"]."""
    if isinstance(value, (Mapping, argparse.Namespace)):
        return sweep_client.Config(
            {key: _wrap(item) for key, item in to_dict(value).items()})
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _merge_under(value: Any, default: Any) -> Any:
    """`value` with the keys of `default` it lacks filled in, at every depth."""
    if not (isinstance(value, Mapping) and isinstance(default, Mapping)):
        return value
    merged = sweep_client.Config(default)
    for key, item in value.items():
        merged[key] = _merge_under(item, default[key]) if key in default \
            else item
    return merged


def _conflicts(value: Any, new: Any) -> bool:
    """Whether writing `new` over `value` would change a leaf of `value`."""
    if isinstance(value, Mapping) and isinstance(new, Mapping):
        return any(_conflicts(value[key], new[key])
                   for key in value if key in new)
    return value != new


class Config:
    """wandb.config / run.config: attribute and item access, nested.

    Keys set by the sweep are locked: writes to them are ignored (with a
    warning when they would change the value), except that keys missing from
    a nested sweep value are filled in. Not thread-safe (W&B's is not either).
    """

    def __init__(self) -> None:
        # Instance attributes start with "_"; everything else is a key.
        # `_items` has W&B's name: vars(wandb.config)["_items"] is a known
        # way scripts read the whole config.
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_locked", set())
        object.__setattr__(self, "_warned", set())

    def _start(self, sweep_values: Dict[str, Any], defaults: Any) -> None:
        """Sets the sweep's values (locked), then `defaults` under them."""
        self._items.clear()
        self._locked.clear()
        for key, value in sweep_values.items():
            self._items[key] = _wrap(value)
            self._locked.add(key)
        self._update(to_dict(defaults), warn_locked=False)

    def _update(self, values: Dict[str, Any], warn_locked: bool) -> None:
        for key, value in values.items():
            key = str(key)
            value = _wrap(value)
            if key not in self._locked:
                self._items[key] = value
                continue
            current = self._items[key]
            self._items[key] = _merge_under(current, value)
            if warn_locked and key not in self._warned and _conflicts(
                    current, value):
                self._warned.add(key)
                warn(f"config: {key!r} is set by the sweep to {current!r}; "
                     f"ignoring {value!r}")

    def update(self, values: Any, allow_val_change: Any = None) -> None:
        """Adds or changes keys; the sweep's keys keep the sweep's values."""
        self._update(to_dict(values), warn_locked=True)

    def setdefaults(self, values: Any) -> None:
        """Adds the keys not present yet (W&B's name; see setdefault)."""
        self._update({key: value for key, value in to_dict(values).items()
                      if str(key) not in self._items}, warn_locked=False)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self._items:
            self[key] = default
        return self._items[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self) -> Iterable[str]:
        return self._items.keys()

    def values(self) -> Iterable[Any]:
        return self._items.values()

    def items(self) -> Iterable:
        return self._items.items()

    def as_dict(self) -> Dict[str, Any]:
        """A deep copy as plain dicts."""
        return _plain(self._items)

    def persist(self) -> None:
        """Nothing to save to: a no-op."""

    def __getitem__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise ConfigKeyError(f"config has no key {key!r}") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self._update({key: value}, warn_locked=True)

    def __delitem__(self, key: str) -> None:
        if key in self._locked:
            warn(f"config: {key!r} is set by the sweep; not deleting it")
            return
        if key not in self._items:
            raise ConfigKeyError(f"config has no key {key!r}")
        del self._items[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # Not a parameter read as an attribute.
            raise AttributeError(name)
        return self[name]

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self.as_dict())
