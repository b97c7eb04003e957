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
