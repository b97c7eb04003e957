"""The studies: definitions (fixtures/) → runs → records → aggregate → reports."""

from .definitions import CRASH_HUNT, SHOOTOUT, STUDIES, Studies, load_studies, run_config_for
from .records import RECORD_PROPERTY, StudyCase, records_from_json_report, records_from_runs_dir

__all__ = [
    "CRASH_HUNT", "RECORD_PROPERTY", "SHOOTOUT", "STUDIES", "StudyCase", "Studies", "load_studies",
    "records_from_json_report", "records_from_runs_dir", "run_config_for",
]
