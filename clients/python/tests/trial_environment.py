"""What an agent gives a trial, for tests: a temporary directory, the
parameters file, the metrics file and the environment variables naming them.

Importing this module also puts clients/python/shim and clients/python first
on sys.path, so that `import sweep_client` and `import wandb` find the code
under test (and never a real W&B install).
"""

import json
import os
import sys
import tempfile
import unittest
from unittest import mock

CLIENTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPOSITORY_DIR = os.path.dirname(os.path.dirname(CLIENTS_DIR))
SHIM_DIR = os.path.join(CLIENTS_DIR, "shim")
# What the agent puts on PYTHONPATH with --wandb-shim.
SHIM_PYTHONPATH = SHIM_DIR + os.pathsep + CLIENTS_DIR
if sys.path[:2] != [SHIM_DIR, CLIENTS_DIR]:
    sys.path[:0] = [SHIM_DIR, CLIENTS_DIR]

# Every variable an agent sets; a test starts with none of them.
TRIAL_VARIABLES = (
    "SWEEP_ID", "SWEEP_TRIAL_ID", "SWEEP_PARAMS_FILE", "SWEEP_METRICS_FILE",
    "SWEEP_PARAMS_JSON", "SWEEP_PROJECT", "SWEEP_ENTITY", "SWEEP_RUN_TAG",
    "SWEEP_BINARY",
    "WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH",
    "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_CONFIG_PATHS")


class TrialEnvironment:
    """Sets the trial's environment for the rest of `test` (undone at its
    cleanup). params=None: no parameters file; metrics=False: no metrics
    file (the helpers print to stdout)."""

    def __init__(self, test: unittest.TestCase, params=None, metrics=True,
                 trial_id="7", sweep_id="sweep-abc"):
        directory = tempfile.TemporaryDirectory(prefix="sweep-client-test-")
        test.addCleanup(directory.cleanup)
        self.dir = directory.name
        self.params_path = os.path.join(self.dir, "params.json")
        self.metrics_path = os.path.join(self.dir, "metrics.jsonl")
        patcher = mock.patch.dict(os.environ)
        patcher.start()
        test.addCleanup(patcher.stop)
        for name in TRIAL_VARIABLES:
            os.environ.pop(name, None)
        if params is not None:
            with open(self.params_path, "w", encoding="utf-8") as params_file:
                json.dump(params, params_file)
            os.environ["SWEEP_PARAMS_FILE"] = self.params_path
        if metrics:
            os.environ["SWEEP_METRICS_FILE"] = self.metrics_path
        if trial_id is not None:
            os.environ["SWEEP_TRIAL_ID"] = trial_id
            os.environ["WANDB_RUN_ID"] = f"run-{trial_id}"
        if sweep_id is not None:
            os.environ["SWEEP_ID"] = sweep_id
            os.environ["WANDB_SWEEP_ID"] = sweep_id

    def lines(self):
        """The metrics file's lines, each checked to be complete."""
        if not os.path.exists(self.metrics_path):
            return []
        with open(self.metrics_path, encoding="utf-8") as metrics_file:
            text = metrics_file.read()
        assert text == "" or text.endswith("\n"), f"unterminated: {text!r}"
        return text.splitlines()

    def points(self):
        """The metric points written so far, parsed."""
        return [json.loads(line) for line in self.lines()]
