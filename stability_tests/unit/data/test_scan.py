"""The raster scan: patches cut where the stride says, and their central tiles stitched back into the canvas."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.data.params import patches_per_axis
from harness.data.scan import extract_patches, stitch_central_tiles, stitched_crop


@given(patch=st.integers(4, 12), stride=st.integers(1, 6), extra=st.integers(0, 20), canvases=st.integers(1, 3))
def test_each_patch_is_the_canvas_window_at_its_raster_position(patch, stride, extra, canvases):
    size = patch + extra
    canvas = np.random.default_rng(patch * 100 + stride).random((canvases, size, size))
    patches = extract_patches(canvas, patch, stride)
    count = patches_per_axis(size, patch, stride)
    assert count == (size - patch) // stride + 1
    assert patches.shape == (canvases * count * count, patch, patch)
    for index in (0, len(patches) // 2, len(patches) - 1):
        image, rest = divmod(index, count * count)
        row, column = divmod(rest, count)
        top, left = row * stride, column * stride
        assert np.array_equal(patches[index], canvas[image, top:top + patch, left:left + patch])


@given(half_margin=st.integers(0, 4), stride=st.integers(1, 8), positions=st.integers(1, 5))
def test_the_central_tiles_of_a_raster_rebuild_the_region_they_cover(half_margin, stride, positions):
    patch = stride + 2 * half_margin       # the central tiles of consecutive patches abut exactly
    size = (positions - 1) * stride + patch
    canvas = np.arange(size * size, dtype=float).reshape(1, size, size)
    patches = extract_patches(canvas, patch, stride)
    region = stitched_crop(patch, stride, positions)
    assert np.array_equal(stitch_central_tiles(patches, stride, positions), canvas[0, region, region])


@given(half_margin=st.integers(0, 4), stride=st.integers(2, 8), positions=st.integers(1, 5))
def test_placing_tiles_at_a_rasters_centres_is_stitching_the_raster(half_margin, stride, positions):
    from harness.data.ptycho_npz import raster_centres
    from harness.data.scan import stitch_at_positions

    patch = stride + 2 * half_margin
    size = (positions - 1) * stride + patch
    phase = np.arange(size * size).reshape(1, size, size)
    canvas = np.random.default_rng(stride).random((1, size, size)) * np.exp(1j * phase)
    patches = extract_patches(canvas, patch, stride)
    x, y = raster_centres(size, patch, stride)
    image, covered = stitch_at_positions(patches, x, y, stride)
    assert covered.all()
    np.testing.assert_allclose(image, stitch_central_tiles(patches, stride, positions))


@given(seed=st.integers(0, 1000), tile=st.integers(1, 6))
def test_tiles_at_any_positions_average_where_they_overlap(seed, tile):
    from harness.data.scan import stitch_at_positions

    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 30, 12), rng.uniform(0, 30, 12)
    patches = np.full((12, 8, 8), 2.5)     # a constant object: wherever tiles overlap, the mean is that constant
    image, covered = stitch_at_positions(patches, x, y, tile)
    np.testing.assert_allclose(image[covered], 2.5)
    assert covered.sum() >= tile * tile and image.shape[0] >= tile


def test_two_overlapping_tiles_average_on_their_overlap():
    from harness.data.scan import stitch_at_positions

    patches = np.stack([np.full((8, 8), 1.0), np.full((8, 8), 3.0)])
    image, covered = stitch_at_positions(patches, np.array([10.0, 12.0]), np.array([10.0, 10.0]), tile=4)
    # tiles of 4 px centred at x = 10 and 12: columns 8–11 and 10–13, the bounding box from column 8
    assert image.shape == (4, 6) and covered.all()
    np.testing.assert_array_equal(image[0], [1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
