#!/usr/bin/env python3
"""A stand-in training program for the example sweeps.

It "trains" for --epochs epochs on a noisy learning curve whose final loss is
a quadratic bowl over the hyperparameters, so a sweep has something real to
find: the best region is near lr=1e-3 with adam (1e-2 with sgd), batch_size
64, dropout 0.2, 3 layers of 256 units, weight_decay 1e-4, momentum 0.9.
Every hyperparameter has a default, so any subset of them works, and unknown
ones are accepted and ignored.

Arguments arrive the way a sweep agent passes them: --name=value, --name value,
a bare --name for a true boolean, name=value, +name=value and ++name=value
(Hydra styles), nested values as Python or JSON literals
("--optimizer={'type': 'sgd', 'lr': 0.01}"), and --config-file FILE (a JSON
object, e.g. from ${args_json_file}); command-line values win over the file.

Each epoch it logs {"_step", "epoch", "val_loss", "accuracy"} as one JSON line
appended to the file named by $SWEEP_METRICS_FILE, or, when that is unset, a
line "val_loss=... accuracy=..." on stdout. It exits with status 1 when the
learning rate is so high that training diverges.

Standard library only.
"""

import argparse
import ast
import hashlib
import json
import math
import os
import random
import sys
import time

# Optimal log10(learning rate) per optimizer, and how much worse each
# optimizer is at its best.
OPTIMIZERS = {
    "adam": (-3.0, 0.00),
    "adamw": (-3.2, -0.01),
    "rmsprop": (-3.3, 0.04),
    "sgd": (-2.0, 0.06),
}
ACTIVATIONS = {"relu": 0.0, "gelu": -0.02, "silu": -0.015, "tanh": 0.05}

TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0", "none", "null"}


def parse_value(text):
    """Turns one command-line value into a Python value.

    Agents format values as Python's str() does ("True", "None", "1e-05",
    "[1, 2]", "{'lr': 0.1}"); JSON spellings ("true", "null") work too.
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for parse in (ast.literal_eval, json.loads):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError,
                RecursionError):
            pass
    return text


def parse_extra_arguments(tokens):
    """Reads every token argparse did not know into a {name: value} dict."""
    config = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        name = token.lstrip("-+")
        if not name:
            continue
        if "=" in name:
            name, text = name.split("=", 1)
            config[name] = parse_value(text)
        elif token.startswith("--") and index < len(tokens) and \
                not tokens[index].startswith("--"):
            config[name] = parse_value(tokens[index])  # --name value
            index += 1
        elif token.startswith("--"):
            config[name] = True  # A boolean flag (${args_no_boolean_flags}).
        else:
            print(f"ignoring argument {token!r}", file=sys.stderr)
    return config


def flatten(config, prefix=""):
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


class Hyperparameters:
    """Looks a hyperparameter up by name, at the top level or nested."""

    def __init__(self, flat_config):
        self.flat = flat_config

    def _matches(self, names):
        found = []
        for name in names:
            for key, value in self.flat.items():
                if value is not None and (key == name or
                                          key.endswith("." + name)):
                    found.append(value)
        return found

    def number(self, default, *names):
        """The mean of every numeric value under one of `names`.

        Nested sweeps may set the same leaf twice (encoder.dropout and
        decoder.dropout); the mean stands for both.
        """
        values = []
        for value in self._matches(names):
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                print(f"ignoring non-numeric {names[0]}={value!r}",
                      file=sys.stderr)
        return sum(values) / len(values) if values else float(default)

    def choice(self, default, *names):
        for value in self._matches(names):
            if isinstance(value, str):
                return value.lower()
        return default

    def flag(self, default, *names):
        for value in self._matches(names):
            if isinstance(value, bool):
                return value
            if str(value).lower() in TRUE_WORDS:
                return True
            if str(value).lower() in FALSE_WORDS:
                return False
        return default


def log10_or(value, fallback):
    return math.log10(value) if value > 0 else fallback


def final_loss(hp):
    """The loss a long run would reach: a quadratic bowl, minimum ~0.1."""
    optimizer = hp.choice("adam", "optimizer", "optimizer.type",
                          "optimizer.name")
    best_log_lr, optimizer_offset = OPTIMIZERS.get(optimizer, (-3.0, 0.1))
    lr = hp.number(1e-3, "lr", "learning_rate")
    batch_size = hp.number(64, "batch_size")
    dropout = hp.number(0.2, "dropout")
    num_layers = hp.number(3, "num_layers", "layers")
    hidden_units = hp.number(256, "hidden_units", "hidden_size", "units")
    weight_decay = hp.number(1e-4, "weight_decay", "wd")
    momentum = hp.number(0.9, "momentum", "beta1")
    activation = hp.choice("relu", "activation")

    loss = 0.1 + optimizer_offset
    loss += 0.35 * (log10_or(lr, -9.0) - best_log_lr) ** 2
    loss += 0.04 * (math.log2(max(batch_size, 1.0)) - 6.0) ** 2
    loss += 1.5 * (dropout - 0.2) ** 2
    loss += 0.03 * (num_layers - 3.0) ** 2
    loss += 0.05 * (math.log2(max(hidden_units, 1.0)) - 8.0) ** 2
    loss += 0.02 * (log10_or(weight_decay, -8.0) + 4.0) ** 2
    loss += 0.8 * (momentum - 0.9) ** 2
    loss += ACTIVATIONS.get(activation, 0.05)
    if hp.flag(False, "use_batchnorm", "batchnorm"):
        loss -= 0.03
    return max(loss, 0.02), lr, best_log_lr, optimizer


def seed_for(flat_config, explicit_seed):
    """The same configuration gives the same curve unless --seed says not."""
    if explicit_seed is not None:
        return explicit_seed
    text = json.dumps(flat_config, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def log_metrics(record, metrics_path):
    if metrics_path:
        with open(metrics_path, "a", encoding="utf-8") as metrics_file:
            metrics_file.write(json.dumps(record) + "\n")
    else:
        print(f"val_loss={record['val_loss']:.6f} "
              f"accuracy={record['accuracy']:.6f}", flush=True)


def train(hp, flat_config, epochs, args):
    rng = random.Random(seed_for(flat_config, args.seed))
    target, lr, best_log_lr, optimizer = final_loss(hp)
    diverge_lr = 3.0 if optimizer == "sgd" else 0.5
    start = 2.5
    # Larger steps learn faster, up to a point; too small a rate barely moves.
    lr_ratio = min(max(lr / 10.0 ** best_log_lr, 0.05), 4.0)
    rate = 0.25 * math.sqrt(lr_ratio)
    noise = 0.01 + 0.02 * min(lr / diverge_lr, 1.0)
    metrics_path = os.environ.get("SWEEP_METRICS_FILE")

    for epoch in range(1, epochs + 1):
        if args.epoch_seconds > 0:
            time.sleep(args.epoch_seconds)
        val_loss = target + (start - target) * math.exp(-rate * epoch)
        if lr >= diverge_lr:
            val_loss = start * 30.0 ** epoch  # Past 1e6 at epoch 4.
        val_loss *= math.exp(rng.gauss(0.0, noise))
        if not math.isfinite(val_loss) or val_loss > 1e6:
            print(f"training diverged at epoch {epoch} (lr={lr})",
                  file=sys.stderr)
            return 1
        accuracy = min(math.exp(-val_loss) * (1.0 + rng.gauss(0.0, 0.005)),
                       1.0)
        log_metrics({"_step": epoch - 1, "epoch": epoch,
                     "val_loss": round(val_loss, 6),
                     "accuracy": round(accuracy, 6)}, metrics_path)
    return 0


def main(argv):
    # No abbreviations: a sweep parameter named "epoch" must not be taken
    # for --epochs.
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--epochs", type=lambda text: int(float(text)),
                        default=None, help="default 20")
    parser.add_argument("--epoch-seconds", "--epoch_seconds", type=float,
                        default=0.02, help="simulated time per epoch")
    parser.add_argument("--seed", type=int, default=None,
                        help="noise seed (default: derived from the config)")
    parser.add_argument("--config-file", "--config_file", default=None,
                        help="JSON object of hyperparameters")
    parser.add_argument("--cache-dir", "--cache_dir", default=None,
                        help="accepted for the examples; nothing is written")
    args, extra = parser.parse_known_args(argv)

    config = {}
    if args.config_file:
        with open(args.config_file, encoding="utf-8") as config_file:
            config.update(json.load(config_file))
    config.update(parse_extra_arguments(extra))
    flat_config = flatten(config)
    hp = Hyperparameters(flat_config)
    # Epochs may also come from the config file or a Hydra-style token.
    epochs = args.epochs if args.epochs is not None else int(
        hp.number(20, "epochs"))
    print(f"config: {json.dumps(config, default=str)}", file=sys.stderr)
    return train(hp, flat_config, epochs, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
