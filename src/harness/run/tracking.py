"""A finished run in the experiment tracker a user already has open, through Lightning's loggers.

One logged run per training run (a seed group logs each member as its own run), written when the run is recorded:
its settings as hyperparameters, every epoch's numbers at that epoch's step, and its verdict (outcome, reasons,
onset epoch, explanation) as tags or summary at the end. Runs that differ only in their seed share a group — the
configuration's digest with study, arm and depth: W&B's `group`, an MLflow parent run with the seeds as its
children, a tag for TensorBoard and CSV — so the seeds' curves sit side by side. A reused run is not logged again.
Curves appear when a run finishes, not live.

`csv` (the default) writes the run folder's `logs/csv/metrics.csv` and `hparams.yaml`; `tensorboard` its
`logs/tensorboard/`; `mlflow` the store named by MLFLOW_TRACKING_URI (default: `mlflow.db`, SQLite, in the
working folder; MLflow's file store is retired); `wandb` the project named by WANDB_PROJECT (default
`stability-suite`), offline when WANDB_MODE=offline.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from lightning.pytorch.loggers import Logger

from ..errors import UsageError
from .config import RunConfig
from .grouping import group_key
from .record import RunRecord


@dataclass(frozen=True)
class Tracker:
    open: Callable[[RunConfig, Path, "Group"], "Logger"] | None   # (config, folder, group) → a Lightning logger
    module: str | None = None       # the library it needs, with the extra that installs it
    extra: str | None = None
    # (logger, tags, record): the verdict where this tracker shows a run's outcome, beyond its hyperparameters
    show_verdict: Callable[["Logger", dict[str, str], RunRecord], None] | None = None


@dataclass(frozen=True)
class Group:
    """The configuration a run belongs to: all its seeds share it."""

    key: str        # short digest of everything but the seed
    name: str       # study/arm/depth<d>-<key>

    @classmethod
    def of(cls, config: RunConfig) -> "Group":
        key = hashlib.sha256(group_key(config).encode()).hexdigest()[:10]
        return cls(key, f"{config.study}/{config.arm_name}/depth{config.depth}-{key}")


def _run_name(config: RunConfig) -> str:
    return f"{config.study}/{config.arm_name}/depth{config.depth}/seed{config.seed}"


def _csv(config: RunConfig, folder: Path, group: Group):
    from lightning.pytorch.loggers import CSVLogger

    return CSVLogger(save_dir=str(folder / "logs"), name="", version="csv")


def _tensorboard(config: RunConfig, folder: Path, group: Group):
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=str(folder / "logs"), name="", version="tensorboard", default_hp_metric=False)


def _mlflow(config: RunConfig, folder: Path, group: Group):
    from lightning.pytorch.loggers import MLFlowLogger
    from mlflow.tracking import MlflowClient

    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('mlflow.db').resolve()}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(config.study)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(config.study)
    found = client.search_runs([experiment_id], f"tags.configuration = '{group.key}' and tags.kind = 'configuration'")
    if found:
        parent = found[0].info.run_id
    else:   # the configuration's parent run: a folder for its seeds, with no numbers of its own
        parent = client.create_run(experiment_id, run_name=group.name,
                                   tags={"configuration": group.key, "kind": "configuration"}).info.run_id
        client.set_terminated(parent)
    return MLFlowLogger(experiment_name=config.study, run_name=_run_name(config), tracking_uri=uri,
                        tags={"mlflow.parentRunId": parent, "configuration": group.key, "kind": "seed"})


def _wandb(config: RunConfig, folder: Path, group: Group):
    from lightning.pytorch.loggers import WandbLogger

    return WandbLogger(project=os.environ.get("WANDB_PROJECT", "stability-suite"), name=_run_name(config),
                       group=group.name, job_type=config.study, save_dir=str(folder / "logs"))


# The registry and the list of valid names.
def _mlflow_tags(logger, tags: dict[str, str], record: RunRecord) -> None:
    for key, value in tags.items():
        logger.experiment.set_tag(logger.run_id, key, value[:5000])


def _wandb_summary(logger, tags: dict[str, str], record: RunRecord) -> None:
    logger.experiment.summary.update({**tags, "amp_ssim": record.amp_ssim})
    logger.experiment.tags = (record.outcome, *record.reasons)
    logger.experiment.finish()


def _tensorboard_text(logger, tags: dict[str, str], record: RunRecord) -> None:
    logger.experiment.add_text("verdict", "\n\n".join(f"{key}: {value}" for key, value in tags.items()))


TRACKERS = {
    "none": Tracker(None),
    "csv": Tracker(_csv),
    "tensorboard": Tracker(_tensorboard, "tensorboard", "trackers", _tensorboard_text),
    "mlflow": Tracker(_mlflow, "mlflow", "trackers", _mlflow_tags),
    "wandb": Tracker(_wandb, "wandb", "trackers", _wandb_summary),
}


def check_tracker(name: str, flag: str = "--logger") -> str:
    """The tracker's name, checked before anything trains: UsageError naming the flag for an unknown one or one
    whose library is not installed."""
    if name not in TRACKERS:
        raise UsageError(flag, name, f"unknown logger (known: {' | '.join(TRACKERS)})")
    tracker = TRACKERS[name]
    if tracker.module and importlib.util.find_spec(tracker.module) is None:
        raise UsageError(flag, name, f"needs {tracker.module}: pip install -e .[{tracker.extra}]")
    return name


def _finite(values: dict) -> dict[str, float]:
    return {key: float(value) for key, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)}


def verdict_tags(record: RunRecord) -> dict[str, str]:
    return {"verdict/outcome": record.outcome, "verdict/reasons": ",".join(record.reasons) or "none",
            "verdict/onset_epoch": str(record.onset_epoch) if record.onset_epoch is not None else "none",
            "verdict/explanation": record.explanation or ""}


def track_run(name: str, config: RunConfig, folder: Path, record: RunRecord) -> None:
    """Log one recorded run to the tracker `name` (nothing for `none`)."""
    tracker = TRACKERS[name]
    if tracker.open is None:
        return
    group = Group.of(config)
    logger = tracker.open(config, Path(folder), group)
    tags = {**verdict_tags(record), "configuration": group.key, "group": group.name, "seed": str(config.seed)}
    settings = json.loads(json.dumps(config.as_dict(), default=str))   # plain values (tuples as lists) for any store
    logger.log_hyperparams({**settings, **tags})
    history = json.loads((Path(folder) / "history.json").read_text()) if (Path(folder) / "history.json").exists() \
        else {"epochs": []}
    for epoch in history.get("epochs", []):
        metrics = _finite({key: value for key, value in epoch.items() if key != "epoch"})
        if metrics:
            logger.log_metrics(metrics, step=int(epoch["epoch"]) + 1)
    if tracker.show_verdict is not None:   # before the logger closes its writer
        tracker.show_verdict(logger, tags, record)
    logger.finalize("success")
