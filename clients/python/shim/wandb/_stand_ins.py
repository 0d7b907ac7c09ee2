"""Stand-ins for the parts of W&B that have nothing to do under a sweep agent.

W&B's data types (Image, Table, Histogram, ...) keep what they were given so
that code reading them back still works; logging them records nothing,
because the agent collects numbers only. NoOp stands in for everything the
shim does not know at all.
"""

import io
from typing import Any, Dict, List, Optional


class NoOp:
    """Any W&B feature the shim does not implement.

    Calling it, or reading an attribute or an item of it, does nothing and
    returns another NoOp; writing to it is ignored. It is false, empty,
    iterable (no items) and a context manager. Its repr names what it stands
    for, e.g. <wandb shim: wandb.plot.line() does nothing>.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str = "wandb") -> None:
        object.__setattr__(self, "_name", name)

    def __call__(self, *args: Any, **kwargs: Any) -> "NoOp":
        return NoOp(self._name + "()")

    def __getattr__(self, name: str) -> "NoOp":
        if name.startswith("__"):  # Keeps copy, pickle and inspect sane.
            raise AttributeError(name)
        return NoOp(f"{self._name}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        pass

    def __getitem__(self, key: Any) -> "NoOp":
        return NoOp(f"{self._name}[{key!r}]")

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __enter__(self) -> "NoOp":
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        return False

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<wandb shim: {self._name} does nothing>"


class RunDisabled(NoOp):
    """wandb.sdk.lib.RunDisabled, what W&B's init(mode="disabled") returns:
    a real class, so that isinstance(run, (Run, RunDisabled)) works (as in
    Lightning's WandbLogger). The shim never returns one: a trial always has
    a run. Every attribute is a NoOp."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("wandb.sdk.lib.RunDisabled")


class SummaryDisabled(NoOp):
    """wandb.sdk.lib.SummaryDisabled: RunDisabled's summary, a real class."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("wandb.sdk.lib.SummaryDisabled")


class _DataType:
    """A W&B data type: keeps its arguments; attributes it was not given
    read as None."""

    def __init__(self, data_or_path: Any = None, **options: Any) -> None:
        self.data_or_path = data_or_path
        self.options = options

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.__dict__.get("options", {}).get(name)

    def __repr__(self) -> str:
        return f"<wandb.{type(self).__name__} (not logged by the sweep shim)>"


class Image(_DataType):
    """wandb.Image(data_or_path, mode=None, caption=None, ...)."""


class Video(_DataType):
    """wandb.Video(data_or_path, caption=None, fps=None, ...)."""


class Audio(_DataType):
    """wandb.Audio(data_or_path, sample_rate=None, caption=None)."""


class Html(_DataType):
    """wandb.Html(data, inject=True)."""


class Object3D(_DataType):
    """wandb.Object3D(data_or_path, ...)."""


class Molecule(_DataType):
    """wandb.Molecule(data_or_path, ...)."""


class Histogram(_DataType):
    """wandb.Histogram(sequence=None, np_histogram=None, num_bins=64)."""

    def __init__(self, sequence: Any = None, np_histogram: Any = None,
                 num_bins: int = 64) -> None:
        super().__init__(sequence, np_histogram=np_histogram,
                         num_bins=num_bins)
        self.sequence = sequence


class Table(_DataType):
    """wandb.Table(columns=None, data=None, ...): rows kept in memory."""

    def __init__(self, columns: Optional[List[str]] = None,
                 data: Optional[List[List[Any]]] = None, rows: Any = None,
                 dataframe: Any = None, **options: Any) -> None:
        super().__init__(dataframe, **options)
        self.data: List[List[Any]] = [list(row) for row in (data or rows or [])]
        width = len(self.data[0]) if self.data else 0
        self.columns: List[str] = list(columns) if columns else [
            f"Column {index}" for index in range(1, width + 1)]

    def add_data(self, *row: Any) -> None:
        self.data.append(list(row))

    def add_column(self, name: str, data: List[Any], optional: bool = False
                   ) -> None:
        self.columns.append(name)
        for row, value in zip(self.data, data):
            row.append(value)

    def get_column(self, name: str, convert_to: Optional[str] = None
                   ) -> List[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.data]

    def iterrows(self):
        return enumerate(self.data)


class Artifact:
    """wandb.Artifact(name, type, ...): files added to it go nowhere."""

    def __init__(self, name: str, type: str, description: Optional[str] = None,
                 metadata: Optional[Dict[str, Any]] = None,
                 **options: Any) -> None:
        self.name = name
        self.type = type
        self.description = description
        self.metadata = dict(metadata or {})
        self.files: List[str] = []

    def add_file(self, local_path: str, name: Optional[str] = None,
                 **options: Any) -> None:
        self.files.append(name or local_path)

    def add_dir(self, local_path: str, name: Optional[str] = None,
                **options: Any) -> None:
        self.files.append(name or local_path)

    def add_reference(self, uri: str, name: Optional[str] = None,
                      **options: Any) -> None:
        self.files.append(name or uri)

    def add(self, obj: Any, name: str, **options: Any) -> None:
        self.files.append(name)

    def new_file(self, name: str, mode: str = "x", encoding: str = "utf-8"):
        """A file to write the artifact's content to; it is discarded."""
        self.files.append(name)
        return io.BytesIO() if "b" in mode else io.StringIO()

    def __getattr__(self, name: str) -> NoOp:
        if name.startswith("_"):
            raise AttributeError(name)
        return NoOp(f"wandb.Artifact.{name}")


class Settings:
    """wandb.Settings(**options): keeps the options; unknown ones are None."""

    def __init__(self, **options: Any) -> None:
        self.__dict__.update(options)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return None


class AlertLevel:
    """The levels wandb.alert() takes."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class MetricDefinition:
    """What run.define_metric() returns: the definition, which the shim keeps
    but does not apply (summaries are not computed; see the README)."""

    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        self.__dict__.update(options)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return None
