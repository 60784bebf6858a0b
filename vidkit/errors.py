"""The errors vidkit raises on bad input; the CLI turns each into one `error: ...` line.

Kept free of heavy imports so that the CLI can catch them without loading torch or h5py.
"""


class VidkitError(Exception):
    """A failure the user can act on: bad input, a wrong file, an impossible request."""


class VideoDecodeError(VidkitError):
    """A video (or frame folder) could not be opened or decoded."""


class StoreSchemaError(VidkitError):
    """A file is not a vidkit store of the expected schema, or is damaged."""


class StoreConfigError(VidkitError):
    """An existing store was made with other options than the ones asked for now."""


class AnnotationError(VidkitError):
    """An annotation or split file is missing or malformed."""


class ClipRangeError(VidkitError):
    """A clip asks for frames a video does not have."""


class NoInputError(VidkitError):
    """The inputs named no video at all."""


class UsageError(VidkitError):
    """The command line asks for something impossible (the CLI exits 2, as for a bad flag)."""


class UnsafeNameError(VidkitError):
    """A name cannot be turned into a file name safely (empty, or too long)."""


class OutputInUseError(VidkitError):
    """Another run holds the lock on the same output."""


class OutputExistsError(UsageError):
    """The output exists and is not something this command would resume or append to (see --force)."""


class TrajectoryFormatError(VidkitError):
    """A trajectory file is not 436-column IDT text, or a human-box (`.bb`) file is malformed."""


class TooFewVideosError(VidkitError):
    """k-means was asked for more clusters than there are videos to cluster."""


class UnknownNameError(UsageError):
    """A registry (backbones, methods, ...) was asked for a name it does not hold."""


class CheckpointFormatError(VidkitError):
    """A file is not a readable vidkit checkpoint, or does not fit the model it is loaded into."""


class NonFiniteError(VidkitError):
    """Tensors about to be saved, or just loaded, hold NaN or infinite values (a diverged run)."""


class TrainingDivergedError(VidkitError):
    """The loss, the weights or the buffers became NaN or infinite."""
