"""Procedural climbing videos with exact keypoints: the project's embedded default dataset.

A climber with human proportions moves up a bouldering wall (reaches, steps, weight shifts),
filmed by a tripod or handheld pinhole camera, drawn with OpenCV (shaded limbs, head with hair,
textured wall with holds and volumes, motion blur, lighting, sensor noise).

Modules: body (skeleton and IK), motion (route planning and moves), scene (wall geometry),
camera, visibility (ground-truth occlusion), wall and render (drawing), generate (this API),
domain (the ranges every random choice draws from: TRAINING, the default dataset's, and
HELD_OUT, the out-of-domain test set's), ground (a person moving on the floor, not climbing).
"""

from climbpose.synth.domain import HELD_OUT, TRAINING, Domain
from climbpose.synth.generate import (
    SynthVideo,
    generate_video,
    iter_video,
    sample_keypoint_sequence,
    simulate,
)

__all__ = ["HELD_OUT", "TRAINING", "Domain", "SynthVideo", "generate_video", "iter_video", "sample_keypoint_sequence",
           "simulate"]
