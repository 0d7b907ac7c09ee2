"""W&B's exception classes, so that `except wandb.errors.CommError:` works.

The shim raises only UsageError (wandb.agent, wandb.sweep) and Error (log()
before init(), an agent run by hand that failed); the others exist to be
caught.
"""

__all__ = ["Error", "UsageError", "CommError", "AuthenticationError"]


class Error(Exception):
    """Base of every W&B error."""


class UsageError(Error):
    """W&B was used in a way the shim does not support."""


class CommError(Error):
    """Never raised by the shim: nothing talks to a server."""


class AuthenticationError(Error):
    """Never raised by the shim: there is nothing to log in to."""
