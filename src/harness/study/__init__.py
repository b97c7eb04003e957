"""The studies: definitions (fixtures/) → runs → records → aggregate → reports."""

from .aggregate import aggregate, crash_hunt_summary, shootout_summary
from .definitions import CRASH_HUNT, SHOOTOUT, Studies, load_studies, run_config_for
from .records import RECORD_PROPERTY, record_from_stats, records_from_json_report, records_from_runs_dir

__all__ = [
    "CRASH_HUNT", "RECORD_PROPERTY", "SHOOTOUT", "Studies", "aggregate", "crash_hunt_summary", "load_studies",
    "record_from_stats", "records_from_json_report", "records_from_runs_dir", "run_config_for", "shootout_summary",
]
