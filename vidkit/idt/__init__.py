"""Improved dense trajectories, Fisher vectors and k-means: the core of `vidkit cluster-idt` (docs/idt.md)."""
