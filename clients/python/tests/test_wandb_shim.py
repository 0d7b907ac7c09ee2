"""Tests of the W&B shim (clients/python/shim/wandb): in-process for the API, and
as child processes for unmodified W&B-style scripts."""

import argparse
import contextlib
import copy
import dataclasses
import datetime
import enum
import importlib
import io
import json
import os
import pathlib
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import unittest
import warnings
from unittest import mock

from trial_environment import (CLIENTS_DIR, REPOSITORY_DIR, SHIM_DIR,
                               SHIM_PYTHONPATH, TRIAL_VARIABLES,
                               TrialEnvironment)

import wandb

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

# The YAML config tests need PyYAML (scripts/install-deps.sh installs
# python3-yaml): a missing one fails here rather than skipping them.
import yaml  # pylint: disable=unused-import


def write_file(directory, name, text):
    """Writes `text` to directory/name; returns the path."""
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return path


def temporary_directory(test):
    """A directory removed when `test` ends."""
    directory = tempfile.mkdtemp()
    test.addCleanup(shutil.rmtree, directory, ignore_errors=True)
    return directory


def change_directory(test, directory):
    """Makes `directory` the working directory for the rest of `test`."""
    previous = os.getcwd()
    os.chdir(directory)
    test.addCleanup(os.chdir, previous)


class FakeScalar:
    """Looks like a numpy scalar or a 0-d torch tensor."""

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value


class ShimTestCase(unittest.TestCase):
    """Captures stderr (self.stderr) and leaves no run behind."""

    def setUp(self):
        self.stderr = io.StringIO()
        redirect = contextlib.redirect_stderr(self.stderr)
        redirect.__enter__()
        self.addCleanup(redirect.__exit__, None, None, None)

    def tearDown(self):
        # Before the cleanups restore the environment: a run still active
        # finishes into its own trial's files.
        wandb.finish()
        wandb._next_step = 0  # pylint: disable=protected-access

    def start(self, params=None, defaults=None, **init_options):
        """A trial environment with `params`, and a run with `defaults`."""
        environment = TrialEnvironment(self, params=params or {})
        run = wandb.init(project="test", config=defaults, **init_options)
        return environment, run


class ModuleTest(ShimTestCase):

    def test_the_shim_is_what_is_imported(self):
        self.assertTrue(wandb.__sweep_shim__)
        self.assertTrue(wandb.__file__.startswith(SHIM_DIR))

    def test_no_run_before_init(self):
        TrialEnvironment(self)
        self.assertIsNone(wandb.run)
        with self.assertRaisesRegex(wandb.Error, r"wandb\.init\(\)"):
            wandb.log({"a": 1})

    def test_init_sets_the_run_and_its_ids(self):
        TrialEnvironment(self, params={}, trial_id="12", sweep_id="s-9")
        run = wandb.init(project="proj", entity="team", tags=["a"],
                         anything_else=True, settings=wandb.Settings(x=1))
        self.assertIs(wandb.run, run)
        self.assertIs(wandb.config, run.config)
        self.assertIs(wandb.summary, run.summary)
        self.assertEqual((run.id, run.name, run.sweep_id, run.project),
                         ("run-12", "trial-12", "s-9", "proj"))
        self.assertEqual(run.entity, "team")
        self.assertEqual(run.tags, ("a",))
        self.assertEqual(run.settings.x, 1)
        self.assertIsNone(run.settings.unknown)
        self.assertNotIn("Ignored", self.stderr.getvalue())
        # Files a library saves beside the run go to the trial's directory.
        self.assertEqual(run.dir, os.path.dirname(os.environ["SWEEP_PARAMS_FILE"]))
        wandb.finish()
        self.assertIsNone(wandb.run)

    def test_the_sweeps_project_and_entity_win_over_inits(self):
        # As W&B: the agent passes the sweep's on; init()'s are ignored,
        # with W&B's warning.
        TrialEnvironment(self, params={})
        for name in ("WANDB_PROJECT", "SWEEP_PROJECT"):
            os.environ[name] = "sweeps-project"
        for name in ("WANDB_ENTITY", "SWEEP_ENTITY"):
            os.environ[name] = "sweeps-team"
        run = wandb.init(project="mine", entity="sweeps-team")
        self.assertEqual((run.project, run.entity),
                         ("sweeps-project", "sweeps-team"))
        self.assertIn("Ignored wandb.init() arg project when running a sweep",
                      self.stderr.getvalue())
        self.assertNotIn("arg entity", self.stderr.getvalue())

    def test_a_project_from_the_shell_does_not_override_inits(self):
        # A sweep file without one: WANDB_PROJECT is the user's, and an
        # explicit init(project=...) wins over it, as in W&B.
        TrialEnvironment(self, params={})
        os.environ["WANDB_PROJECT"] = "from-the-shell"
        run = wandb.init(project="mine")
        self.assertEqual(run.project, "mine")
        self.assertNotIn("Ignored", self.stderr.getvalue())

    def test_init_dir_is_where_the_runs_files_go_not_the_files_themselves(self):
        # Trials given the same --output-dir must not share run.dir.
        environment = TrialEnvironment(self, params={}, trial_id="7")
        root = os.path.join(environment.dir, "out")
        run = wandb.init(dir=root)
        self.assertTrue(os.path.isdir(run.dir))
        self.assertEqual(os.path.basename(run.dir), "files")
        run_folder = os.path.dirname(run.dir)
        self.assertEqual(os.path.dirname(run_folder), os.path.join(root, "wandb"))
        self.assertRegex(os.path.basename(run_folder), r"^run-\d{8}_\d{6}-run-7$")
        wandb.finish()
        TrialEnvironment(self, params={}, trial_id="8")
        other = wandb.init(dir=root)
        self.assertNotEqual(other.dir, run.dir)
        self.assertEqual(os.path.dirname(os.path.dirname(other.dir)),
                         os.path.join(root, "wandb"))
        wandb.finish()

    def test_util_generate_id_is_a_fresh_id(self):
        first = wandb.util.generate_id()
        self.assertRegex(first, r"^[a-z0-9]{8}$")
        self.assertNotEqual(first, wandb.util.generate_id())
        self.assertRegex(wandb.util.generate_id(length=12), r"^[a-z0-9]{12}$")
        self.assertIn("does nothing", repr(wandb.util.no_such_helper(1)))

    def test_outside_an_agent_metrics_go_to_stdout(self):
        TrialEnvironment(self, metrics=False, trial_id=None, sweep_id=None)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            run = wandb.init()
            wandb.log({"loss": 0.5})
            wandb.finish()
        self.assertIsNone(run.sweep_id)
        self.assertTrue(run.id)
        self.assertEqual(output.getvalue(), "_step=0 loss=0.5\n")

    def test_init_again_returns_the_active_run(self):
        _, run = self.start(params={"lr": 0.1}, defaults={"a": 1})
        again = wandb.init(config={"b": 2, "lr": 5})
        self.assertIs(again, run)
        self.assertEqual(dict(run.config), {"lr": 0.1, "a": 1, "b": 2})

    def test_context_manager_finishes_and_lets_exceptions_through(self):
        environment = TrialEnvironment(self)
        with self.assertRaisesRegex(ValueError, "boom"):
            with wandb.init() as run:
                self.assertIs(wandb.run, run)
                wandb.log({"a": 1}, step=3)
                raise ValueError("boom")
        self.assertIsNone(wandb.run)
        self.assertEqual(environment.points(), [{"_step": 3, "a": 1}])

    def test_a_later_run_continues_the_steps(self):
        environment = TrialEnvironment(self)
        wandb.init()
        wandb.log({"a": 1})
        wandb.log({"a": 2})
        wandb.finish()
        wandb.init()
        wandb.log({"a": 3})
        wandb.finish()
        self.assertEqual([point["_step"] for point in environment.points()],
                         [0, 1, 2])

    def fake_sweep_binary(self, reply):
        """A `sweep` that records its arguments (and the file `create` was
        given) in calls.json and prints `reply`; exits 3 when asked to."""
        directory = temporary_directory(self)
        script = write_file(directory, "sweep", f"""#!{sys.executable}
import json, os, sys
calls = os.path.join({directory!r}, "calls.json")
recorded = json.load(open(calls)) if os.path.exists(calls) else []
args = sys.argv[1:]
given = open(args[1]).read() if args[0] == "create" else None
recorded.append({{"args": args, "file": given}})
json.dump(recorded, open(calls, "w"))
if {reply!r}: print({reply!r})
sys.exit(3 if "fail" in args else 0)
""")
        os.chmod(script, 0o755)
        os.environ["SWEEP_BINARY"] = script

        def calls():
            with open(os.path.join(directory, "calls.json"),
                      encoding="utf-8") as file:
                return json.load(file)
        return calls

    def test_sweep_by_hand_creates_it_with_this_script_as_the_program(self):
        TrialEnvironment(self, params=None, metrics=False, sweep_id=None)
        calls = self.fake_sweep_binary('{"sweep": {"id": "new1"}}')
        script = write_file(temporary_directory(self), "train.py", "")
        config = {"method": "grid", "parameters": {"x": {"values": [1]}}}
        with mock.patch.object(sys, "argv", [script, "--data", "d"]), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(wandb.sweep(config, project="p"), "new1")
        self.assertIn("Created sweep with ID: new1", err.getvalue())
        (call,) = calls()
        self.assertEqual(call["args"][0], "create")
        self.assertEqual(json.loads(call["file"]), {
            "method": "grid", "parameters": {"x": {"values": [1]}},
            "project": "p", "program": script,
            "command": ["${env}", "${interpreter}", "${program}", "--data",
                        "d"]})
        # A program or command of the configuration's own is kept.
        with contextlib.redirect_stderr(io.StringIO()):
            wandb.sweep(dict(config, program="other.py"))
        self.assertEqual(json.loads(calls()[1]["file"]),
                         dict(config, program="other.py"))

    def test_sweep_by_hand_from_a_notebook_says_to_use_a_script(self):
        TrialEnvironment(self, params=None, metrics=False, sweep_id=None)
        self.fake_sweep_binary("{}")
        with mock.patch.object(sys, "argv", [""]), \
                self.assertRaisesRegex(wandb.UsageError, "notebook"):
            wandb.sweep({"method": "random"})
        with self.assertRaisesRegex(wandb.errors.UsageError, "dict"):
            wandb.sweep("sweep.yaml")
        self.assertTrue(issubclass(wandb.UsageError, wandb.Error))

    def test_agent_by_hand_runs_sweep_agent(self):
        TrialEnvironment(self, params=None, metrics=False, sweep_id=None)
        calls = self.fake_sweep_binary("")
        with contextlib.redirect_stdout(io.StringIO()):
            wandb.agent("abc", function=print, count=3)
            wandb.agent("team/proj/abc")
        self.assertEqual([call["args"] for call in calls()], [
            ["agent", "abc", "--wandb-shim", "--interpreter", sys.executable,
             "--count", "3"],
            ["agent", "team/proj/abc", "--wandb-shim", "--interpreter",
             sys.executable]])
        with contextlib.redirect_stdout(io.StringIO()), \
                self.assertRaisesRegex(wandb.Error, "exited with status 3"):
            wandb.agent("fail")
        with self.assertRaisesRegex(wandb.UsageError, "count"):
            wandb.agent("abc", count=-1)
        # In a trial's process that removed the sweep's variables: refused.
        os.environ["SWEEP_RUN_TAG"] = "tag"
        with self.assertRaisesRegex(wandb.UsageError, "were removed"):
            wandb.agent("abc")
        with self.assertRaisesRegex(wandb.UsageError, "were removed"):
            wandb.sweep({"method": "random"})
        self.assertEqual(len(calls()), 3)

    def test_agent_by_hand_forwards_each_ctrl_c_once(self):
        # A script calling wandb.agent() gets SIGINT as a terminal's Ctrl-C
        # gives it; its `sweep agent`, in a process group of its own, gets
        # each one once, from the script, and the script's KeyboardInterrupt
        # goes on once the agent has ended.
        directory = temporary_directory(self)
        fake = write_file(directory, "sweep", f"""#!{sys.executable}
import os, signal, sys
received = []
def on_sigint(number, frame):
    received.append(number)
    with open({os.path.join(directory, "signals")!r}, "a") as log:
        log.write("INT\\n")
    if len(received) == 2:
        sys.exit(130)
signal.signal(signal.SIGINT, on_sigint)
print("pgrp", os.getpgrp(), "parent", os.getppid(), flush=True)
while True:
    signal.pause()
""")
        os.chmod(fake, 0o755)
        script = write_file(directory, "by_hand.py",
                            "import wandb\nwandb.agent('abc', count=1)\n")
        variables = {key: value for key, value in os.environ.items()
                     if key not in TRIAL_VARIABLES}
        variables.update(PYTHONPATH=SHIM_PYTHONPATH, SWEEP_BINARY=fake)
        child = subprocess.Popen([sys.executable, script], env=variables,
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        self.addCleanup(child.kill)
        # The fake prints once its handler is in place.
        words = child.stdout.readline().split()
        self.assertEqual(words[0:1], ["pgrp"])
        self.assertEqual(int(words[3]), child.pid)
        self.assertNotEqual(int(words[1]), os.getpgid(child.pid))
        # First Ctrl-C: the agent lets its trials finish, and stays.
        child.send_signal(signal.SIGINT)
        def signals():
            path = os.path.join(directory, "signals")
            if not os.path.exists(path):
                return []
            with open(path, encoding="utf-8") as log:
                return log.read().split()
        deadline = time.monotonic() + 30
        while signals() != ["INT"] and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(signals(), ["INT"])
        self.assertIsNone(child.poll())
        # Second: the agent ends (130), and the script with
        # KeyboardInterrupt.
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        self.assertEqual(signals(), ["INT", "INT"])
        self.assertNotEqual(child.returncode, 0)
        self.assertIn("KeyboardInterrupt", stderr)
        self.assertNotIn("exited with status", stderr)

    def test_in_a_trial_sweep_and_agent_run_the_function_once(self):
        environment = TrialEnvironment(self, params={"lr": 0.5})
        calls = []

        def train():
            with wandb.init(config={"lr": 0.1}) as run:
                calls.append(run.config.lr)
                wandb.log({"loss": run.config.lr})

        sweep_id = wandb.sweep({"method": "random"}, project="p")
        self.assertEqual(sweep_id, "sweep-abc")
        wandb.agent(sweep_id, function=train, count=5)
        self.assertEqual(calls, [0.5])
        self.assertEqual(environment.points(), [{"_step": 0, "loss": 0.5}])

    def test_the_rerun_of_a_trial_runs_the_function_once(self):
        # What `sweep best` prints: the parameters, no agent.
        TrialEnvironment(self, params=None, metrics=False, trial_id=None,
                         sweep_id=None)
        os.environ["SWEEP_PARAMS_JSON"] = '{"lr": 0.5}'
        calls = []

        def train():
            with wandb.init(config={"lr": 0.1}) as run:
                calls.append(run.config.lr)

        with contextlib.redirect_stdout(io.StringIO()):
            wandb.agent(wandb.sweep({"method": "random"}), function=train)
        self.assertEqual(calls, [0.5])

    def test_join_is_finish(self):
        environment = TrialEnvironment(self)
        run = wandb.init()
        wandb.summary["acc"] = 0.75
        wandb.join()
        self.assertIsNone(wandb.run)
        run = wandb.init()
        run.log({"loss": 1})
        run.join()
        self.assertIsNone(wandb.run)
        self.assertEqual(environment.points(), [
            {"_step": 0, "acc": 0.75}, {"_step": 1, "loss": 1}])

    def test_a_process_that_removed_the_sweep_variables_runs_outside_it(self):
        # W&B's cross-validation example: each fold's worker clears WANDB_*
        # and starts a run of its own, which is not the sweep's.
        environment = TrialEnvironment(self, params={"lr": 0.5})
        for name in [key for key in os.environ if key.startswith("WANDB_")]:
            del os.environ[name]
        run = wandb.init(config={"fold": 2}, group="cv")
        self.assertIsNone(run.sweep_id)
        self.assertEqual(dict(run.config), {"fold": 2})
        run.log({"val_accuracy": 0.9})
        run.summary["best"] = 0.9
        wandb.join()
        self.assertEqual(environment.points(), [])
        self.assertIn("outside the sweep", self.stderr.getvalue())

    def test_unknown_attributes_do_nothing(self):
        self.start()
        result = wandb.plot.line(wandb.Table(), "x", "y", title="t")
        self.assertFalse(result)
        self.assertFalse(wandb.anything(1, key=2).more.calls()[0])
        self.assertEqual(list(wandb.Api().runs("x")), [])
        with wandb.something_else() as thing:
            thing.value = 3
        self.assertFalse(wandb.run.log_model(path="m", name="n"))
        wandb.log({"chart": result})
        with self.assertRaises(AttributeError):
            wandb.__not_there__  # pylint: disable=pointless-statement

    def test_unknown_submodules_import(self):
        # pylint: disable=import-outside-toplevel
        from wandb.integration.sb3 import WandbCallback
        import wandb.sdk.data_types
        self.assertFalse(WandbCallback(verbose=2))
        self.assertFalse(wandb.sdk.data_types.anything)
        from wandb.errors import CommError
        self.assertTrue(issubclass(CommError, wandb.Error))

    def test_stand_ins(self):
        self.start()
        self.assertTrue(wandb.login(key="x"))
        self.assertIsNone(wandb.watch(object(), log="all", log_freq=10))
        self.assertEqual(wandb.save("*.pt"), [])
        metric = wandb.define_metric("val_loss", summary="min", goal="minimize")
        self.assertEqual((metric.name, metric.summary), ("val_loss", "min"))
        self.assertEqual(wandb.run.define_metric("a", step_metric="e").name,
                         "a")
        wandb.alert(title="Low accuracy", text="below 0.5",
                    level=wandb.AlertLevel.WARN)
        self.assertIn("ALERT [WARN] Low accuracy: below 0.5",
                      self.stderr.getvalue())
        table = wandb.Table(columns=["a", "b"], data=[[1, 2]])
        table.add_data(3, 4)
        self.assertEqual(table.get_column("b"), [2, 4])
        self.assertEqual(wandb.Image([[0]], caption="c").caption, "c")
        self.assertIsNone(wandb.Image([[0]]).caption)
        self.assertEqual(wandb.Histogram([1, 2, 3]).sequence, [1, 2, 3])
        artifact = wandb.Artifact("model", type="model")
        artifact.add_file("model.pt")
        with artifact.new_file("notes.txt") as notes:
            notes.write("hello")
        self.assertEqual(artifact.files, ["model.pt", "notes.txt"])
        wandb.run.log_artifact(artifact)
        self.assertIsInstance(wandb.Video("v.mp4"), wandb.Video)


class ConfigTest(ShimTestCase):

    def test_sweep_values_win_over_defaults(self):
        _, run = self.start(
            params={"lr": 0.01, "optimizer": {"name": "sgd"}, "layers": 4},
            defaults={"lr": 0.1, "epochs": 10,
                      "optimizer": {"name": "adam", "beta": 0.9}})
        # A nested sweep value replaces the default's dict (no "beta").
        self.assertEqual(run.config.as_dict(), {
            "lr": 0.01, "layers": 4, "epochs": 10,
            "optimizer": {"name": "sgd"}})

    def test_nested_sweep_values_replace_defaults(self):
        # As in W&B: a nested sweep parameter replaces the whole dict given
        # to init(config=...); keys only the default had are gone.
        _, run = self.start(
            params={"model": {"hidden_size": 256, "num_layers": 4}},
            defaults={"model": {"hidden_size": 64, "manual_key": 1},
                      "epochs": 3})
        self.assertEqual(run.config.as_dict(), {
            "model": {"hidden_size": 256, "num_layers": 4}, "epochs": 3})
        self.assertNotIn("manual_key", wandb.config.model)
        with self.assertRaises(AttributeError):
            wandb.config.model.manual_key  # pylint: disable=pointless-statement
        self.assertEqual(self.stderr.getvalue(), "")
        # Later writes leave the sweep's value as it is, too.
        wandb.init(config={"model": {"manual_key": 2}})  # The active run.
        wandb.config.setdefaults({"model": {"manual_key": 3}})
        wandb.config.update({"model": {"hidden_size": 256, "manual_key": 4}})
        wandb.config.model = {"dropout": 0.5}
        self.assertEqual(wandb.config.as_dict()["model"],
                         {"hidden_size": 256, "num_layers": 4})
        self.assertEqual(self.stderr.getvalue().count(
            "'model' is set by the sweep"), 1)


    def test_attribute_and_item_access(self):
        _, run = self.start(params={"optimizer": {"lr": 0.1}},
                            defaults={"epochs": 3})
        config = wandb.config
        self.assertEqual(config.epochs, 3)
        self.assertEqual(config["epochs"], 3)
        self.assertEqual(config.optimizer.lr, 0.1)
        self.assertEqual(config["optimizer"]["lr"], 0.1)
        self.assertEqual(config.get("optimizer").lr, 0.1)
        self.assertEqual(config.get("missing", 5), 5)
        self.assertIn("epochs", config)
        self.assertNotIn("missing", config)
        self.assertEqual(sorted(config.keys()), ["epochs", "optimizer"])
        self.assertEqual(dict(config.items())["epochs"], 3)
        self.assertEqual(len(config), 2)
        self.assertEqual(sorted(config), ["epochs", "optimizer"])
        self.assertEqual(vars(config)["_items"]["epochs"], 3)
        self.assertEqual(json.loads(json.dumps(dict(config))),
                         {"epochs": 3, "optimizer": {"lr": 0.1}})
        self.assertIs(type(config.as_dict()["optimizer"]), dict)
        self.assertIs(run.config, config)

    def test_a_config_with_nested_values_saves_as_yaml_and_pickles(self):
        # Saving the config beside a checkpoint: the YAML loads with
        # safe_load, the pickle (torch.save) loads without the shim.
        self.start(params={"optimizer": {"lr": 0.1, "betas": {"b1": 0.9}}},
                   defaults={"epochs": 3})
        expected = {"epochs": 3, "optimizer": {"lr": 0.1, "betas": {"b1": 0.9}}}
        for dump in (yaml.safe_dump, yaml.dump):
            self.assertEqual(yaml.safe_load(dump(dict(wandb.config))), expected)
        self.assertEqual(yaml.safe_load(yaml.safe_dump(wandb.config.optimizer)),
                         expected["optimizer"])
        restored = pickle.loads(pickle.dumps(dict(wandb.config)))
        self.assertIs(type(restored["optimizer"]), dict)
        self.assertIs(type(restored["optimizer"]["betas"]), dict)
        self.assertEqual(restored, expected)
        self.assertNotIn(b"sweep_client", pickle.dumps(dict(wandb.config)))
        # A copy is a config still, and independent.
        copied = copy.deepcopy(wandb.config.optimizer)
        copied.betas.b1 = 0.5
        self.assertEqual(wandb.config.optimizer.betas.b1, 0.9)
        self.assertEqual(copy.copy(wandb.config.optimizer).lr, 0.1)

    def test_keys_starting_with_an_underscore_are_attributes_too(self):
        _, run = self.start(params={"_seed": 7})
        self.assertEqual(run.config._seed, 7)
        self.assertEqual(wandb.config._seed, 7)
        self.assertFalse(hasattr(wandb.config, "_missing"))
        self.assertEqual(copy.deepcopy(run.config)._seed, 7)

    def test_values_are_kept_fit_for_json_as_in_wandb(self):
        class Color(enum.Enum):
            RED = 1

        numpy_like = type("float64", (), {"tolist": lambda self: 1.5,
                                          "__module__": "numpy"})
        arguments = argparse.Namespace(
            out=pathlib.Path("runs/a"), sizes=(1, (2, 3)), color=Color.RED,
            when=datetime.date(2026, 11, 25), scale=numpy_like(),
            nested={"path": pathlib.PurePosixPath("b")}, plain=[1, "x", None])
        _, run = self.start(params={"lr": 0.1}, defaults=arguments)
        run.config.update({"later": pathlib.Path("c")})
        self.assertEqual(json.loads(json.dumps(run.config.as_dict())), {
            "lr": 0.1, "out": "runs/a", "sizes": [1, [2, 3]],
            "color": "Color.RED", "when": "2026-11-25", "scale": 1.5,
            "nested": {"path": "b"}, "plain": [1, "x", None], "later": "c"})

    def test_missing_keys(self):
        self.start()
        with self.assertRaises(KeyError):
            wandb.config["nope"]  # pylint: disable=pointless-statement
        with self.assertRaises(AttributeError):
            wandb.config.nope  # pylint: disable=pointless-statement
        self.assertEqual(getattr(wandb.config, "nope", 1), 1)
        self.assertFalse(hasattr(wandb.config, "nope"))

    def test_writes_to_the_sweeps_keys_are_ignored(self):
        self.start(params={"lr": 0.01, "opt": {"name": "sgd"}})
        config = wandb.config
        config.update({"lr": 0.5, "epochs": 3}, allow_val_change=True)
        config.lr = 0.7
        config["lr"] = 0.9
        config.update({"opt": {"name": "adam", "beta": 0.9}})
        del config.lr
        self.assertEqual(config.as_dict(), {
            "lr": 0.01, "epochs": 3, "opt": {"name": "sgd"}})
        warnings = self.stderr.getvalue()
        self.assertEqual(warnings.count("'lr' is set by the sweep to 0.01"), 1)
        self.assertIn("'opt' is set by the sweep", warnings)

    def test_other_keys_can_change(self):
        self.start(defaults={"epochs": 3})
        wandb.config.epochs = 5
        wandb.config.update({"batch": 32})
        wandb.config.setdefaults({"batch": 64, "seed": 1})
        self.assertEqual(wandb.config.setdefault("seed", 2), 1)
        self.assertEqual(wandb.config.as_dict(),
                         {"epochs": 5, "batch": 32, "seed": 1})
        del wandb.config["seed"]
        self.assertNotIn("seed", wandb.config)

    def test_config_from_namespace_dataclass_and_filters(self):
        @dataclasses.dataclass
        class Options:
            lr: float = 0.1
            epochs: int = 3

        self.start(params={"lr": 0.5},
                   defaults=argparse.Namespace(lr=0.1, batch=16, tmp="x"),
                   config_exclude_keys=["tmp"])
        self.assertEqual(wandb.config.as_dict(), {"lr": 0.5, "batch": 16})
        wandb.config.update(Options())
        self.assertEqual(wandb.config.as_dict(),
                         {"lr": 0.5, "batch": 16, "epochs": 3})
        wandb.finish()
        wandb.init(config={"a": 1, "b": 2}, config_include_keys=["a"])
        self.assertEqual(wandb.config.as_dict(), {"lr": 0.5, "a": 1})

    def test_config_from_a_file(self):
        environment = TrialEnvironment(self, params={"lr": 0.5})
        path = os.path.join(environment.dir, "defaults.json")
        with open(path, "w", encoding="utf-8") as file:
            json.dump({"lr": 0.1, "epochs": 2}, file)
        wandb.init(config=path)
        self.assertEqual(wandb.config.as_dict(), {"lr": 0.5, "epochs": 2})
        with self.assertRaisesRegex(FileNotFoundError, "missing.yaml"):
            wandb.config.update("missing.yaml")  # As in W&B.


# W&B's config-defaults.yaml format: desc and value per key, wandb_version.
DEFAULTS_YAML = """\
wandb_version: 1
lr:
  desc: learning rate
  value: 0.1
epochs:
  desc: passes over the data
  value: 10
batch: 32
optimizer:
  value: {name: adam, beta: 0.9}
"""


class ConfigFileTest(ShimTestCase):
    """config-defaults.yaml, init(config="file.yaml"), WANDB_CONFIG_PATHS."""

    def trial_in_its_directory(self, params):
        environment = TrialEnvironment(self, params=params)
        change_directory(self, environment.dir)
        return environment

    def test_config_defaults_yaml_in_the_working_directory(self):
        environment = self.trial_in_its_directory(
            {"lr": 0.5, "optimizer": {"name": "sgd"}})
        write_file(environment.dir, "config-defaults.yaml", DEFAULTS_YAML)
        wandb.init(config={"epochs": 5, "seed": 1})
        # The sweep over init's values over the file's; the sweep's nested
        # value replaces the file's (no "beta"), as in W&B.
        self.assertEqual(wandb.config.as_dict(), {
            "lr": 0.5, "epochs": 5, "batch": 32, "seed": 1,
            "optimizer": {"name": "sgd"}})
        self.assertEqual(self.stderr.getvalue().count("WARNING"), 0)

    def test_a_yaml_path_as_init_config_or_update(self):
        environment = self.trial_in_its_directory({"lr": 0.5})
        path = write_file(environment.dir, "special.yaml", DEFAULTS_YAML)
        wandb.init(config=path)
        self.assertEqual(wandb.config.lr, 0.5)
        self.assertEqual(wandb.config.epochs, 10)
        self.assertNotIn("wandb_version", wandb.config)
        write_file(environment.dir, "more.yml", "extra: {value: 3}\n")
        wandb.config.update("more.yml")
        self.assertEqual(wandb.config.extra, 3)

    def test_nested_sweep_values_replace_file_defaults(self):
        environment = self.trial_in_its_directory(
            {"model": {"hidden_size": 256, "num_layers": 4}})
        swept = {"hidden_size": 256, "num_layers": 4}
        # config-defaults.yaml.
        write_file(environment.dir, "config-defaults.yaml",
                   "model:\n  value: {hidden_size: 64, manual_key: 1}\n")
        wandb.init()
        self.assertEqual(wandb.config.as_dict(), {"model": swept})
        wandb.finish()
        os.remove("config-defaults.yaml")
        # init(config="file.yaml"), and config.update("file.yaml").
        path = write_file(environment.dir, "special.yaml",
                          "model: {hidden_size: 32, manual_key: 2}\n")
        wandb.init(config=path)
        self.assertEqual(wandb.config.as_dict(), {"model": swept})
        wandb.config.update(path)
        self.assertEqual(wandb.config.as_dict(), {"model": swept})
        wandb.finish()
        # $WANDB_CONFIG_PATHS.
        os.environ["WANDB_CONFIG_PATHS"] = path
        wandb.init()
        self.assertEqual(wandb.config.as_dict(), {"model": swept})

    def test_wandb_config_paths(self):
        environment = self.trial_in_its_directory({"lr": 0.5})
        write_file(environment.dir, "config-defaults.yaml",
                   "a: 1\nb: 1\nc: 1\nd: 1\n")
        write_file(environment.dir, "one.yaml", "b: {value: 2}\nc: 2\n")
        write_file(environment.dir, "two.yaml", "c: 3\nlr: 9\n")
        os.environ["WANDB_CONFIG_PATHS"] = "one.yaml, missing.yaml,two.yaml"
        wandb.init(config={"a": 4, "b": 4, "c": 4})
        # As in W&B: the files in WANDB_CONFIG_PATHS over init's values,
        # later ones over earlier ones; the sweep over everything.
        self.assertEqual(wandb.config.as_dict(),
                         {"lr": 0.5, "a": 4, "b": 2, "c": 3, "d": 1})
        self.assertIn("WANDB_CONFIG_PATHS: no file 'missing.yaml'",
                      self.stderr.getvalue())

    def test_without_pyyaml_a_warning_names_the_file(self):
        environment = self.trial_in_its_directory({"lr": 0.5})
        write_file(environment.dir, "config-defaults.yaml", DEFAULTS_YAML)
        with mock.patch.dict(sys.modules, {"yaml": None}):  # Not importable.
            wandb.init(config={"epochs": 5})
            wandb.config.update("config-defaults.yaml")
        self.assertEqual(wandb.config.as_dict(), {"lr": 0.5, "epochs": 5})
        warning = self.stderr.getvalue()
        self.assertIn("config file config-defaults.yaml: reading YAML needs "
                      "PyYAML", warning)
        self.assertIn("pip install pyyaml", warning)
        self.assertIn("python3-yaml", warning)

    def test_bad_files_raise_naming_them(self):
        environment = self.trial_in_its_directory({})
        bad = write_file(environment.dir, "bad.yaml", "a: [1\n")
        with self.assertRaisesRegex(ValueError, "bad.yaml: invalid YAML"):
            wandb.init(config=bad)
        listed = write_file(environment.dir, "list.yaml", "- 1\n- 2\n")
        with self.assertRaisesRegex(TypeError, "list.yaml: expected keys"):
            wandb.init(config=listed)
        broken = write_file(environment.dir, "broken.json", "{")
        with self.assertRaisesRegex(ValueError, "broken.json: invalid JSON"):
            wandb.init(config=broken)
        write_file(environment.dir, "config-defaults.yaml", "")  # Empty.
        wandb.init(config={"a": 1})
        self.assertEqual(wandb.config.as_dict(), {"a": 1})

    def test_json_files_take_wandbs_format_too(self):
        environment = self.trial_in_its_directory({})
        path = write_file(environment.dir, "defaults.json", json.dumps(
            {"wandb_version": 1, "lr": {"desc": "x", "value": 0.2},
             "epochs": 3}))
        wandb.init(config=path)
        self.assertEqual(wandb.config.as_dict(), {"lr": 0.2, "epochs": 3})

    def test_no_defaults_file_no_change(self):
        self.trial_in_its_directory({"lr": 0.5})
        wandb.init(config={"epochs": 2})
        self.assertEqual(wandb.config.as_dict(), {"lr": 0.5, "epochs": 2})


class LogTest(ShimTestCase):

    def test_each_log_is_a_step(self):
        environment, run = self.start()
        for loss in (0.5, 0.25, 0.125):
            wandb.log({"loss": loss})
        self.assertEqual(run.step, 3)
        self.assertEqual(environment.points(), [
            {"_step": 0, "loss": 0.5}, {"_step": 1, "loss": 0.25},
            {"_step": 2, "loss": 0.125}])

    def test_a_number_logged_as_a_string_is_warned_about_once(self):
        environment, _ = self.start()
        for loss in ("0.500", "0.250"):
            wandb.log({"loss": loss, "phase": "train", "acc": 0.5})
        self.assertEqual(environment.points(), [
            {"_step": 0, "acc": 0.5}, {"_step": 1, "acc": 0.5}])
        warnings = self.stderr.getvalue()
        self.assertEqual(warnings.count("is the string"), 1, warnings)
        self.assertIn("loss is the string '0.500', not a number", warnings)
        self.assertNotIn("phase", warnings)

    def test_commit_false_accumulates_into_the_next_point(self):
        environment, run = self.start()
        run.log({"a": 1}, commit=False)
        run.log({"b": 2}, commit=False)
        self.assertEqual(environment.points(), [])
        run.log({"c": 3})
        run.log({"d": 4}, commit=False)
        run.log({}, commit=True)
        self.assertEqual(environment.points(), [
            {"_step": 0, "a": 1, "b": 2, "c": 3}, {"_step": 1, "d": 4}])

    def test_explicit_steps(self):
        environment, run = self.start()
        wandb.log({"a": 1}, step=0)
        wandb.log({"b": 2}, step=0)   # Same step: same point.
        wandb.log({"a": 3}, step=5)   # Writes step 0, moves to 5.
        wandb.log({"c": 4})           # Commits step 5.
        wandb.log({"a": 9}, step=2)   # Below the current step: dropped.
        wandb.log({"a": 7}, step=8, commit=True)
        wandb.log({"a": 8})
        self.assertEqual(environment.points(), [
            {"_step": 0, "a": 1, "b": 2}, {"_step": 5, "a": 3, "c": 4},
            {"_step": 8, "a": 7}, {"_step": 9, "a": 8}])
        self.assertIn("step 2, which is less than the current step 6",
                      self.stderr.getvalue())
        self.assertEqual(run.step, 10)

    def test_pending_step_is_written_at_finish(self):
        environment, _ = self.start()
        wandb.log({"a": 1}, step=4)
        self.assertEqual(environment.points(), [])
        wandb.finish()
        self.assertEqual(environment.points(), [{"_step": 4, "a": 1}])

    def test_values_are_converted_or_skipped(self):
        environment, _ = self.start()
        wandb.log({"ok": True, "no": False, "np": FakeScalar(0.5),
                   "val": {"loss": 1.5, "acc": {"top1": 2}},
                   "image": wandb.Image(None), "table": wandb.Table(),
                   "text": "hello", "none": None, "list": [1, 2],
                   "hist": wandb.Histogram([1]), "nan": float("nan")})
        wandb.log({"image": wandb.Image(None)})  # Nothing numeric: a step.
        wandb.log({"last": 1})
        lines = environment.lines()
        self.assertEqual(lines, [
            '{"_step": 0, "ok": 1, "no": 0, "np": 0.5, "val.loss": 1.5, '
            '"val.acc.top1": 2, "nan": NaN}',
            '{"_step": 2, "last": 1}'])

    def test_bad_arguments(self):
        self.start()
        with self.assertRaises(TypeError):
            wandb.log([("a", 1)])
        with self.assertRaises(TypeError):
            wandb.log({"a": 1}, step="one")
        wandb.log({"a": 1}, step=FakeScalar(3))  # A numpy integer step.
        self.assertEqual(wandb.run.step, 3)

    def test_log_after_finish_is_ignored(self):
        environment, run = self.start()
        run.finish()
        run.log({"a": 1})
        self.assertEqual(environment.points(), [])
        self.assertIn("is finished", self.stderr.getvalue())


class SummaryTest(ShimTestCase):

    def test_holds_the_last_logged_values(self):
        self.start()
        wandb.log({"loss": 2.0, "val": {"acc": 0.5}})
        wandb.log({"loss": 1.0})
        self.assertEqual(wandb.summary["loss"], 1.0)
        self.assertEqual(wandb.run.summary.loss, 1.0)
        self.assertEqual(wandb.summary.get("val"), {"acc": 0.5})
        self.assertIn("loss", wandb.summary)
        self.assertEqual(wandb.summary.get("missing"), None)

    def test_writes_become_a_last_point(self):
        environment, run = self.start()
        wandb.log({"loss": 2.0})
        run.summary["best_loss"] = 1.0
        run.summary.update({"best_loss": 0.5, "model": "resnet"})
        wandb.summary.epochs_run = 3
        self.assertEqual(run.summary.best_loss, 0.5)
        wandb.finish()
        self.assertEqual(environment.points(), [
            {"_step": 0, "loss": 2.0},
            {"_step": 1, "best_loss": 0.5, "epochs_run": 3}])


class LightningTest(ShimTestCase):
    """What PyTorch Lightning's WandbLogger does with wandb (Lightning itself
    is not installed: its calls are made here as it makes them)."""

    def test_distribution_metadata_says_wandb_is_installed(self):
        # Lightning checks RequirementCache("wandb>=0.12.10"): the installed
        # distribution's version, through pkg_resources or importlib.metadata.
        try:
            # pylint: disable=import-outside-toplevel
            from importlib import metadata  # Python 3.8 and newer.
            self.assertEqual(metadata.version("wandb"), wandb.__version__)
        except ImportError:
            pass
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pkg_resources  # pylint: disable=import-outside-toplevel
        except ImportError:
            return
        distribution, = pkg_resources.require("wandb>=0.12.10")
        self.assertEqual(distribution.version, wandb.__version__)

    def test_run_classes_are_real_classes(self):
        # pylint: disable=import-outside-toplevel
        from wandb.sdk.lib import RunDisabled
        from wandb.sdk.lib.disabled import RunDisabled as Disabled
        from wandb.wandb_run import Run
        from wandb.sdk.wandb_run import Run as SdkRun
        self.assertIs(Run, wandb.Run)
        self.assertIs(SdkRun, wandb.Run)
        self.assertIs(Disabled, RunDisabled)
        self.assertIs(wandb.sdk.wandb_run.Run, wandb.Run)
        self.assertIs(wandb.sdk.lib.RunDisabled, RunDisabled)
        self.assertFalse(isinstance(object(), (Run, RunDisabled)))
        _, run = self.start()
        self.assertIsInstance(run, (Run, RunDisabled))
        self.assertIsInstance(wandb.run, wandb.Run)
        self.assertNotIsInstance(run, RunDisabled)
        disabled = RunDisabled()
        self.assertIsInstance(disabled, RunDisabled)
        self.assertFalse(disabled.log({"a": 1}))

    def test_what_wandb_logger_calls(self):
        environment = TrialEnvironment(self, params={"lr": 0.01})
        change_directory(self, environment.dir)  # dir="." is made in it.
        # pylint: disable=import-outside-toplevel
        from wandb import Artifact
        from wandb.sdk.lib import RunDisabled
        from wandb.wandb_run import Run
        # WandbLogger.experiment: a new run, its x-axis, its label.
        self.assertFalse(hasattr(wandb, "_attach"))
        experiment = wandb.init(name=None, project="lightning_logs", dir=".",
                                id=None, resume="allow", anonymous=None)
        self.assertTrue(isinstance(experiment, (Run, RunDisabled)) and
                        getattr(experiment, "define_metric", None))
        experiment.define_metric("trainer/global_step")
        experiment.define_metric("*", step_metric="trainer/global_step",
                                 step_sync=True)
        experiment._label(code="lightning_logger")  # pylint: disable=W0212
        self.assertIsNone(getattr(experiment, "_attach_id", None))
        wandb.require("service")
        # log_hyperparams, log_metrics, watch.
        experiment.config.update({"lr": 0.1, "hidden": 64},
                                 allow_val_change=True)
        experiment.log(dict({"train/loss": 0.5}, **{"trainer/global_step": 9}))
        experiment.log({"val/loss": 0.4, "trainer/global_step": 19})
        experiment.watch(None, log="gradients", log_freq=100, log_graph=True)
        # name, version, save dir, checkpoints as artifacts.
        self.assertEqual((experiment.id, experiment.name), ("run-7", "trial-7"))
        self.assertEqual(experiment.project_name(), "lightning_logs")
        self.assertRegex(experiment.dir, r"^\./wandb/run-[0-9_]+-run-7/files$")
        self.assertTrue(os.path.isdir(experiment.dir))
        self.assertEqual((wandb.run.step, wandb.run._step), (2, 2))  # W0212
        artifact = Artifact(name=f"model-{experiment.id}", type="model",
                            metadata={"score": 0.4})
        artifact.add_file("epoch=1.ckpt", name="model.ckpt")
        experiment.log_artifact(artifact, aliases=["latest", "best"])
        experiment.use_artifact("x:latest", type="model")
        wandb.finish()
        self.assertEqual(dict(experiment.config), {"lr": 0.01, "hidden": 64})
        self.assertEqual(environment.points(), [
            {"_step": 0, "train/loss": 0.5, "trainer/global_step": 9},
            {"_step": 1, "val/loss": 0.4, "trainer/global_step": 19}])


class FakeOptimizer:
    """A Keras optimizer's learning rate, as a tf.Variable shows it."""

    class Rate:
        def numpy(self):
            return FakeScalar(0.001)

    learning_rate = Rate()


class FakeModel:
    optimizer = FakeOptimizer()


def fresh_keras_callbacks(test, keras_module=None):
    """wandb.integration.keras imported anew, with `keras_module` as the
    installed Keras (None: as installed); undone at the test's cleanup."""
    names = ("wandb._keras", "wandb.integration.keras", "wandb.keras")

    def forget():
        for name in names:
            sys.modules.pop(name, None)

    forget()
    test.addCleanup(forget)
    if keras_module is not None:
        patcher = mock.patch.dict(sys.modules, {
            "keras": keras_module, "keras.callbacks": keras_module.callbacks})
        patcher.start()
        test.addCleanup(patcher.stop)
    return importlib.import_module("wandb.integration.keras")


class KerasTest(ShimTestCase):
    """wandb.integration.keras's callbacks, driven the way model.fit drives
    them (Keras itself is not installed)."""

    def fit(self, callback, epochs=2, batches=3):
        """Calls `callback`'s hooks as model.fit does."""
        callback.set_model(FakeModel())
        callback.set_params({"epochs": epochs, "steps": batches})
        callback.on_train_begin()
        for epoch in range(epochs):
            callback.on_epoch_begin(epoch)
            for batch in range(batches):
                callback.on_train_batch_begin(batch)
                callback.on_train_batch_end(batch, {"loss": epoch + batch})
            callback.on_test_begin()
            callback.on_test_end({"loss": 1.0})
            callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1),
                                          "val_loss": 2.0 - epoch})
        callback.on_train_end()
        wandb.finish()

    def test_the_callbacks_need_a_run(self):
        TrialEnvironment(self)
        keras = fresh_keras_callbacks(self)
        with self.assertRaisesRegex(wandb.Error, r"wandb\.init\(\)"):
            keras.WandbCallback()
        with self.assertRaisesRegex(wandb.Error, r"wandb\.init\(\)"):
            keras.WandbMetricsLogger()

    def test_wandb_callback_logs_each_epoch_and_the_best(self):
        environment, _ = self.start()
        # pylint: disable=import-outside-toplevel
        from wandb.keras import WandbCallback as Legacy
        from wandb.integration.keras import WandbCallback
        self.assertIs(Legacy, WandbCallback)
        self.fit(WandbCallback(save_model=False, log_weights=True))
        self.assertEqual(environment.points(), [
            {"_step": 0, "epoch": 0, "loss": 1.0, "val_loss": 2.0},
            {"_step": 1, "epoch": 1, "loss": 0.5, "val_loss": 1.0},
            {"_step": 2, "best_val_loss": 1.0, "best_epoch": 1}])

    def test_wandb_callback_batches_and_maximized_monitor(self):
        environment, _ = self.start()
        keras = fresh_keras_callbacks(self)
        self.assertEqual(keras.WandbCallback(monitor="val_accuracy").mode,
                         "max")
        self.assertEqual(keras.WandbCallback().mode, "min")
        self.fit(keras.WandbCallback(monitor="loss", mode="max",
                                     log_batch_frequency=2), epochs=1)
        self.assertEqual(environment.points(), [
            {"_step": 0, "loss": 0}, {"_step": 1, "loss": 2},
            {"_step": 2, "epoch": 0, "loss": 1.0, "val_loss": 2.0},
            {"_step": 3, "best_loss": 1.0, "best_epoch": 0}])

    def test_metrics_logger_per_epoch(self):
        environment, _ = self.start()
        keras = fresh_keras_callbacks(self)
        self.fit(keras.WandbMetricsLogger())
        self.assertEqual(environment.points(), [
            {"_step": 0, "epoch/loss": 1.0, "epoch/val_loss": 2.0,
             "epoch/epoch": 0, "epoch/learning_rate": 0.001},
            {"_step": 1, "epoch/loss": 0.5, "epoch/val_loss": 1.0,
             "epoch/epoch": 1, "epoch/learning_rate": 0.001}])

    def test_metrics_logger_per_batch(self):
        environment, _ = self.start()
        keras = fresh_keras_callbacks(self)
        every = keras.WandbMetricsLogger(log_freq="batch")
        self.assertEqual((every.logging_batch_wise, every.log_freq), (True, 1))
        self.fit(keras.WandbMetricsLogger(log_freq=2), epochs=1)
        self.assertEqual(environment.points(), [
            {"_step": 0, "batch/loss": 0, "batch/batch_step": 0,
             "batch/learning_rate": 0.001},
            {"_step": 1, "batch/loss": 2, "batch/batch_step": 2,
             "batch/learning_rate": 0.001},
            {"_step": 2, "epoch/loss": 1.0, "epoch/val_loss": 2.0,
             "epoch/epoch": 0, "epoch/learning_rate": 0.001}])

    def test_checkpoint_and_eval_callbacks_do_nothing(self):
        environment, _ = self.start()
        keras = fresh_keras_callbacks(self)

        class Predictions(keras.WandbEvalCallback):
            def add_ground_truth(self, logs=None):
                raise AssertionError("not called")

            def add_model_predictions(self, epoch, logs=None):
                raise AssertionError("not called")

        self.fit(Predictions(["x", "y"], ["epoch", "x", "y", "prediction"]))
        self.fit(keras.WandbModelCheckpoint("model.keras", monitor="val_loss",
                                            save_best_only=True))
        self.assertEqual(environment.points(), [])
        self.assertIn("WandbModelCheckpoint saves nothing",
                      self.stderr.getvalue())

    def test_subclasses_keras_callback_when_keras_is_installed(self):
        environment, _ = self.start()

        class Callback:  # As in Keras 3: `model` is a read-only property.
            def __init__(self):
                self.params = None
                self._model = None

            def set_model(self, model):
                self._model = model

            def set_params(self, params):
                self.params = params

            @property
            def model(self):
                return self._model

            def __getattr__(self, name):
                if name.startswith("on_"):
                    return lambda *args, **kwargs: None
                raise AttributeError(name)

        fake_keras = types.ModuleType("keras")
        fake_keras.callbacks = types.SimpleNamespace(Callback=Callback)
        keras = fresh_keras_callbacks(self, fake_keras)
        for name in ("WandbCallback", "WandbMetricsLogger",
                     "WandbModelCheckpoint", "WandbEvalCallback"):
            self.assertTrue(issubclass(getattr(keras, name), Callback), name)
        self.fit(keras.WandbMetricsLogger(), epochs=1)
        self.assertEqual(environment.points(), [
            {"_step": 0, "epoch/loss": 1.0, "epoch/val_loss": 2.0,
             "epoch/epoch": 0, "epoch/learning_rate": 0.001}])


def run_script(environment, script, *args):
    """Runs `script` as the agent would, with the shim on PYTHONPATH."""
    variables = dict(os.environ, PYTHONPATH=SHIM_PYTHONPATH)
    return subprocess.run([sys.executable, script, *args], env=variables,
                          cwd=environment.dir, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60,
                          check=False)


def printed(output, prefix):
    """The JSON printed after `prefix` on a line of `output`."""
    for line in output.splitlines():
        if line.startswith(prefix + " "):
            return json.loads(line[len(prefix) + 1:])
    raise AssertionError(f"no {prefix} line in {output!r}")


class UnmodifiedScriptTest(unittest.TestCase):
    """Unmodified W&B-style scripts, run as child processes."""

    SCRIPT = os.path.join(TESTS_DIR, "wandb_style_train.py")
    # Arguments as the default command's ${args} passes them.
    ARGS = ("--lr=0.01", "--batch_size=32", "--optimizer={'name': 'sgd'}")
    PARAMS = {"lr": 0.01, "batch_size": 32, "optimizer": {"name": "sgd"}}

    def test_reports_metrics_and_sees_the_sweeps_config(self):
        environment = TrialEnvironment(self, params=self.PARAMS,
                                       trial_id="4", sweep_id="sw")
        result = run_script(environment, self.SCRIPT, *self.ARGS)
        self.assertEqual(result.returncode, 0, result.stderr)
        # Sweep parameters over the script's defaults (epochs); the nested
        # sweep value replaces the default's (no beta), as in W&B.
        self.assertEqual(printed(result.stdout, "CONFIG"), {
            "epochs": 3, "lr": 0.01, "batch_size": 32,
            "optimizer": {"name": "sgd"}})
        self.assertEqual(printed(result.stdout, "RUN"), {
            "id": "run-4", "name": "trial-4", "sweep_id": "sw",
            "project": "shim-test"})
        self.assertEqual(environment.points(), [
            {"_step": 0, "epoch": 0, "train.loss": 0.01, "better": 0},
            {"_step": 1, "epoch": 1, "train.loss": 0.005, "better": 1},
            {"_step": 2, "epoch": 2, "train.loss": 0.01 / 3, "better": 1},
            {"_step": 3, "best_loss": 0.01 / 3}])

    def test_a_crash_keeps_what_was_logged(self):
        environment = TrialEnvironment(self, params=self.PARAMS)
        result = run_script(environment, self.SCRIPT, "--fail-at=1")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("simulated crash", result.stderr)
        self.assertEqual([point["epoch"] for point in environment.points()],
                         [0, 1])

    def test_pending_metrics_are_written_at_exit_without_finish(self):
        environment = TrialEnvironment(self, params={})
        script = os.path.join(environment.dir, "no_finish.py")
        with open(script, "w", encoding="utf-8") as file:
            file.write("import wandb\nwandb.init()\n"
                       "wandb.log({'a': 1}, step=5)\n")
        result = run_script(environment, script)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(environment.points(), [{"_step": 5, "a": 1}])


    def test_cross_validation_folds_in_workers_are_not_the_trials(self):
        # As W&B's cross-validation example: fold workers clear WANDB_* and
        # log their own runs; the trial's run logs the folds' mean.
        environment = TrialEnvironment(self, params={"lr": 0.1})
        script = os.path.join(environment.dir, "cross_validation.py")
        with open(script, "w", encoding="utf-8") as file:
            file.write("""import multiprocessing, os
import wandb

def fold(number, results):
    for key in [key for key in os.environ if key.startswith("WANDB_")]:
        del os.environ[key]
    run = wandb.init(group="cv", name=f"fold-{number}")
    accuracy = [0.9, 0.5, 0.1][number]
    run.log({"val_accuracy": accuracy})
    wandb.join()
    results.put(accuracy)

if __name__ == "__main__":
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=fold, args=(number, results))
               for number in range(3)]
    for worker in workers:
        worker.start()
    accuracies = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join()
    run = wandb.init()
    run.log({"val_accuracy": sum(accuracies) / len(accuracies)})
    wandb.join()
""")
        result = run_script(environment, script)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(environment.points(),
                         [{"_step": 0, "val_accuracy": 0.5}])


    def test_sequential_folds_then_the_trials_run_resumed(self):
        # W&B's newer cross-validation example: the folds run one after the
        # other with WANDB_* cleared, then the trial's run is resumed by id.
        environment = TrialEnvironment(self, params={"lr": 0.1})
        script = os.path.join(environment.dir, "sequential.py")
        with open(script, "w", encoding="utf-8") as file:
            file.write("""import os
import wandb

run = wandb.init()
run_id = run.id
run.finish()
accuracies = []
for number in range(3):
    for key in [key for key in os.environ if key.startswith("WANDB_")]:
        del os.environ[key]
    fold = wandb.init(name=f"fold-{number}", reinit=True)
    accuracies.append([0.9, 0.5, 0.1][number])
    fold.log({"val_accuracy": accuracies[-1]})
    fold.finish()
run = wandb.init(id=run_id, resume="must")
assert run.sweep_id, run.sweep_id
run.log({"val_accuracy": sum(accuracies) / len(accuracies)})
run.finish()
""")
        result = run_script(environment, script)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([point["val_accuracy"] for point in
                          environment.points()], [0.5])


class ScriptConfigFileTest(unittest.TestCase):
    """config-defaults.yaml in the agent's working directory, where the
    agent starts the program (as W&B's agent does), and the run classes
    after a bare `import wandb`."""

    SCRIPT = """\
import json
import wandb

run = wandb.init(config={"epochs": 5})
assert isinstance(run, wandb.sdk.wandb_run.Run)
assert isinstance(run, wandb.wandb_run.Run)
print("CONFIG " + json.dumps(run.config.as_dict(), sort_keys=True))
"""

    def test_config_defaults_yaml_is_read(self):
        environment = TrialEnvironment(self, params={"lr": 0.5})
        write_file(environment.dir, "config-defaults.yaml", DEFAULTS_YAML)
        script = write_file(environment.dir, "train.py", self.SCRIPT)
        result = run_script(environment, script)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(printed(result.stdout, "CONFIG"), {
            "lr": 0.5, "epochs": 5, "batch": 32,
            "optimizer": {"name": "adam", "beta": 0.9}})


class ExampleScriptTest(unittest.TestCase):
    """configs/train_wandb.py, the example that wandb_script.yaml runs."""

    SCRIPT = os.path.join(REPOSITORY_DIR, "configs", "train_wandb.py")

    def run_example(self, **params):
        environment = TrialEnvironment(
            self, params=dict(params, epochs=5, epoch_seconds=0))
        result = run_script(environment, self.SCRIPT, "--ignored=1")
        self.assertEqual(result.returncode, 0, result.stderr)
        return environment.points()

    def setUp(self):
        if not os.path.exists(self.SCRIPT):
            self.skipTest(f"{self.SCRIPT} is not there")

    def test_logs_a_deterministic_learning_curve(self):
        points = self.run_example(lr=0.001, batch_size=64, optimizer="adam",
                                  dropout=0.2)
        self.assertEqual([point["_step"] for point in points], list(range(6)))
        self.assertEqual([point.get("epoch") for point in points[:5]],
                         [1, 2, 3, 4, 5])
        losses = [point["val_loss"] for point in points[:5]]
        self.assertLess(losses[-1], losses[0])
        self.assertEqual(points[5], {"_step": 5, "best_val_loss": min(losses)})
        again = self.run_example(lr=0.001, batch_size=64, optimizer="adam",
                                 dropout=0.2)
        self.assertEqual(again, points)

    def test_the_learning_rate_matters(self):
        good = self.run_example(lr=0.001, optimizer="adam")
        bad = self.run_example(lr=0.1, optimizer="adam")
        self.assertLess(good[-1]["best_val_loss"], bad[-1]["best_val_loss"])


if __name__ == "__main__":
    unittest.main()
