"""Tabulate calibration runs: amp_ssim and validation loss against epochs for each setting.

Run: .venv/bin/python benchmarks/calibration_table.py runs/calibration   (prints Markdown)
"""

import json
import sys
from pathlib import Path


def main(root: str) -> None:
    for stats_path in sorted(Path(root).glob("*/*/stats.json")):
        folder = stats_path.parent
        stats = json.loads(stats_path.read_text())
        config = json.loads((folder / "config.json").read_text())
        history = json.loads((folder / "history.json").read_text())
        data = config["data"]
        print(f"### {stats['arm']} (depth {stats['depth']}, seed {stats['seed']})\n")
        print(f"train stride {data['train_stride']}, test stride {data['test_stride']}, "
              f"{config['train']['epochs']} epochs; verdict **{stats['outcome']}** {stats['reasons']}; "
              f"amp_ssim {stats['amp_ssim']:.3f} vs collapse floor {stats['collapse_floor']:.3f}; "
              f"wall {stats['wall_s']:.0f} s (train {stats['timings']['train_s']:.0f} s)\n")
        print("| epoch | steps | train loss | val loss | amp_ssim | amp std/mean | epoch s |")
        print("|---|---|---|---|---|---|---|")
        steps = 0
        for epoch in history["epochs"]:
            steps += epoch["steps"]
            print(f"| {epoch['epoch'] + 1} | {steps} | {epoch['train_loss']:.4f} | {epoch['val_loss']:.4f} | "
                  f"{epoch.get('amp_ssim', float('nan')):.3f} | {epoch['amp_cv']:.3f} | {epoch['wall_s']:.1f} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/calibration")
