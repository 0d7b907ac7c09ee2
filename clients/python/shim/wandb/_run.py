"""wandb.Run under the shim: history steps as W&B numbers them, metric points
written through sweep_client, a dict-like summary.

Steps follow W&B's rules. The run has a current step (from 0) and a pending
row. log(d) merges d into the row and commits it; commit=False only merges.
log(d, step=s) with s above the current step first commits the pending row,
then moves to s and merges d without committing (the row is written when a
later step arrives, on commit=True, or at finish); s below the current step
is dropped with a warning. A committed row is written as one point with
`_step` = the current step, which then goes up by one.

A point carries the row's numbers only: nested dicts are flattened with "."
(the name W&B shows, e.g. "val.loss"), bools count as 0/1, numpy scalars and
0-d tensors are unwrapped with .item(), and everything else (Images, Tables,
strings, None) is skipped silently. A row with no numbers still takes a step.
"""

import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Dict, Optional, Set

import sweep_client

from ._config import Config, warn
from ._stand_ins import AlertLevel, MetricDefinition, NoOp


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def numeric_point(row: Mapping) -> Dict[str, Any]:
    """The numbers in `row`, flattened with "."; the rest left out."""
    point: Dict[str, Any] = {}
    for key, value in row.items():
        name = str(key)
        if isinstance(value, Mapping):
            for inner, number in numeric_point(value).items():
                point[f"{name}.{inner}"] = number
            continue
        number = sweep_client.as_number(value)
        if number is not None:
            point[name] = number
    return point


class Summary:
    """run.summary / wandb.summary: the last logged value of each key, and
    what the program writes into it.

    Writes (summary["best"] = x, summary.update(...)) are what W&B's sweeps
    read as a run's final value, so finish() records the numeric ones as one
    last metric point after the history. Not thread-safe.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_written", {})

    def _record(self, row: Mapping) -> None:
        self._values.update(row)

    def _final_point(self) -> Dict[str, Any]:
        return numeric_point(self._written)

    def update(self, values: Optional[Mapping] = None, **more: Any) -> None:
        for key, value in dict(values or {}, **more).items():
            self[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def keys(self):
        return self._values.keys()

    def values(self):
        return self._values.values()

    def items(self):
        return self._values.items()

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._written[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values[key]
        self._written.pop(key, None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return repr(self._values)


def _as_step(step: Any) -> int:
    number = None if isinstance(step, bool) else sweep_client.as_number(step)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, int):
        raise TypeError(f"wandb.log: step must be an integer, got {step!r}")
    return number


def _files_dir(run_id: str, root: Optional[str]) -> str:
    """Where a library saves the run's files (run.dir): the trial's own
    directory (beside its params.json). With init(dir=ROOT), as in W&B,
    ROOT/wandb/run-<time>-<id>/files, made at once: ROOT only says where
    runs keep their files, so trials sharing a ROOT (an --output-dir flag
    passed to every trial) do not overwrite each other's checkpoints."""
    if not root:
        return os.path.dirname(os.environ.get("SWEEP_PARAMS_FILE", "")) or "."
    stamp = time.strftime("%Y%m%d_%H%M%S")
    files = os.path.join(os.fspath(root), "wandb", f"run-{stamp}-{run_id}",
                         "files")
    try:
        os.makedirs(files, exist_ok=True)
    except OSError as error:
        fallback = _files_dir(run_id, None)
        warn(f"wandb.init(dir={root!r}): cannot make {files}: {error}; "
             f"run.dir is {fallback}")
        return fallback
    return files


class Run:
    """What wandb.init() returns. Thread-safe: log() may be called from any
    thread. Methods the shim does not know return a NoOp."""

    def __init__(self, *, run_id: str, name: str, project: str,
                 entity: Optional[str], sweep_id: Optional[str], config: Config,
                 first_step: int = 0,
                 on_finish: Optional[Callable[["Run"], None]] = None,
                 records: bool = True, **labels: Any) -> None:
        """`records`: whether what it logs is the trial's (False for a run
        outside the sweep, whose points are dropped)."""
        self.id = run_id
        self.name = name
        self.project = project
        self.entity = entity
        self.sweep_id = sweep_id
        self.config = config
        self.summary = Summary()
        self.group = labels.get("group")
        self.job_type = labels.get("job_type")
        self.tags = tuple(labels.get("tags") or ())
        self.notes = labels.get("notes")
        self.dir = _files_dir(run_id, labels.get("dir"))
        self.settings = labels.get("settings")
        self.url = None  # Nothing is uploaded.
        self.path = f"{entity or 'local'}/{project}/{run_id}"
        self.resumed = False
        self.offline = True
        self.disabled = False
        self.start_time = time.time()
        self._lock = threading.RLock()
        self._step = first_step  # The step the pending row will be written at.
        self._pending: Dict[str, Any] = {}
        self._finished = False
        self._exit_code: Optional[int] = None
        self._on_finish = on_finish
        self._records = records
        self._warned: Set[str] = set()  # Kinds of warnings already given.

    @property
    def step(self) -> int:
        return self._step

    def project_name(self) -> str:
        """W&B's accessor for `project`."""
        return self.project

    def _label(self, *args: Any, **kwargs: Any) -> None:
        """W&B's usage label for integrations (Lightning's WandbLogger and
        Hugging Face's callback call it): nothing to record."""

    def log(self, data: Mapping, step: Any = None, commit: Any = None,
            sync: Any = None) -> None:
        """Logs a row of metrics; see the module comment for the step rules."""
        if not isinstance(data, Mapping):
            raise TypeError("wandb.log takes a dict, got "
                            f"{type(data).__name__}")
        with self._lock:
            if self._finished:
                self._warn_once("finished", f"run {self.id} is finished; "
                                "ignoring log() (reported once)")
                return
            for key, value in data.items():
                if isinstance(value, str) and _reads_as_number(value):
                    # W&B keeps it as text, so a sweep never sees it: a
                    # formatted value logged by mistake (f"{loss:.3f}").
                    self._warn_once(
                        f"string {key}", f"{key} is the string {value!r}, "
                        "not a number, so the sweep does not see it: log "
                        f"float(...) (reported once)")
            if step is None:
                flush = True if commit is None else bool(commit)
            else:
                step = _as_step(step)
                if step < self._step:
                    self._warn_once(
                        "step", f"tried to log to step {step}, which is less "
                        f"than the current step {self._step}; steps must "
                        "increase, so this data is ignored (reported once)")
                    return
                if step > self._step:
                    self._commit()
                    self._step = step
                flush = bool(commit)
            self.summary._record(data)
            self._pending.update(data)
            if flush:
                self._commit()

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            warn(message)

    def _commit(self) -> None:
        if not self._pending:
            return
        point = numeric_point(self._pending)
        self._pending = {}
        if point and self._records:
            sweep_client.log(point, step=self._step)
        self._step += 1

    def finish(self, exit_code: Optional[int] = None, quiet: Any = None
               ) -> None:
        """Writes the pending row and the summary's written values.

        `exit_code` is kept but decides nothing: the agent judges a trial by
        the program's exit status.
        """
        with self._lock:
            if self._finished:
                return
            self._commit()
            final = self.summary._final_point()
            if final and self._records:
                sweep_client.log(final, step=self._step)
                self._step += 1
            self._finished = True
            self._exit_code = exit_code
        if self._on_finish is not None:
            self._on_finish(self)

    join = finish  # W&B's older name.

    def define_metric(self, name: str, step_metric: Any = None,
                      **options: Any) -> MetricDefinition:
        """Kept, not applied: the agent records every point as logged."""
        return MetricDefinition(name, step_metric=step_metric, **options)

    def watch(self, *args: Any, **kwargs: Any) -> None:
        """Gradient and parameter logging: nothing to do."""

    def unwatch(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to undo."""

    def save(self, *args: Any, **kwargs: Any) -> list:
        """Files stay where they are; nothing is uploaded."""
        return []

    def restore(self, *args: Any, **kwargs: Any) -> None:
        """Nothing was uploaded, so nothing comes back."""
        return None

    def alert(self, title: str, text: str, level: Any = None,
              wait_duration: Any = None) -> None:
        """Prints the alert on stderr (it lands in the trial's log)."""
        print(f"wandb: ALERT [{level or AlertLevel.INFO}] {title}: {text}",
              file=sys.stderr, flush=True)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> bool:
        self.finish(exit_code=0 if exc_type is None else 1)
        return False

    def __getattr__(self, name: str) -> NoOp:
        if name.startswith("_"):
            raise AttributeError(name)
        return NoOp(f"wandb.run.{name}")

    def __repr__(self) -> str:
        return f"<wandb.Run {self.id} (sweep shim)>"
