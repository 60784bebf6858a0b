"""vidkit: self-supervised video representation learning as composable commands."""

__version__ = "0.1.0"
