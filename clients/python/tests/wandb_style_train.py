"""A training script as W&B users write it; nothing in it knows about Sweep.

test_wandb_shim.py runs it as a child process with the shim on PYTHONPATH.
It prints its final config ("CONFIG {...}") and run ("RUN {...}") on stdout.
--fail-at=N raises an exception in epoch N, after logging it.
"""

import argparse
import json

import wandb

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--fail-at", type=int, default=None)
args, _unknown = parser.parse_known_args()

defaults = dict(vars(args), optimizer={"name": "adam", "beta": 0.9})
with wandb.init(project="shim-test", config=defaults,
                config_exclude_keys=["fail_at"]) as run:
    wandb.define_metric("train.loss", summary="min")
    wandb.watch(None, log="all")
    print("CONFIG " + json.dumps(dict(wandb.config), sort_keys=True))
    print("RUN " + json.dumps({"id": run.id, "name": run.name,
                               "sweep_id": run.sweep_id,
                               "project": run.project}), flush=True)
    for epoch in range(wandb.config.epochs):
        loss = wandb.config.lr / (epoch + 1)
        wandb.log({"epoch": epoch, "train": {"loss": loss},
                   "examples": wandb.Image(None, caption="x"),
                   "note": "text", "better": epoch > 0})
        if epoch == args.fail_at:
            raise RuntimeError("simulated crash")
    run.summary["best_loss"] = loss
