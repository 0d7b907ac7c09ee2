"""wandb.sweep() and wandb.agent() run by hand, outside a trial: they drive
the `sweep` command, as W&B's drive its server.

    sweep_id = wandb.sweep(sweep_config, project="p")   # `sweep create`
    wandb.agent(sweep_id, function=train, count=10)      # `sweep agent`

The controller is $SWEEP_CONTROLLER, else localhost:7420 (start one with
`sweep server`); the command is $SWEEP_BINARY, else `sweep` on PATH, else
build/cli/sweep of the checkout this shim is in.

Deliberately different from W&B: the agent runs each trial as a process of
its own, so wandb.agent() does not call `function` in this process. A sweep
that wandb.sweep() creates without a `program` gets this script as its
program (with this run's arguments, and no ${args}: the parameters reach
the function through wandb.config), and in each trial the script's own
wandb.sweep() returns the trial's sweep and its wandb.agent() calls
`function` once. A crash or a stop order then ends one trial, never the
agent, and a notebook, which has no script to run, is told so.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any, List, Mapping, Optional

from .errors import Error, UsageError

BINARY_VARIABLE = "SWEEP_BINARY"


def sweep_binary() -> str:
    """The `sweep` command to run; UsageError when there is none."""
    explicit = os.environ.get(BINARY_VARIABLE)
    if explicit:
        return explicit
    on_path = shutil.which("sweep")
    if on_path:
        return on_path
    # This file is <checkout>/clients/python/shim/wandb/_by_hand.py.
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    built = os.path.join(checkout, "build", "cli", "sweep")
    if os.access(built, os.X_OK):
        return built
    raise UsageError(
        "cannot find the `sweep` command that wandb.sweep() and wandb.agent() "
        f"run by hand: put it on PATH or set {BINARY_VARIABLE}")


def _refuse_in_a_trial(function: str) -> None:
    """A process of a trial that removed the sweep's variables must not
    start sweeps and agents of its own: each trial would start more."""
    if os.environ.get("SWEEP_RUN_TAG"):
        raise UsageError(
            f"wandb.{function}() in a process of a trial whose sweep "
            "variables (WANDB_SWEEP_ID, SWEEP_ID) were removed: it would "
            "start a sweep or an agent of its own in every trial")


def _script() -> Optional[str]:
    """The script this process runs, as typed (relative to the working
    directory, where the agent runs it from); None from a notebook or
    `python -c`."""
    script = sys.argv[0] if sys.argv else ""
    if not script or script == "-c" or not os.path.isfile(script):
        return None
    main = sys.modules.get("__main__")
    if main is None or not getattr(main, "__file__", None):
        return None
    return script


def _definition(sweep: Any, entity: Optional[str],
                project: Optional[str]) -> dict:
    if callable(sweep):
        sweep = sweep()
    if not isinstance(sweep, Mapping):
        raise UsageError("wandb.sweep() takes the sweep's configuration as a "
                         f"dict, not {type(sweep).__name__}")
    definition = dict(sweep)
    for key, value in (("project", project), ("entity", entity)):
        if value is not None and key not in definition:
            definition[key] = value
    if "program" not in definition and "command" not in definition:
        script = _script()
        if script is None:
            raise UsageError(
                "wandb.sweep() run from a notebook or `python -c` has no "
                "script for the agents to run (each trial is a process of "
                "its own): put the training in a script that calls "
                "wandb.sweep() and wandb.agent(), and run it")
        definition["program"] = script
        definition["command"] = (["${env}", "${interpreter}", "${program}"] +
                                 sys.argv[1:])
    return definition


def _json_value(value: Any) -> Any:
    """What json.dump cannot write itself: other mappings, numpy scalars."""
    if isinstance(value, Mapping):
        return dict(value)
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise UsageError("wandb.sweep(): the configuration holds "
                     f"{value!r}, which is not a YAML value")


def create_sweep(sweep: Any, entity: Optional[str],
                 project: Optional[str]) -> str:
    """`sweep create` of the configuration; returns the new sweep's id."""
    _refuse_in_a_trial("sweep")
    definition = _definition(sweep, entity, project)
    binary = sweep_binary()
    # JSON is YAML: the controller reads it as the file W&B would take.
    text = json.dumps(definition, indent=2, default=_json_value) + "\n"
    directory = tempfile.mkdtemp(prefix="wandb-sweep-")
    path = os.path.join(directory, "sweep.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    try:
        result = subprocess.run([binary, "create", path, "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, check=False)
    except OSError as error:
        shutil.rmtree(directory, ignore_errors=True)
        raise UsageError(f"cannot run {binary}: {error}") from error
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise UsageError(
            f"wandb.sweep(): `sweep create` failed (exit code "
            f"{result.returncode}); the configuration it was given is in "
            f"{path}")
    shutil.rmtree(directory, ignore_errors=True)
    try:
        sweep_id = json.loads(result.stdout)["sweep"]["id"]
    except (ValueError, KeyError, TypeError) as error:
        raise Error("wandb.sweep(): cannot read `sweep create`'s reply: "
                    f"{result.stdout[:200]!r}") from error
    print(f"wandb: Created sweep with ID: {sweep_id}", file=sys.stderr)
    print(f"wandb: Run more agents with: sweep agent {sweep_id} --wandb-shim",
          file=sys.stderr, flush=True)
    return sweep_id


def agent_command(sweep_id: Any, count: Any) -> List[str]:
    """The `sweep agent` command wandb.agent() runs."""
    command = [sweep_binary(), "agent", str(sweep_id), "--wandb-shim",
               "--interpreter", sys.executable or "python3"]
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UsageError("wandb.agent(): count must be a whole number "
                             f"of runs, not {count!r}")
        command += ["--count", str(count)]
    return command


def run_agent(sweep_id: Any, count: Any) -> None:
    """Runs `sweep agent` until it is done; Error when it fails. Ctrl-C
    stops it as it stops any agent (its trials are stopped and reported)
    before KeyboardInterrupt goes on."""
    _refuse_in_a_trial("agent")
    if not sweep_id:
        raise UsageError("wandb.agent() needs the sweep's id")
    command = agent_command(sweep_id, count)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        # A process group of its own: a terminal's Ctrl-C reaches it once,
        # through this process (which forwards each), not twice.
        agent = subprocess.Popen(command, preexec_fn=os.setpgrp)
    except OSError as error:
        raise UsageError(f"cannot run {command[0]}: {error}") from error
    interrupted = False
    while True:
        try:
            status = agent.wait()
            break
        except KeyboardInterrupt:
            # As the agent takes them: the first lets running trials
            # finish, the second terminates them, the third kills.
            interrupted = True
            agent.send_signal(signal.SIGINT)
    if interrupted:
        raise KeyboardInterrupt
    if status < 0:
        raise Error(f"wandb.agent(): `{' '.join(command)}` was killed by "
                    f"signal {-status}")
    if status != 0:
        raise Error(f"wandb.agent(): `{' '.join(command)}` exited with "
                    f"status {status}")
