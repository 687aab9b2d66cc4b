"""Procedural climbing videos with exact keypoints: the project's embedded default dataset.

A climber with human proportions moves up a bouldering wall (reaches, steps, weight shifts),
filmed by a tripod or handheld pinhole camera, drawn with OpenCV (shaded limbs, head with hair,
textured wall with holds and volumes, motion blur, lighting, sensor noise).

Modules: body (skeleton and IK), motion (route planning and moves), scene (wall geometry),
camera, visibility (ground-truth occlusion), wall and render (drawing), generate (this API).
"""

from climbpose.synth.generate import (
    SynthVideo,
    generate_video,
    iter_video,
    sample_keypoint_sequence,
    simulate,
)

__all__ = ["SynthVideo", "generate_video", "iter_video", "sample_keypoint_sequence", "simulate"]
