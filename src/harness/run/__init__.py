"""One run: its configuration, folder, record and execution."""

from .config import RunConfig
from .execute import execute_group, execute_run
from .folder import NotARunFolder, RunFolder
from .record import OUTCOMES, RunRecord

__all__ = ["OUTCOMES", "NotARunFolder", "RunConfig", "RunFolder", "RunRecord", "execute_group", "execute_run"]
