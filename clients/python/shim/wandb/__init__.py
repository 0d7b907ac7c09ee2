"""A stand-in for the `wandb` package, so that W&B training scripts run
unmodified under `sweep agent --wandb-shim` and report to the sweep.

The agent puts the folder holding this package first on PYTHONPATH, so
`import wandb` finds it before a real W&B install. Nothing is uploaded and
nothing needs a login:

- wandb.init() returns a Run whose config holds the trial's parameters (from
  $SWEEP_PARAMS_FILE), with the defaults given to init(config=...) and W&B's
  config files (config-defaults.yaml, $WANDB_CONFIG_PATHS) merged under
  them: the sweep's values win, a nested one replacing the default's dict
  whole, as in W&B (see _config.py).
- wandb.log() writes metric points to $SWEEP_METRICS_FILE through
  sweep_client, numbering steps the way W&B does (see _run.py); with no agent
  around they are printed on stdout.
- wandb.summary writes become one last point at finish().
- In a trial, wandb.sweep() returns the trial's sweep id and
  wandb.agent(..., function=train) calls train() once (the agent runs the
  program once per trial), so `wandb.agent(wandb.sweep(cfg), function=train)`
  scripts run unchanged; so does the rerun of a trial that `sweep best`
  prints ($SWEEP_PARAMS_JSON). Run by hand, wandb.sweep() is `sweep create`
  and wandb.agent() is `sweep agent`, which runs the script once per trial
  (_by_hand.py).
- A process of a trial that removes W&B's sweep variables ($WANDB_SWEEP_ID,
  as W&B's cross-validation example does in its fold workers with
  reset_wandb_env()) starts runs outside the sweep, as in W&B: they get only
  the config they are given, and what they log is not the trial's; but
  wandb.init(id=<the trial's run id>, resume=...) is the trial's run again.
- The classes W&B integrations import are real: wandb.Run is also
  wandb.wandb_run.Run and wandb.sdk.wandb_run.Run, wandb.sdk.lib.RunDisabled
  is a class (Lightning's WandbLogger checks isinstance against both), and
  wandb.integration.keras's callbacks log what model.fit reports (_keras.py).
- Everything else is a harmless stand-in: data types keep their arguments,
  and any other attribute (wandb.plot.line(...), wandb.Api(), run.log_model)
  or submodule (import wandb.integration.sb3) is a NoOp.

A process is one trial: calling init() again while a run is active returns
that run, and a run started after finish() continues its step numbering.
"""

import atexit
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import uuid
from typing import Any, Dict, Optional

import sweep_client

from . import errors, util
from ._config import Config, file_defaults, to_dict
from ._run import Run, Summary
from ._stand_ins import (AlertLevel, Artifact, Audio, Histogram, Html, Image,
                         MetricDefinition, Molecule, NoOp, Object3D, RunDisabled,
                         Settings, SummaryDisabled, Table, Video)
from .errors import Error, UsageError

__all__ = [
    "init", "log", "finish", "join", "define_metric", "watch", "unwatch", "save",
    "restore", "alert", "login", "setup", "teardown", "agent", "sweep",
    "termlog", "termwarn", "termerror", "run", "config", "summary", "Run",
    "Config", "Summary", "Settings", "AlertLevel", "Artifact", "Audio",
    "Histogram", "Html", "Image", "Molecule", "Object3D", "Table", "Video",
    "Error", "UsageError", "errors", "util",
]

# A valid version for libraries that compare it; "+sweep.shim" tells it apart.
__version__ = "0.19.0+sweep.shim"
__sweep_shim__ = True

# W&B's module-level globals: replaced by init(), as W&B does.
run: Optional[Run] = None
config = Config()
summary = Summary()

_lock = threading.RLock()  # Guards run, config, summary and _next_step.
# The trial's run and sweep as the agent named them, before the program could
# remove them from its environment: wandb.init(id=..., resume=...) of that
# run is the trial's again (W&B's sequential cross-validation example).
_TRIAL_RUN_ID = os.environ.get("WANDB_RUN_ID")
_TRIAL_SWEEP_ID = os.environ.get("WANDB_SWEEP_ID")
_next_step = 0  # Where the next run's steps start (one process, one trial).
_announced = False


def init(job_type: Optional[str] = None, dir: Optional[str] = None,
         config: Any = None, project: Optional[str] = None,
         entity: Optional[str] = None, reinit: Any = None, tags: Any = None,
         group: Optional[str] = None, name: Optional[str] = None,
         notes: Optional[str] = None, **options: Any) -> Run:
    """Starts the trial's run (W&B's positional order; any other W&B option
    is accepted and ignored). `config`: defaults, under the sweep's values;
    config_exclude_keys / config_include_keys filter it, as in W&B. The
    config files W&B reads are merged with it (see _config.file_defaults)."""
    defaults = _select(to_dict(config), options.get("config_exclude_keys"),
                       options.get("config_include_keys"))
    with _lock:
        active = globals()["run"]
        if active is not None:
            active.config._update(defaults, warn_locked=False)
            return active
        run_config = Config()
        resumed = bool(_TRIAL_RUN_ID and options.get("id") is not None and
                       str(options.get("id")) == _TRIAL_RUN_ID)
        outside = _outside_the_sweep() and not resumed
        # The config files W&B reads go with init's defaults, under the sweep.
        run_config._start({} if outside else sweep_client.config(),
                          file_defaults(defaults))
        trial = None if outside else sweep_client.trial_id()
        run_id = (os.environ.get("WANDB_RUN_ID") or options.get("id") or
                  trial or uuid.uuid4().hex[:8])
        sweep_id = None if outside else (os.environ.get("WANDB_SWEEP_ID") or
                                         _TRIAL_SWEEP_ID or
                                         sweep_client.sweep_id())
        # In a sweep, its project and entity (which the agent passes on as
        # SWEEP_PROJECT / SWEEP_ENTITY when the sweep file has them) are the
        # run's, as in W&B, whatever init() was given.
        if not outside:
            sweeps_project = os.environ.get("SWEEP_PROJECT")
            sweeps_entity = os.environ.get("SWEEP_ENTITY")
            for key, given, sweeps in (("project", project, sweeps_project),
                                       ("entity", entity, sweeps_entity)):
                if sweeps and given is not None and given != sweeps:
                    termwarn(f"Ignored wandb.init() arg {key} when running "
                             "a sweep.")
            project = sweeps_project or project
            entity = sweeps_entity or entity
        new_run = Run(
            run_id=str(run_id),
            name=name or (f"trial-{trial}" if trial else str(run_id)),
            project=project or os.environ.get("WANDB_PROJECT") or
            "uncategorized",
            entity=entity or os.environ.get("WANDB_ENTITY"),
            sweep_id=sweep_id, config=run_config, first_step=_next_step,
            on_finish=_run_finished, records=not outside,
            group=group, job_type=job_type, tags=tags, notes=notes, dir=dir,
            settings=options.get("settings"))
        globals().update(run=new_run, config=run_config,
                         summary=new_run.summary)
        if outside:
            termlog(f"run {new_run.id} is outside the sweep (WANDB_SWEEP_ID "
                    "was removed from its environment): its metrics are not "
                    "the trial's and are not recorded")
        else:
            _announce()
        return new_run


def _outside_the_sweep() -> bool:
    """Whether this process of a trial removed W&B's sweep variables, which
    the agent sets for every trial: W&B then starts a run of its own."""
    return bool(sweep_client.trial_id() and
                not os.environ.get("WANDB_SWEEP_ID"))


def _select(values: dict, exclude: Any, include: Any) -> dict:
    if include:
        values = {key: value for key, value in values.items() if key in include}
    if exclude:
        values = {key: value for key, value in values.items()
                  if key not in exclude}
    return values


def _announce() -> None:
    global _announced
    if not _announced:
        _announced = True
        target = os.environ.get(sweep_client.METRICS_FILE_VARIABLE) or "stdout"
        termlog(f"the Sweep shim stands in for wandb: nothing is uploaded, "
                f"metrics go to {target}")


def _run_finished(finished: Run) -> None:
    global run, _next_step
    with _lock:
        _next_step = max(_next_step, finished.step)
        if run is finished:
            run = None


def _active_run(function: str) -> Run:
    active = run
    if active is None:
        raise Error(f"You must call wandb.init() before wandb.{function}()")
    return active


def log(data: Any, step: Any = None, commit: Any = None, sync: Any = None
        ) -> None:
    """wandb.log: see Run.log."""
    _active_run("log").log(data, step=step, commit=commit)


def finish(exit_code: Optional[int] = None, quiet: Any = None) -> None:
    """Finishes the active run, if any; see Run.finish."""
    active = run
    if active is not None:
        active.finish(exit_code=exit_code)


join = finish  # W&B's older name, still in its examples.


def define_metric(name: str, step_metric: Any = None,
                  **options: Any) -> MetricDefinition:
    """Kept, not applied (see Run.define_metric)."""
    return MetricDefinition(name, step_metric=step_metric, **options)


def watch(*args: Any, **kwargs: Any) -> None:
    """Gradient and parameter logging: nothing to do."""


def unwatch(*args: Any, **kwargs: Any) -> None:
    """Nothing to undo."""


def save(*args: Any, **kwargs: Any) -> list:
    """Files stay where they are; nothing is uploaded."""
    return []


def restore(*args: Any, **kwargs: Any) -> None:
    """Nothing was uploaded, so nothing comes back."""
    return None


def alert(title: str, text: str, level: Any = None,
          wait_duration: Any = None) -> None:
    """Printed on stderr, where it lands in the trial's log."""
    print(f"wandb: ALERT [{level or AlertLevel.INFO}] {title}: {text}",
          file=sys.stderr, flush=True)


def login(*args: Any, **kwargs: Any) -> bool:
    """There is nothing to log in to: always succeeds."""
    return True


def setup(*args: Any, **kwargs: Any) -> NoOp:
    return NoOp("wandb.setup()")


def teardown(*args: Any, **kwargs: Any) -> None:
    """Finishes the active run, as W&B's teardown does."""
    finish()


def termlog(string: str = "", newline: bool = True, repeat: bool = True,
            prefix: bool = True) -> None:
    print(("wandb: " if prefix else "") + str(string),
          end="\n" if newline else "", file=sys.stderr, flush=True)


def termwarn(string: str, **kwargs: Any) -> None:
    termlog(f"WARNING {string}")


def termerror(string: str, **kwargs: Any) -> None:
    termlog(f"ERROR {string}")


def _current_sweep_id() -> Optional[str]:
    """The trial's sweep id; for the rerun of a trial by hand
    ($SWEEP_PARAMS_JSON, from `sweep best`), "rerun"."""
    return (os.environ.get("WANDB_SWEEP_ID") or sweep_client.sweep_id() or
            ("rerun" if os.environ.get(sweep_client.PARAMS_JSON_VARIABLE)
             else None))


def agent(sweep_id: Any = None, function: Any = None, entity: Any = None,
          project: Any = None, count: Any = None, **kwargs: Any) -> None:
    """In a trial (run by `sweep agent`): calls `function` once, for this
    trial; the agent starts the program again for the next one. Run by hand:
    runs `sweep agent SWEEP_ID --wandb-shim [--count N]` until it is done,
    which runs this script once per trial (see _by_hand.py). So a script
    written as `wandb.agent(wandb.sweep(config), function=train)` runs
    unchanged."""
    if _current_sweep_id():
        if callable(function):
            function()
            return
        raise UsageError("wandb.agent() in a trial needs the function to "
                         "run: wandb.agent(sweep_id, function=train)")
    from . import _by_hand
    _by_hand.run_agent(sweep_id, count)


def sweep(sweep: Any = None, entity: Any = None, project: Any = None,
          prior_runs: Any = None, **kwargs: Any) -> str:
    """In a trial: the id of the trial's sweep (it already exists; the
    configuration passed is not registered again). Run by hand: registers
    the configuration with `sweep create` and returns the new sweep's id;
    without a `program`, this script is the program (see _by_hand.py)."""
    current = _current_sweep_id()
    if current:
        return current
    from . import _by_hand
    return _by_hand.create_sweep(sweep, entity, project)


def __getattr__(name: str) -> Any:
    """Any W&B attribute the shim lacks is a NoOp (wandb.plot, wandb.Api);
    wandb.sdk and the like are modules (see _attribute_of)."""
    if name.startswith("_"):
        raise AttributeError(f"module 'wandb' has no attribute {name!r}")
    return _attribute_of(__name__, name)


# The stand-in submodules that hold some of the shim's real classes: what W&B
# code imports from them to subclass or to check with isinstance().
_SUBMODULES_WITH_CLASSES = (
    "wandb.wandb_run", "wandb.sdk.wandb_run", "wandb.sdk.lib",
    "wandb.sdk.lib.disabled", "wandb.integration.keras", "wandb.keras")


def _classes_in(module_name: str) -> Dict[str, Any]:
    """The shim's real objects in stand-in submodule `module_name`."""
    if module_name in ("wandb.wandb_run", "wandb.sdk.wandb_run"):
        return {"Run": Run}
    if module_name in ("wandb.sdk.lib", "wandb.sdk.lib.disabled"):
        return {"RunDisabled": RunDisabled, "SummaryDisabled": SummaryDisabled}
    if module_name in ("wandb.integration.keras", "wandb.keras"):
        # Imported on demand: it imports Keras, when installed.
        keras = importlib.import_module(__name__ + "._keras")
        return {name: getattr(keras, name) for name in keras.__all__}
    return {}


def _attribute_of(module_name: str, name: str) -> Any:
    """Attribute `name` that module `module_name` lacks: the submodule when
    it leads to one of _SUBMODULES_WITH_CLASSES (so wandb.sdk.wandb_run.Run
    is the class after a bare `import wandb`, as in W&B), else a NoOp."""
    fullname = f"{module_name}.{name}"
    if any(known == fullname or known.startswith(fullname + ".")
           for known in _SUBMODULES_WITH_CLASSES):
        return importlib.import_module(fullname)
    return NoOp(fullname)


class _StandInSubmodules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes `import wandb.<anything>` work: a submodule the shim does not
    have is an empty package whose public attributes are NoOps, apart from
    the real classes some of them hold (see _classes_in). It sits last on
    sys.meta_path, so real modules (wandb.errors) are found first."""

    sweep_shim_stand_in = True

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if not fullname.startswith(__name__ + ".") or \
                fullname.rsplit(".", 1)[1].startswith("_"):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> None:
        return None  # The default module object.

    def exec_module(self, module: Any) -> None:
        module_name = module.__name__

        def stand_in(name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)
            return _attribute_of(module_name, name)

        module.__dict__.update(_classes_in(module_name))
        module.__getattr__ = stand_in


def _finish_at_exit() -> None:
    """Writes what is still pending when the program ends without finish(),
    also after an uncaught exception (W&B does the same)."""
    finish()


if not any(getattr(finder, "sweep_shim_stand_in", False)
           for finder in sys.meta_path):
    sys.meta_path.append(_StandInSubmodules())
atexit.register(_finish_at_exit)
