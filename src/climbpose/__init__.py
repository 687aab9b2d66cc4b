"""ClimbPose: temporal refinement of 2D climber pose heatmaps, as a DVC pipeline."""

__version__ = "0.1.0"
