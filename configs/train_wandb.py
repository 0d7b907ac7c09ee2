#!/usr/bin/env python3
"""A W&B training script, written the way W&B's own examples are.

Nothing in it knows about Sweep: `sweep agent --wandb-shim` puts the W&B shim
(clients/python/shim/wandb) first on PYTHONPATH, so `import wandb` finds it and
wandb.config holds the trial's parameters, with DEFAULTS under them. Under
the real wandb it runs unchanged too.

It "trains" for `epochs` epochs on a noisy learning curve whose final loss is
a bowl over lr (best near 1e-3 for adam, 1e-2 for sgd), batch_size (best 64),
optimizer and dropout (best 0.2); the noise is seeded by the configuration,
so a configuration always gives the same curve. Each epoch logs epoch,
val_loss and accuracy; the best val_loss goes to the run's summary.

Standard library only, besides wandb. By hand, from the repository root:
    PYTHONPATH=clients/python/shim:clients/python python3 configs/train_wandb.py
"""

import hashlib
import json
import math
import random
import sys
import time

import wandb

DEFAULTS = {
    "lr": 1e-3,
    "batch_size": 64,
    "optimizer": "adam",
    "dropout": 0.2,
    "epochs": 10,
    "epoch_seconds": 0.02,  # Simulated time per epoch.
}

# log10 of the best learning rate, and how much worse the optimizer ends up.
OPTIMIZERS = {
    "adam": (-3.0, 0.0),
    "adamw": (-3.2, -0.01),
    "rmsprop": (-3.3, 0.04),
    "sgd": (-2.0, 0.06),
}


def final_loss(config, best_log_lr, optimizer_penalty):
    """Where a long run would end: a quadratic bowl, minimum about 0.1."""
    log_lr = math.log10(max(float(config.lr), 1e-12))
    log_batch = math.log2(max(float(config.batch_size), 1.0))
    return (0.1 + optimizer_penalty
            + 0.35 * (log_lr - best_log_lr) ** 2
            + 0.04 * (log_batch - 6.0) ** 2
            + 1.5 * (float(config.dropout) - 0.2) ** 2)


def seed_for(config):
    text = json.dumps(dict(config), sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def main():
    run = wandb.init(project="sweep-examples", config=DEFAULTS)
    config = wandb.config
    print(f"config: {json.dumps(dict(config), sort_keys=True)}",
          file=sys.stderr)

    best_log_lr, penalty = OPTIMIZERS.get(config.optimizer, (-3.0, 0.1))
    target = final_loss(config, best_log_lr, penalty)
    # Larger steps learn faster, up to a point; too small a rate barely moves.
    lr_ratio = min(max(float(config.lr) / 10.0 ** best_log_lr, 0.05), 4.0)
    rate = 0.3 * math.sqrt(lr_ratio)
    rng = random.Random(seed_for(config))

    best_val_loss = math.inf
    for epoch in range(1, int(config.epochs) + 1):
        time.sleep(float(config.epoch_seconds))
        val_loss = target + (2.5 - target) * math.exp(-rate * epoch)
        val_loss *= math.exp(rng.gauss(0.0, 0.02))
        accuracy = min(math.exp(-val_loss) * (1.0 + rng.gauss(0.0, 0.005)),
                       1.0)
        wandb.log({"epoch": epoch, "val_loss": val_loss,
                   "accuracy": accuracy})
        best_val_loss = min(best_val_loss, val_loss)

    run.summary["best_val_loss"] = best_val_loss
    wandb.finish()


if __name__ == "__main__":
    main()
