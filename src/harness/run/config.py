"""One run's complete, resolved configuration and its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..data.params import DatasetParams, probe_file_identity
from ..models.plan import GeneratorPlan
from ..models.source import is_import_path, source_digest
from ..train.config import TrainConfig


@dataclass(frozen=True)
class RunConfig:
    """What a run computes (the model, the data, the training) and where it is recorded.

    config.json and the hash keep the model's settings at the top level (architecture, depth, width,
    modes, max_hidden_channels), the layout every recorded run has.
    """

    model: GeneratorPlan
    data: DatasetParams
    train: TrainConfig
    profile: str
    device: str = "cpu"
    study: str = "adhoc"
    arm: str | None = None           # defaults to the architecture
    # not part of the hash: where and how it runs, not what it computes
    threads: int | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.model.n != self.data.N:
            raise ValueError(f"the model is planned for patches of {self.model.n} px, the data has {self.data.N}")

    @property
    def architecture(self) -> str:
        return self.model.architecture

    @property
    def depth(self) -> int:
        return self.model.depth

    @property
    def arm_name(self) -> str:
        return self.arm or self.architecture

    @property
    def seed(self) -> int:
        return self.train.seed

    def with_seed(self, seed: int) -> "RunConfig":
        return replace(self, train=replace(self.train, seed=seed))

    def as_dict(self) -> dict:
        model = self.model
        return {
            "architecture": model.architecture, "depth": model.depth, "width": model.width, "modes": model.modes,
            "max_hidden_channels": model.max_hidden_channels, "data": asdict(self.data), "train": asdict(self.train),
            "profile": self.profile, "device": self.device, "study": self.study, "arm": self.arm_name,
            "threads": self.threads,
        }

    def hashed_fields(self) -> dict:
        payload = self.as_dict()
        for excluded in ("threads", "study", "arm"):
            payload.pop(excluded)
        payload["device"] = self.device.split(":")[0]  # cuda:0 and cuda:1 compute the same thing
        payload["data"] = self.data.identity()
        # what determines the result by content: the probe file's bytes, a user generator's source
        if self.data.probe_npz is not None:
            payload["data"]["probe_npz"] = probe_file_identity(self.data.probe_npz)
        if is_import_path(self.architecture):
            payload["generator_source"] = source_digest(self.architecture)
        return payload

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.hashed_fields(), sort_keys=True).encode()).hexdigest()[:16]

    def default_folder(self, runs_dir: str | Path) -> Path:
        """runs/<study>/<arm>/depth<d>_seed<s>/."""
        return Path(runs_dir) / self.study / self.arm_name / f"depth{self.depth}_seed{self.seed}"
