"""Pictures and tables for people: skeleton overlays, result tables, training-curve figures."""
