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
    assert "overhead" in format_row(result) and "SPEC-verbatim" in format_row(result)


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
