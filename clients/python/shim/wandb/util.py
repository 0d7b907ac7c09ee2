"""wandb.util under the shim: the helpers training scripts call for a value
(generate_id names checkpoints and runs). Anything else is a NoOp, as in the
rest of the shim."""

import secrets
import string
from typing import Any

from ._stand_ins import NoOp

_ID_ALPHABET = string.ascii_lowercase + string.digits


def generate_id(length: int = 8) -> str:
    """A random run id, as W&B's: `length` lowercase letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(int(length)))


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(f"module 'wandb.util' has no attribute {name!r}")
    return NoOp(f"wandb.util.{name}")
