"""`harness bench` pieces on a small model: the figures exist, are positive and compare as ratios."""

import pytest

from harness.bench import BenchSettings, bench_model, compare, format_row


@pytest.fixture(scope="module")
def result():
    return bench_model("hybrid", 2, None, BenchSettings(steps=2, warmup=1, n=16))


def test_bench_model_reports_positive_rates(result):
    assert result["params"] > result["trained_params"] > 0  # 12 modes cannot all be reached at 16×16 / 8×8
    for key in ("plain_step_s", "harness_step_s", "train_patches_per_s", "inference_patches_per_s", "step_flops",
                "achieved_flops_per_s", "verbatim_plain_step_s", "bf16_plain_step_s", "speedup_vs_verbatim"):
        assert result[key] > 0, key
    assert "overhead" in format_row(result) and "verbatim" in format_row(result)


def test_compare_gives_ratios(result):
    saved = {"device": "cpu", "threads": 2, "models": [{**result, "harness_step_s": result["harness_step_s"] * 2,
                                                        "train_patches_per_s": result["train_patches_per_s"] / 2}]}
    lines = compare({"models": [result]}, saved)
    assert "step time ×0.50" in lines[1] and "train throughput ×2.00" in lines[1]


def test_seed_group_rows_report_per_member_and_total_rates():
    from harness.bench import bench_group, format_group_row

    row = bench_group("hybrid", 2, None, 3, BenchSettings(steps=4, warmup=1, n=16))
    assert row["members"] == 3 and row["group_step_s"] > 0
    assert row["member_steps_per_s_total"] == pytest.approx(3 * row["steps_per_s_per_member"])
    assert "K=3" in format_group_row(row)


def test_the_quick_profile_sets_the_benched_scale_and_groups_only_skips_the_model_table(tmp_path, monkeypatch):
    import json

    from harness.cli import bench_cmd
    from harness.cli.main import main

    seen = {}

    def measured(settings, models, groups):   # what run_bench was asked to measure, without training
        seen.update(settings=settings, models=models, groups=groups)
        return {"models": [], "seed_groups": []}

    monkeypatch.setattr(bench_cmd, "run_bench", measured)
    out = tmp_path / "bench.json"
    assert main(["bench", "--profile", "quick", "--groups-only", "--groups", "1,4", "--out-json", str(out)]) == 0
    settings = seen["settings"]
    assert (settings.n, settings.width, settings.cap) == (32, 16, 128) and seen["models"] == () and seen["groups"] == (1, 4)
    assert settings.plan("hybrid", 4, 512).max_hidden_channels == 128 and settings.plan("hybrid", 4, None).n == 32
    assert json.loads(out.read_text()) == {"models": [], "seed_groups": []}
    main(["bench", "--groups", "", "--out-json", str(out)])
    assert (seen["settings"].n, seen["settings"].width, seen["settings"].cap) == (64, 32, None)   # the paper rows


def test_groups_only_needs_a_group(usage_error):
    usage_error(["bench", "--groups-only", "--groups", ""], "--groups ''", [])
