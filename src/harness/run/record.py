"""The record of one run: what stats.json holds, read by `harness stats`, the studies, the aggregation and
the reports. One typed object from the moment a run is recorded to the last table it appears in."""

from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace

from ..verdict import record_fields

# The JSON form's version: written into every stats.json; older files are upgraded on reading.
RECORD_VERSION = 3
CLASSIFIED = ("ok", "crashed", "inconclusive")   # outcomes the verdict decides
UNTRAINED = ("oom", "infeasible")                # outcomes of runs that never reached a verdict
OUTCOMES = (*CLASSIFIED, *UNTRAINED)
ERROR = "error"                                   # a study test that ended without a record (a harness error)
INTERRUPTED = "interrupted"                       # a study test stopped by a stop request (its checkpoint resumes it)
UNRECORDED = (ERROR, INTERRUPTED)                 # study tests without a run record: neither a crash nor a run
# Written only when set: most runs have neither.
OMITTED_WHEN_NONE = ("message", "reused_from")
# What every record names, whatever its version (the rest may be absent in an untrained run's early file).
REQUIRED = ("study", "arm", "seed", "outcome")
# Not part of the file: where the record was read from, and whether this session trained it.
TRANSIENT = ("run_dir", "reused")


class BadRecord(ValueError):
    """A stats.json that does not hold a valid run record; the message says why."""


def finite_or_none(value):
    return value if value is None or not isinstance(value, float) or math.isfinite(value) else None


def outcome_label(row: dict) -> str:
    """A run's outcome in one phrase, from its record or its row in a summary: `ok`, `inconclusive`,
    `oom`, or `crashed (reasons, from epoch k)`."""
    if not row.get("crashed"):
        return row["outcome"]
    onset = f", from epoch {row['onset_epoch']}" if row.get("onset_epoch") else ""
    return "crashed (" + ", ".join(row["reasons"]) + onset + ")"


def json_ready(value):
    """Plain JSON values: non-finite floats as None (JSON has no NaN), str subclasses (torch's version) as
    str, through dicts and lists."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


@dataclass(frozen=True)
class Identity:
    """Which run: the study cell it fills and the configuration that computed it."""

    study: str
    arm: str
    architecture: str | None
    depth: int | None
    seed: int
    profile: str | None = None
    device: str | None = None
    config_hash: str | None = None
    probe: str | None = None          # the probe preset's name (or `file NAME`)

    @classmethod
    def of(cls, config) -> "Identity":
        return cls(study=config.study, arm=config.arm_name, architecture=config.architecture, depth=config.depth,
                   seed=config.seed, profile=config.profile, device=config.device, config_hash=config.config_hash,
                   probe=config.data.probe_label)


@dataclass(frozen=True)
class RunRecord:
    study: str
    arm: str
    architecture: str | None
    depth: int | None
    seed: int
    outcome: str
    profile: str | None = None
    device: str | None = None
    config_hash: str | None = None
    probe: str | None = None
    crashed: bool = False
    reasons: tuple[str, ...] = ()
    # the verdict (None for runs that never reached one)
    explanation: str | None = None
    crashed_heuristic: bool | None = None
    onset_epoch: int | None = None
    onset_step: int | None = None
    peak_amp_ssim: float | None = None
    peak_epoch: int | None = None
    learned_before_failure: bool | None = None
    fit_error: float | None = None
    verdict_version: int | None = None
    evidence: dict | None = None
    # the final metrics
    best_val_loss: float | None = None
    final_val_loss: float | None = None
    amp_ssim: float | None = None
    phase_ssim: float | None = None
    amp_mae: float | None = None
    phase_mae: float | None = None
    collapse_floor: float | None = None
    fit_noise_floor: float | None = None
    fit_constant_object: float | None = None
    # the training
    n_epochs: int | None = None
    stop_reason: str | None = None
    grad_norm_mean: float | None = None
    grad_norm_max: float | None = None
    grad_norm_p99: float | None = None
    params: int | None = None
    resumed: bool | None = None
    group: dict | None = None
    # where and how long
    environment: dict | None = None
    timings: dict | None = None
    wall_s: float | None = None
    message: str | None = None       # why an untrained run was not trained (oom, infeasible) or an error
    reused_from: str | None = None   # the folder of another study whose run this one adopted
    record_version: int = RECORD_VERSION
    run_dir: str | None = field(default=None, compare=False)
    reused: bool = field(default=False, compare=False)

    # --- views ----------------------------------------------------------------------------------------

    @property
    def classified(self) -> bool:
        """ok or crashed: a run that counts in P_crash."""
        return self.outcome in ("ok", "crashed")

    @property
    def precision(self) -> str | None:
        return (self.environment or {}).get("precision")

    @property
    def label(self) -> str:
        return outcome_label(self.row())

    def row(self) -> dict:
        """The run in a study summary's table."""
        return {"arm": self.arm, "seed": self.seed, "outcome": self.outcome, "best_val_loss": self.best_val_loss,
                "amp_ssim": self.amp_ssim, "fit_error": self.fit_error, "crashed": self.crashed,
                "reasons": list(self.reasons), "onset_epoch": self.onset_epoch, "peak_amp_ssim": self.peak_amp_ssim,
                "peak_epoch": self.peak_epoch, "run_dir": self.run_dir, "collapse_floor": self.collapse_floor,
                "fit_noise_floor": self.fit_noise_floor, "fit_constant_object": self.fit_constant_object,
                "measured": bool((self.evidence or {}).get("measured"))}   # its fit line is drawn as fit_threshold does

    # --- the JSON form --------------------------------------------------------------------------------

    def to_json(self, *, transient: bool = False) -> dict:
        """stats.json's content (with run_dir and reused when `transient`: a session's view of the run)."""
        payload = json_ready(asdict(self))
        payload["reasons"] = list(self.reasons)
        for name in OMITTED_WHEN_NONE:
            if payload[name] is None:
                payload.pop(name)
        if not transient:
            for name in TRANSIENT:
                payload.pop(name)
        return payload

    @classmethod
    def from_json(cls, payload: dict, run_dir: str | None = None) -> "RunRecord":
        """A record from stats.json (any version: see upgrade) or from a session's JSON view."""
        payload = upgrade(payload)
        check_record_json(payload)
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in payload.items() if key in known}
        values["reasons"] = tuple(values.get("reasons") or ())
        values.setdefault("architecture", None)
        values.setdefault("depth", None)
        values["crashed"] = bool(values.get("crashed"))
        if run_dir is not None:
            values["run_dir"] = str(run_dir)
        return cls(**values)

    @classmethod
    def untrained(cls, identity: Identity, outcome: str, message: str, **more) -> "RunRecord":
        """A run that was not trained to a verdict (oom, infeasible, a harness error): never a crash."""
        return cls(**asdict(identity), outcome=outcome, message=message, **more)

    def replace(self, **changes) -> "RunRecord":
        return replace(self, **changes)


# The metrics a record keeps beside the verdict.
RECORDED_METRICS = ("best_val_loss", "final_val_loss", "amp_ssim", "phase_ssim", "amp_mae", "phase_mae",
                    "collapse_floor", "fit_noise_floor", "fit_constant_object")
# What a re-derived verdict replaces in a record: the verdict's own fields and the metrics read with it.
VERDICT_FIELDS = (*record_fields(), *RECORDED_METRICS)


def _accepts(kind, value) -> bool:
    """Whether a JSON value fits a field's annotation (int is a float, a list a tuple; a bool is not a number)."""
    if isinstance(kind, types.UnionType):
        return any(_accepts(option, value) for option in typing.get_args(kind))
    if kind is type(None):
        return value is None
    origin = typing.get_origin(kind) or kind
    if origin is tuple:
        return isinstance(value, list) and all(_accepts(typing.get_args(kind)[0], item) for item in value)
    if origin in (int, float) and isinstance(value, bool):
        return False
    if origin is float:
        return isinstance(value, (int, float))
    return isinstance(value, origin)


def check_record_json(payload) -> None:
    """The one schema check of a record's JSON form: an object holding the fields without defaults, each value of
    its field's type, a known outcome, and `crashed` true exactly when the outcome is `crashed` (BadRecord saying
    the first thing that is wrong)."""
    if not isinstance(payload, dict):
        raise BadRecord(f"holds a JSON {type(payload).__name__}, not a run record")
    hints = typing.get_type_hints(RunRecord)
    for name in REQUIRED:
        if name not in payload:
            raise BadRecord(f"has no {name!r}")
    for item in fields(RunRecord):
        if item.name in payload and not _accepts(hints[item.name], payload[item.name]):
            raise BadRecord(f"{item.name!r} is {payload[item.name]!r}, not of type {hints[item.name]}")
    if payload["outcome"] not in (*OUTCOMES, *UNRECORDED):
        raise BadRecord(f"outcome {payload['outcome']!r} is none of {', '.join(OUTCOMES)}")
    if bool(payload.get("crashed")) != (payload["outcome"] == "crashed"):
        raise BadRecord(f"'crashed' is {payload.get('crashed')!r} while the outcome is {payload['outcome']!r}")


def upgrade(payload: dict) -> dict:
    """stats.json of any earlier version in the current layout.

    Version 1 (no `record_version`) has the same fields; an untrained run's file lists only those it
    had (the rest are None) and a missing `reasons` is empty. Versions 1 and 2 do not name the probe:
    `probe` is None there, and a run folder fills it from its config.json (RunFolder.finished_record).
    """
    if not isinstance(payload, dict):
        raise BadRecord(f"holds a JSON {type(payload).__name__}, not a run record")
    version = payload.get("record_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadRecord(f"record_version {version!r} is not a version number")
    if version > RECORD_VERSION:
        raise BadRecord(f"record version {version} is newer than this harness reads ({RECORD_VERSION})")
    if version == 1:
        payload = {**payload, "reasons": payload.get("reasons") or []}
    return {**payload, "record_version": RECORD_VERSION}
