"""The batches a run trains on: every patch once an epoch in a seeded order, the same order again when an
interrupted epoch resumes, and each member of a group its own order."""

import torch

from harness.train.batches import GroupBatches, ShuffledBatches

PATCHES = torch.arange(10, dtype=torch.float64).reshape(10, 1, 1, 1)


def order(batches) -> list[int]:
    return [int(value) for batch in batches for value in batch.flatten()]


def test_every_epoch_is_a_new_permutation_of_every_patch_decided_by_the_seed():
    batches = ShuffledBatches(PATCHES, batch_size=3, seed=5)
    first, second = order(batches), order(batches)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second and len(batches) == 4
    assert order(ShuffledBatches(PATCHES, 3, seed=5)) == first and order(ShuffledBatches(PATCHES, 3, seed=6)) != first


def test_an_interrupted_epoch_resumes_in_its_order_after_the_batches_done():
    whole = ShuffledBatches(PATCHES, batch_size=3, seed=5)
    order(whole)
    state = whole.generator.get_state()
    epoch_two = order(whole)
    resumed = ShuffledBatches(PATCHES, batch_size=3, seed=99)
    resumed.resume_at(state, batches_done=2)
    assert order(resumed) == epoch_two[6:]
    assert order(resumed) == order(whole)          # and the epochs after go on as they would have


def test_each_member_of_a_group_has_its_single_runs_order_side_by_side():
    group = GroupBatches(PATCHES, batch_size=4, seeds=[1, 2])
    stacked = list(group)
    assert [batch.shape[1] for batch in stacked] == [2, 2, 2]
    for member, seed in enumerate([1, 2]):
        alone = ShuffledBatches(PATCHES, batch_size=4, seed=seed)
        assert [int(v) for batch in stacked for v in batch[:, member].flatten()] == order(alone)
