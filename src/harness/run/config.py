"""One run's complete, resolved configuration and its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data import DatasetParams
from ..train import TrainConfig


@dataclass(frozen=True)
class RunConfig:
    architecture: str
    depth: int
    data: DatasetParams
    train: TrainConfig
    width: int = 32
    modes: int = 12
    max_hidden_channels: int | None = 512
    profile: str = "quick"
    device: str = "cpu"
    study: str = "adhoc"
    arm: str | None = None           # defaults to the architecture
    # not part of the hash: where and how it runs, not what it computes
    threads: int | None = field(default=None, compare=False)

    @property
    def arm_name(self) -> str:
        return self.arm or self.architecture

    @property
    def seed(self) -> int:
        return self.train.seed

    def as_dict(self) -> dict:
        payload = asdict(self)
        payload["arm"] = self.arm_name
        return payload

    def hashed_fields(self) -> dict:
        payload = self.as_dict()
        for excluded in ("threads", "study", "arm"):
            payload.pop(excluded)
        payload["device"] = self.device.split(":")[0]  # cuda:0 and cuda:1 compute the same thing
        payload["data"] = self.data.identity()
        return payload

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.hashed_fields(), sort_keys=True).encode()).hexdigest()[:16]

    def default_folder(self, runs_dir: str | Path) -> Path:
        """runs/<study>/<arm>/depth<d>_seed<s>/ (SPEC §7)."""
        return Path(runs_dir) / self.study / self.arm_name / f"depth{self.depth}_seed{self.seed}"
