"""A measured run's evaluation: its patches stitched at the scan's positions (on a raster, the raster's own
stitching), and its agreement with a file's objectGuess over the region the scan covers."""

import numpy as np

from harness.data.ptycho_npz import simulated_as_ptycho_npz
from harness.data.scan import stitch_central_tiles, stitched_crop
from harness.evaluate.run_evaluation import reference_agreement, stitch_measured


def test_stitching_at_positions_on_a_raster_is_the_raster_s_stitching_and_agrees_with_the_object(tiny_dataset):
    arrays, truth = simulated_as_ptycho_npz(tiny_dataset, "test")
    params = tiny_dataset.params
    stitched = stitch_measured(truth, arrays["xcoords"], arrays["ycoords"])[0]
    positions = int(round(np.sqrt(truth.shape[0])))
    np.testing.assert_allclose(stitched, stitch_central_tiles(truth, params.test_stride, positions), rtol=1e-6)
    canvas = tiny_dataset.test["YY_full"][0, ..., 0] / np.float32(tiny_dataset.test["norm_Y_I"])
    crop = stitched_crop(params.N, params.test_stride, positions)
    np.testing.assert_allclose(np.abs(stitched), np.abs(canvas[crop, crop]), rtol=1e-5, atol=1e-6)
    assert reference_agreement(stitched, canvas, arrays["xcoords"], arrays["ycoords"], params.N) > 0.999
    other = np.rot90(canvas)   # another object of the same kind
    assert reference_agreement(stitched, other, arrays["xcoords"], arrays["ycoords"], params.N) < 0.8
    # positions beyond the reference's pixels: nothing to compare
    assert reference_agreement(stitched, canvas[:40, :40], arrays["xcoords"], arrays["ycoords"], params.N) is None
