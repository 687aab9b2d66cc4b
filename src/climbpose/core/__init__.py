"""The shared contract every stage depends on as a whole: typed params (`config`), one-line user
errors (`errors`) and the input checks that raise them (`checks`), atomic file writes (`io`), the 25-keypoint layout (`keypoints`), thresholds and
metric keys (`contract`), resumable work (`resume`) and each script's import closure (`imports`).

Nothing here imports the rest of the package, so a change elsewhere never reaches into it.
"""
