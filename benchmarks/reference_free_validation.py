"""The reference-free verdict against the ground truth, run by run.

Our simulated datasets (the zone plate's probe and the disk's, whose twin image fits exactly) are written as the
field's measured-data files with their true patches kept aside; runs train on the training file through `--data-npz`
(its last fifth of positions in x held out for testing) and
record the verdict a measured dataset gets (the fit against the data's own references, then agreement across the
seeds of each configuration). The same runs are then judged with the truth (amp_ssim against the true object, its
collapse floor, the fit references of the true object, the twin evidence of the true patches), and the two verdicts
are compared: a confusion table over the outcomes ok, crashed by reason, inconclusive.

Arms: `control` (healthy runs), `diverging` (a learning rate that blows up) and `decaying` (a weight decay that
pulls the output to a constant). Runs two `harness run` processes at a time.

Run: .venv/bin/python benchmarks/reference_free_validation.py --out /tmp/rfv [--profile quick] [--seeds 8]
     [--first-seed 1] [--jobs 2] [--report reports/reference_free_validation.md]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from harness.data.measured import held_out_region
from harness.data.ptycho_npz import read_ptycho_npz
from harness.evaluate import fit_references, mean_reconstruction_metrics, patch_correlations, twin_evidence
from harness.evaluate.run_evaluation import stitch_measured
from harness.physics import normalize_probe
from harness.physics.probe import probe_symmetry
from harness.run import RunFolder
from harness.run.recording import add_val_losses, classify, rederived_record
from harness.study.agreement import with_agreement

PROBES = ("fzp", "disk")
ARMS = {  # name → (flags, seeds as a share of --seeds)
    "control": (["--fno-blocks", "4"], 1.0),
    "diverging": (["--fno-blocks", "4", "--torch-learning-rate", "0.3"], 0.5),
    "decaying": (["--fno-blocks", "4", "--torch-optimizer", "adamw", "--torch-weight-decay", "30"], 0.5),
}
HARNESS = [sys.executable, "-m", "harness.cli.main"]
# The test split: the last fifth of the training raster's positions in x (a region of its own). Its step, 8 px at
# the quick scale, keeps the stitched tiles inside the probe's lit disk; the simulation's own test raster (20 px)
# would stitch pixels no pattern constrains.
TEST_FRACTION = 0.2


def category(outcome: str, reasons) -> str:
    """One cell of the table: ok, inconclusive, or the crash reason (the wrong object's two names as one)."""
    if outcome != "crashed":
        return outcome
    reason = reasons[0] if reasons else "crashed"
    return "wrong object" if reason in ("wrong_solution", "twin_image") else reason


def write_files(out: Path, probe: str, profile: str) -> Path:
    files = out / probe / "files"
    if not (files / "test_truth.npz").is_file():
        subprocess.run([*HARNESS, "dataset", "--profile", profile, "--set-phi", "--probe-source", probe,
                        "--cache-dir", str(out / "cache"), "--write-ptycho-npz", str(files)], check=True)
    return files


def train(out: Path, probe: str, arm: str, flags: list[str], seeds: list[int], profile: str) -> None:
    files = out / probe / "files"
    subprocess.run([*HARNESS, "run", "--profile", profile, "--data-npz", str(files / "train.npz"),
                    "--test-fraction", str(TEST_FRACTION), *flags, "--seed", *map(str, seeds), "--threads", "1",
                    "--study", probe, "--arm", arm, "--runs-dir", str(out / "runs"), "--cache-dir", str(out / "cache"),
                    "--logger", "none"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def held_out(files: Path) -> tuple:
    """The test split the runs were graded on (the file's last positions in x) and its true patches."""
    data = read_ptycho_npz(files / "train.npz")
    band = held_out_region(data.xcoords, TEST_FRACTION)
    with np.load(files / "train_truth.npz") as archive:
        truth = archive["Y"][band]
    return data.diffraction[band], normalize_probe(data.probe), data.xcoords[band], data.ycoords[band], truth


def ground_truth_verdict(folder: RunFolder, test: tuple) -> dict:
    """The run judged as a simulated run is: against the truth stitched exactly as its reconstruction was."""
    diffraction, probe, x, y, truth_patches = test
    with np.load(folder / "recon.npz") as archive:
        reconstruction, patches = archive["reconstruction"], archive["object_patches"]
    truth = stitch_measured(truth_patches, x, y)
    history = folder.read_json("history.json")
    metrics = add_val_losses(mean_reconstruction_metrics(reconstruction, truth), history["epochs"])
    truth_y_i = np.abs(truth_patches) * np.abs(probe)
    metrics.update(fit_references(diffraction, truth_y_i, np.angle(truth_patches), probe))
    twin = twin_evidence(*patch_correlations(patches, truth_y_i, probe), symmetry=probe_symmetry(probe))
    return classify(history, metrics, reconstruction, twin=twin, loss_mode="mae")


def compare(out: Path) -> list[dict]:
    rows = []
    for probe in PROBES:
        test = held_out(out / probe / "files")
        folders = sorted((out / "runs" / probe).glob("*/depth*_seed*"))
        # graded by today's rules from each folder's files (a verdict recorded by older rules is not trusted)
        records = with_agreement([rederived_record(RunFolder(f)) for f in folders if (f / "stats.json").is_file()])
        for record in records:
            folder = RunFolder(Path(str(record.run_dir)))
            truth = ground_truth_verdict(folder, test) if (folder / "recon.npz").is_file() else \
                {"outcome": record.outcome, "reasons": record.reasons}
            rows.append({"probe": probe, "arm": record.arm, "seed": record.seed,
                         "reference_free": category(record.outcome, record.reasons),
                         "ground_truth": category(truth["outcome"], truth["reasons"]),
                         "explanation": record.explanation, "amp_ssim": truth.get("amp_ssim"),
                         "agreement": (record.evidence or {}).get("agreement")})
    return rows


def table(rows: list[dict]) -> str:
    counts = Counter((row["ground_truth"], row["reference_free"]) for row in rows)
    kinds = sorted({kind for pair in counts for kind in pair})
    lines = ["| ground truth ↓ / reference-free → | " + " | ".join(kinds) + " |",
             "|---|" + "---|" * len(kinds)]
    lines += [f"| {truth} | " + " | ".join(str(counts.get((truth, free), 0)) for free in kinds) + " |"
              for truth in kinds]
    classified = [row for row in rows if row["ground_truth"] != "inconclusive"]
    agree = sum(row["ground_truth"] == row["reference_free"] for row in classified)
    share = agree / len(classified) if classified else float("nan")
    lines.append(f"\nAgreement over the runs the ground truth classifies: {agree} of {len(classified)} ({share:.0%}); "
                 f"over all {len(rows)} runs: {sum(r['ground_truth'] == r['reference_free'] for r in rows)}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=1, help="seeds counted up from this one")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args()
    jobs = []
    for probe in PROBES:
        write_files(args.out, probe, args.profile)
        for arm, (flags, share) in ARMS.items():
            for seed in range(args.first_seed, args.first_seed + max(3, round(args.seeds * share))):
                jobs.append((args.out, probe, arm, flags, [seed], args.profile))
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda job: train(*job), jobs))
    rows = compare(args.out)
    (args.out / "comparison.json").write_text(json.dumps(rows, indent=1, default=str))
    text = table(rows)
    print(text)
    for row in rows:
        if row["ground_truth"] != row["reference_free"]:
            print(f"  differs: {row['probe']} {row['arm']} seed {row['seed']}: truth {row['ground_truth']}, "
                  f"reference-free {row['reference_free']} ({row['explanation']})")
    if args.report is not None:
        args.report.write_text(f"# The reference-free verdict against the ground truth\n\n"
                               f"`{' '.join(sys.argv)}`\n\n{text}\n")


if __name__ == "__main__":
    main()
