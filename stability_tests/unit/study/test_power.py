"""What a fixed design can tell: Boschloo's rejection region against scipy, power against simulation."""

import numpy as np
import pytest
from scipy import stats

from harness.study.power import (
    boschloo_pvalues,
    seeds_to_show_crashy,
    seeds_to_show_difference,
    seeds_to_show_stable,
    two_arm_power,
)


@pytest.mark.parametrize("runs", [2, 3, 5])
def test_the_whole_table_of_boschloo_p_values_is_scipys(runs):
    table = boschloo_pvalues(runs)
    for a in range(runs + 1):
        for b in range(runs + 1):
            expected = stats.boschloo_exact([[a, b], [runs - a, runs - b]]).pvalue
            assert table[a, b] == pytest.approx(min(1.0, expected), rel=1e-4, abs=1e-9)


def test_two_arm_power_matches_a_simulation():
    rng = np.random.default_rng(3)
    runs, draws = 12, 20000
    table = boschloo_pvalues(runs)
    a, b = rng.binomial(runs, 0.4, draws), rng.binomial(runs, 0.05, draws)
    simulated = np.mean(table[a, b] <= 0.05)
    assert two_arm_power(0.4, 0.05, runs, 0.05) == pytest.approx(simulated, abs=4 * np.sqrt(0.25 / draws))


def test_seeds_for_power():
    # 0 crashes in n runs shows P_crash < 0.30 at β 0.2 once 0.7^n ≤ 0.2: n = 5 (0.168), not 4 (0.240)
    assert seeds_to_show_stable(0.0, 0.30, 0.20) == 5
    assert seeds_to_show_stable(0.40, 0.30, 0.20) is None
    needed = seeds_to_show_crashy(0.30, 0.05, 0.05)
    rng = np.random.default_rng(4)
    crashes = rng.binomial(needed, 0.30, 20000)
    assert np.mean(stats.binom.sf(crashes - 1, needed, 0.05) <= 0.05) >= 0.8 - 0.01
    per_arm = seeds_to_show_difference(1 / 3, 0.0, 0.05)
    assert two_arm_power(1 / 3, 0.0, per_arm, 0.05) >= 0.8 > two_arm_power(1 / 3, 0.0, per_arm - 1, 0.05)
    assert seeds_to_show_difference(0.2, 0.2, 0.05) is None
