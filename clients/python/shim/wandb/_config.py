"""wandb.config under the shim: the trial's parameters, which always win.

The sweep's parameters are locked, as in W&B: defaults from
wandb.init(config=...), from config files and from later writes never change
them. A nested sweep value replaces the default's dict as a whole, as W&B's
docs say ("nested parameters overwrite the values in the run config"): the
sweep's {"optimizer": {"lr": 0.01}} over the default {"optimizer": {"lr": 0.1,
"beta": 0.9}} gives {"lr": 0.01}, and "beta" is gone. Deliberately different
from W&B in one friendly way: changing a key that is not the sweep's is
allowed without allow_val_change.

Config files are read as W&B reads them (see read_file): the path given as
wandb.init(config="file.yaml") or to config.update(), config-defaults.yaml in
the working directory and the files in $WANDB_CONFIG_PATHS (see
file_defaults); YAML needs PyYAML.
"""

import argparse
import dataclasses
import datetime
import json
import os
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
    the path of a YAML or JSON file (see read_file)."""
    if source is None:
        return {}
    if isinstance(source, Config):
        return source.as_dict()
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, str):
        return read_file(source)
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


# W&B's name for the defaults file it reads from the working directory.
DEFAULTS_FILE = "config-defaults.yaml"
# Keys of W&B's bookkeeping in its config files, not parameters.
_BOOKKEEPING_KEYS = ("wandb_version", "_wandb")


def read_file(path: str) -> Dict[str, Any]:
    """The parameters in a config file: JSON when the path ends in ".json",
    else YAML (which needs PyYAML: without it, a warning and no values), both
    in W&B's format (see _file_values). A missing file raises
    FileNotFoundError, bad syntax ValueError, naming the file."""
    with open(path, encoding="utf-8") as config_file:
        text = config_file.read()
    if path.endswith(".json"):
        loaded = _parse_json(path, text)
    else:
        loaded = _parse_yaml(path, text)
    if loaded is None:  # An empty file, or no PyYAML.
        return {}
    if not isinstance(loaded, Mapping):
        raise TypeError(f"config file {path}: expected keys with values, "
                        f"found {type(loaded).__name__}")
    return _file_values(loaded)


def _parse_json(path: str, text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError as error:
        raise ValueError(f"config file {path}: invalid JSON: {error}") \
            from error


def _parse_yaml(path: str, text: str) -> Any:
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        warn(f"config file {path}: reading YAML needs PyYAML, which is not "
             "installed, so its values are not used. Install it (`pip install "
             "pyyaml`, or `apt install python3-yaml`), or pass a dict or a "
             "JSON file instead.")
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"config file {path}: invalid YAML: {error}") \
            from error


def _file_values(loaded: Mapping) -> Dict[str, Any]:
    """W&B's config file format: `key: {desc: ..., value: X}` sets key to X
    (any mapping with a "value" key is read so, as W&B does). Also taken,
    where W&B would fail: a plain `key: X`. wandb_version and _wandb (in
    the config.yaml W&B saves with a run) are bookkeeping, left out."""
    values = {}
    for key, item in loaded.items():
        if key in _BOOKKEEPING_KEYS:
            continue
        if isinstance(item, Mapping) and "value" in item:
            item = item["value"]
        values[key] = item
    return values


def file_defaults(init_values: Dict[str, Any]) -> Dict[str, Any]:
    """`init_values` (from wandb.init(config=...)) with W&B's config files:
    config-defaults.yaml in the working directory under them (W&B reads it
    from there, and fails on a key both set; the shim lets init win), and
    the files in $WANDB_CONFIG_PATHS (comma-separated) over them, later
    files over earlier ones, as in W&B. Nested values merge."""
    merged: Dict[str, Any] = {}
    if os.path.isfile(DEFAULTS_FILE):
        merged = read_file(DEFAULTS_FILE)
    merged = _merge_over(merged, init_values)
    for path in os.environ.get("WANDB_CONFIG_PATHS", "").split(","):
        path = path.strip()
        if not path:
            continue
        if not os.path.isfile(path):  # W&B skips it without a word.
            warn(f"WANDB_CONFIG_PATHS: no file {path!r}; skipping it")
            continue
        merged = _merge_over(merged, read_file(path))
    return merged


def _merge_over(base: Dict[str, Any], new: Dict[str, Any]) -> Dict[str, Any]:
    """`base` with `new`'s values over it; nested dicts merge key by key."""
    merged = dict(base)
    for key, value in new.items():
        merged[key] = _merge_under(value, merged[key]) if key in merged \
            else value
    return merged


def warn(message: str) -> None:
    print(f"wandb: WARNING {message}", file=sys.stderr, flush=True)


def _wrap(value: Any) -> Any:
    """A value as W&B keeps it in a config: nested dicts (and Namespaces)
    become sweep_client.Config, so that config.optimizer.lr works as well as
    config.optimizer["lr"]; and, as W&B makes every value fit for JSON and
    YAML, tuples become lists, numpy and torch values plain numbers and
    lists, dates ISO text, and any other object that is not a Python builtin
    (a pathlib.Path, an Enum) its str()."""
    if isinstance(value, (Mapping, argparse.Namespace)):
        return sweep_client.Config(
            {key: _wrap(item) for key, item in to_dict(value).items()})
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_wrap(item) for item in value]
    module = type(value).__module__.split(".")[0]
    if module in ("numpy", "torch", "jax", "tensorflow") and callable(
            getattr(value, "tolist", None)):
        return _wrap(value.tolist())
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if module == "builtins":  # A set, a complex number: kept.
        return value
    return str(value)


def _merge_under(value: Any, default: Any) -> Any:
    """`value` with the keys of `default` it lacks filled in, at every depth."""
    if not (isinstance(value, Mapping) and isinstance(default, Mapping)):
        return value
    merged = sweep_client.Config(default)
    for key, item in value.items():
        merged[key] = _merge_under(item, default[key]) if key in default \
            else item
    return merged


def _differs(value: Any, new: Any) -> bool:
    """Whether `new` is not `value` (nested dicts compared as plain dicts)."""
    return sweep_client.plain(value) != sweep_client.plain(new)


class Config:
    """wandb.config / run.config: attribute and item access, nested.

    Keys set by the sweep are locked: writes to them are ignored as a whole,
    nested keys the sweep's value lacks included (with a warning when the
    write differs from the sweep's value). Not thread-safe (W&B's is not
    either).
    """

    def __init__(self) -> None:
        # Instance attributes start with "_"; everything else is a key.
        # `_items` has W&B's name: vars(wandb.config)["_items"] is a known
        # way scripts read the whole config.
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_locked", set())
        object.__setattr__(self, "_warned", set())

    def _start(self, sweep_values: Dict[str, Any], defaults: Any) -> None:
        """Sets the sweep's values (locked), then `defaults` under them: a
        default for a sweep key is dropped, nested or not, as in W&B."""
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
            # Locked: the sweep's value stays whole, as in W&B (a nested
            # write does not add keys to it either).
            current = self._items[key]
            if warn_locked and key not in self._warned and _differs(
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
        return sweep_client.plain(self._items)

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
        # A key that starts with "_" too (config._seed), as in W&B; but not
        # the instance's own attributes, missing while it is being copied
        # or unpickled.
        items = self.__dict__.get("_items")
        if items is None or (name.startswith("_") and name not in items):
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
