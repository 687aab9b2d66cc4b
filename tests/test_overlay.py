"""Known answers for the overlay drawing: both skeletons visible, the box marked where it leaves the frame."""

import numpy as np

from climbpose.core.keypoints import K
from climbpose.report.overlay import BOX_COLOUR, Skeleton, compare_on_frame, draw_box, off_frame_sides

RAW, REFINED = (235, 40, 40), (60, 140, 255)


def colour_mask(image: np.ndarray, colour) -> np.ndarray:
    return (np.abs(image.astype(int) - np.array(colour)).sum(axis=2) < 30)


def test_off_frame_sides_known_answers():
    assert off_frame_sides(np.array([10, 10, 50, 50]), 100, 80) == ()
    assert off_frame_sides(np.array([-1, 10, 120, 50]), 100, 80) == ("left", "right")
    assert off_frame_sides(np.array([10, -5, 50, 80]), 100, 80) == ("top", "bottom")


def test_box_past_the_frame_is_marked_on_the_edge_not_drawn_across():
    image = np.zeros((120, 200, 3), np.uint8)
    out, sides = draw_box(image, np.array([-60.0, 30.0, 260.0, 90.0]))
    assert sides == ("left", "right")
    box = colour_mask(out, BOX_COLOUR)
    # The left and right edges are marked on the frame border, only between the box's rows.
    assert box[30:91, 0].sum() > 10 and box[30:91, -1].sum() > 10
    assert not box[:25, :].any() and not box[96:, :].any()
    # Dashed: the border mark has gaps, a solid side would not.
    assert 10 < box[30:91, 0].sum() < 61
    # Ticks point into the picture from the marked edge (a few pixels in).
    assert box[55:66, 3:8].any()
    # A box inside the frame is four solid sides and no marks.
    out, sides = draw_box(image, np.array([20.0, 20.0, 80.0, 60.0]))
    assert sides == () and colour_mask(out, BOX_COLOUR)[20:61, 20].all()


def test_thin_raw_skeleton_stays_visible_on_top_of_the_thick_refined_one():
    rng = np.random.default_rng(0)
    xy = np.stack([rng.uniform(20, 180, K), rng.uniform(20, 100, K)], axis=1)
    image = np.zeros((120, 200, 3), np.uint8)
    out = compare_on_frame(image, [Skeleton("refined", xy, REFINED, 4), Skeleton("raw", xy, RAW, 1)],
                           bbox=np.array([-10.0, 5.0, 190.0, 110.0]))
    below_legend = out[60:]
    assert colour_mask(below_legend, RAW).sum() > 50  # identical points: raw still shows
    assert colour_mask(below_legend, REFINED).sum() > colour_mask(below_legend, RAW).sum()  # thick one around it
    # The other order hides the thin one where they agree.
    hidden = compare_on_frame(image, [Skeleton("raw", xy, RAW, 1), Skeleton("refined", xy, REFINED, 4)])
    assert colour_mask(hidden[60:], RAW).sum() < colour_mask(below_legend, RAW).sum() // 5
