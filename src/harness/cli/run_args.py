"""Where `harness run` records its runs: --output-dir (a subfolder per architecture and/or seed when
several), else the study layout under --runs-dir."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_folders(args: argparse.Namespace, configs: list) -> list[Path]:
    """--output-dir itself (or a subfolder per architecture and/or seed when several), else the default layout."""
    if args.output_dir is None:
        return [config.default_folder(args.runs_dir) for config in configs]
    base = Path(args.output_dir)
    several_architectures = len({config.architecture for config in configs}) > 1
    several_seeds = len({config.seed for config in configs}) > 1
    folders = []
    for config in configs:
        folder = base / config.architecture if several_architectures else base
        folders.append(folder / f"seed{config.seed}" if several_seeds else folder)
    return folders
