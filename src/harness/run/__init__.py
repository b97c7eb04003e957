"""One run: its configuration, folder and execution."""

from .config import RunConfig
from .execute import OUTCOMES, execute_group, execute_run, resolve_device
from .folder import NotARunFolder, RunFolder

__all__ = ["OUTCOMES", "NotARunFolder", "RunConfig", "RunFolder", "execute_group", "execute_run", "resolve_device"]
