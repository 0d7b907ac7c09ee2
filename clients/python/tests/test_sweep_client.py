"""Tests of sweep_client: config(), log(), trial_id(), sweep_id()."""

import contextlib
import copy
import io
import json
import math
import os
import pickle
import threading
import unittest
from unittest import mock

from trial_environment import TrialEnvironment

import sweep_client


class FakeScalar:
    """Looks like a numpy scalar or a 0-d torch tensor."""

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value


class FakeArray:
    """Looks like a tensor with several elements: .item() fails."""

    def item(self):
        raise ValueError("only one element tensors can be converted")


class ConfigTest(unittest.TestCase):

    def test_empty_without_an_agent(self):
        TrialEnvironment(self, params=None)
        config = sweep_client.config()
        self.assertEqual(config, {})
        self.assertIsInstance(config, dict)

    def test_reads_nested_parameters_with_attribute_access(self):
        params = {"optimizer": {"lr": 0.1, "betas": {"b1": 0.9}},
                  "epochs": 10, "layers": [{"units": 4}], "name": "x"}
        TrialEnvironment(self, params=params)
        config = sweep_client.config()
        self.assertEqual(config, params)
        self.assertEqual(config.optimizer.lr, 0.1)
        self.assertEqual(config["optimizer"]["lr"], 0.1)
        self.assertEqual(config.optimizer.betas.b1, 0.9)
        self.assertEqual(config.layers[0].units, 4)
        self.assertEqual(config.get("missing", 3), 3)
        self.assertEqual(json.loads(json.dumps(config)), params)

    def test_pickles_and_plains_as_plain_dicts(self):
        params = {"optimizer": {"lr": 0.1}, "layers": [{"units": 4}]}
        TrialEnvironment(self, params=params)
        config = sweep_client.config()
        for copied in (pickle.loads(pickle.dumps(config)),
                       sweep_client.plain(config)):
            self.assertEqual(copied, params)
            self.assertIs(type(copied), dict)
            self.assertIs(type(copied["optimizer"]), dict)
            self.assertIs(type(copied["layers"][0]), dict)
        self.assertEqual(copy.deepcopy(config).optimizer.lr, 0.1)

    def test_missing_attribute_is_an_attribute_error(self):
        TrialEnvironment(self, params={"a": 1})
        config = sweep_client.config()
        with self.assertRaises(AttributeError):
            config.b  # pylint: disable=pointless-statement
        self.assertEqual(getattr(config, "b", "default"), "default")
        with self.assertRaises(KeyError):
            config["b"]  # pylint: disable=pointless-statement

    def test_attribute_writes_are_items(self):
        TrialEnvironment(self, params={"a": 1})
        config = sweep_client.config()
        config.b = 2
        self.assertEqual(config, {"a": 1, "b": 2})
        del config.a
        self.assertEqual(config, {"b": 2})

    def test_each_call_returns_a_fresh_copy(self):
        TrialEnvironment(self, params={"a": {"b": 1}})
        sweep_client.config().a.b = 5
        self.assertEqual(sweep_client.config().a.b, 1)

    def test_unreadable_file_names_the_path(self):
        environment = TrialEnvironment(self, params={"a": 1})
        os.remove(environment.params_path)
        with self.assertRaisesRegex(RuntimeError, "SWEEP_PARAMS_FILE=.*params"):
            sweep_client.config()

    def test_reads_inline_json_without_a_params_file(self):
        TrialEnvironment(self, params=None)
        with mock.patch.dict(os.environ,
                             {"SWEEP_PARAMS_JSON": '{"opt": {"lr": 0.5}}'}):
            self.assertEqual(sweep_client.config().opt.lr, 0.5)
        with mock.patch.dict(os.environ, {"SWEEP_PARAMS_JSON": "[1]"}):
            with self.assertRaisesRegex(RuntimeError, "SWEEP_PARAMS_JSON"):
                sweep_client.config()

    def test_a_params_file_wins_over_inline_json(self):
        TrialEnvironment(self, params={"a": 1})
        with mock.patch.dict(os.environ, {"SWEEP_PARAMS_JSON": '{"a": 2}'}):
            self.assertEqual(sweep_client.config(), {"a": 1})

    def test_invalid_json_and_non_objects_are_refused(self):
        environment = TrialEnvironment(self, params={"a": 1})
        for text in ("{not json", "[1, 2]"):
            with open(environment.params_path, "w", encoding="utf-8") as file:
                file.write(text)
            with self.assertRaises(RuntimeError):
                sweep_client.config()


class LogTest(unittest.TestCase):

    def test_appends_one_json_line_per_point(self):
        environment = TrialEnvironment(self)
        with open(environment.metrics_path, "w", encoding="utf-8") as file:
            file.write('{"_step": 0, "old": 1}\n')
        sweep_client.log({"val/loss": 0.5, "accuracy": 0.75}, step=1)
        sweep_client.log({"loss": 0.25})
        self.assertEqual(environment.points(), [
            {"_step": 0, "old": 1},
            {"_step": 1, "val/loss": 0.5, "accuracy": 0.75},
            {"loss": 0.25},
        ])

    def test_step_comes_first_in_the_line(self):
        environment = TrialEnvironment(self)
        sweep_client.log({"b": 1, "a": 2}, step=4)
        self.assertEqual(environment.lines(), ['{"_step": 4, "b": 1, "a": 2}'])

    def test_step_entry_in_metrics_is_the_step(self):
        environment = TrialEnvironment(self)
        sweep_client.log({"_step": 3, "loss": 1.5})
        sweep_client.log({"_step": 3, "loss": 1.0}, step=4)
        self.assertEqual(environment.points(), [
            {"_step": 3, "loss": 1.5}, {"_step": 4, "loss": 1.0}])

    def test_nested_metrics_are_flattened_with_slashes(self):
        environment = TrialEnvironment(self)
        sweep_client.log({"val": {"loss": 0.5, "top": {"k1": 0.1}}, "lr": 1})
        self.assertEqual(environment.points(),
                         [{"val/loss": 0.5, "val/top/k1": 0.1, "lr": 1}])

    def test_converts_bools_and_scalars_with_item(self):
        environment = TrialEnvironment(self)
        sweep_client.log({"ok": True, "bad": False, "np": FakeScalar(2.5),
                          "int": FakeScalar(3)})
        self.assertEqual(environment.points(),
                         [{"ok": 1, "bad": 0, "np": 2.5, "int": 3}])

    def test_non_finite_values_are_written_as_json_does(self):
        environment = TrialEnvironment(self)
        sweep_client.log({"nan": float("nan"), "inf": float("inf"),
                          "ninf": float("-inf")}, step=0)
        self.assertEqual(environment.lines(), [
            '{"_step": 0, "nan": NaN, "inf": Infinity, "ninf": -Infinity}'])
        point = environment.points()[0]
        self.assertTrue(math.isnan(point["nan"]))

    def test_non_numbers_are_refused_and_nothing_is_written(self):
        environment = TrialEnvironment(self)
        for value in ("text", None, [1, 2], FakeArray()):
            with self.assertRaisesRegex(TypeError, "metric 'bad'"):
                sweep_client.log({"good": 1, "bad": value})
        with self.assertRaises(TypeError):
            sweep_client.log([("a", 1)])
        with self.assertRaises(TypeError):
            sweep_client.log({1: 2.0})
        self.assertEqual(environment.lines(), [])

    def test_bad_steps_are_refused(self):
        TrialEnvironment(self)
        for step, error in ((-1, ValueError), (1.5, TypeError),
                            (True, TypeError), ("3", TypeError)):
            with self.assertRaises(error):
                sweep_client.log({"a": 1}, step=step)

    def test_empty_point_writes_nothing(self):
        environment = TrialEnvironment(self)
        sweep_client.log({})
        sweep_client.log({}, step=3)
        self.assertFalse(os.path.exists(environment.metrics_path))

    def test_prints_name_value_pairs_without_an_agent(self):
        TrialEnvironment(self, metrics=False)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            sweep_client.log({"loss": 0.25, "val": {"acc": 1}}, step=2)
            sweep_client.log({"ok": True})
        self.assertEqual(output.getvalue(),
                         "_step=2 loss=0.25 val/acc=1\nok=1\n")

    def test_concurrent_writers_keep_lines_whole(self):
        environment = TrialEnvironment(self)
        threads, points_per_thread = 8, 200
        padding = "x" * 300  # Long lines make torn writes visible.

        def write(thread):
            for index in range(points_per_thread):
                sweep_client.log({f"thread{thread}/{padding}": index})

        workers = [threading.Thread(target=write, args=(thread,))
                   for thread in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        points = environment.points()
        self.assertEqual(len(points), threads * points_per_thread)
        for thread in range(threads):
            values = [point[f"thread{thread}/{padding}"] for point in points
                      if f"thread{thread}/{padding}" in point]
            self.assertEqual(values, list(range(points_per_thread)))


class IdsTest(unittest.TestCase):

    def test_ids_from_the_environment(self):
        TrialEnvironment(self, trial_id="12", sweep_id="s-1")
        self.assertEqual(sweep_client.trial_id(), "12")
        self.assertEqual(sweep_client.sweep_id(), "s-1")

    def test_none_without_an_agent(self):
        TrialEnvironment(self, trial_id=None, sweep_id=None)
        self.assertIsNone(sweep_client.trial_id())
        self.assertIsNone(sweep_client.sweep_id())


if __name__ == "__main__":
    unittest.main()
