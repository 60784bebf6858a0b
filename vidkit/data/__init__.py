"""Samples for training and embedding: pure sampling functions, per-sample transforms, datasets over a frame store."""
