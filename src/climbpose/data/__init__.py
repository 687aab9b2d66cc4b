"""Data handling: the data sources (synthetic, ClimbAlong, Penn Action, BRACE, your
own videos), preprocessing, the frame store, windows of usable frames, the window sets models
train and are scored on, and the train/validation/test split (docs/design.md#windows-and-the-split).

Import the submodules themselves: this file imports nothing, so a stage loads (and depends on)
only the parts it uses.
"""
