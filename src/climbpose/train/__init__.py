"""Training: windows as device-resident batches, the thesis' recipe, resumable checkpoints."""
