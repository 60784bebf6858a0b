"""Reading the papers' old pickles without running any of their code.

The released files hold more than tensors: IIC's an `argparse.Namespace` (`opt`), TCE's ICPR
files a yacs `CfgNode`, Video LA's a DotMap config, its `MemoryBank` object and numpy arrays of
training curves. `torch.load(weights_only=True)` refuses all of these, and `weights_only=False`
would run whatever a file's `__reduce__` names (`os.system` included). vidkit takes the third way:
torch's own restricted unpickler (`weights_only=True`: tensor storages, their rebuild functions,
containers and primitives), widened by `torch.serialization.safe_globals` with *stand-ins*, not the
real classes, registered under the papers' class names. A stand-in only keeps the fields it is
given, so reading a `MemoryBank` or a `Namespace` needs neither the paper's code nor yacs nor
dotmap, and executes nothing. Any other global is refused with a one-line error naming it; there
is no fallback to unsafe loading. Both of torch's container formats (zip, since 1.6, and the
legacy one of torch 0.4-1.5) go through the same unpickler.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidkit.errors import CheckpointFormatError


class PickledObject:
    """Stand-in for a plain object of an allow-listed class: its pickled fields as `fields`, no methods run."""

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (__dict__, __slots__ state)
            state = {**(state[0] or {}), **(state[1] or {})}
        self.fields = dict(state) if isinstance(state, dict) else {"state": state}


class PickledMapping:
    """Stand-in for a dict subclass (DotMap, yacs CfgNode): built as a plain OrderedDict.

    The items arrive as the pickle's SETITEMS (both classes pickle them so); the attributes its BUILD
    sets (DotMap's `_map` copy, CfgNode's `__immutable__` flags) go into the instance `__dict__`,
    which `plain` leaves behind.
    """

    def __new__(cls, *args, **kwargs):
        return OrderedDict()


# Class names as the papers' pickles spell them -> the stand-in that reads them (vince.md 7,
# iic.md 6, tce.md 6, video_la_idt.md 7.3).
STAND_INS: dict[str, type] = {
    "argparse.Namespace": PickledObject,  # IIC's `opt`
    "src.objectives.localagg.MemoryBank": PickledObject,  # Video LA's memory bank (size, dim, bank_broadcast)
    "dotmap.DotMap": PickledMapping,  # Video LA's config
    "yacs.config.CfgNode": PickledMapping,  # TCE ICPR's config
}


def _empty_bytes(*args) -> bytes:
    """`bytes()` as protocol-2 pickles spell an empty byte string (an empty array's data); nothing else."""
    if args:
        raise pickle.UnpicklingError("GLOBAL builtins.bytes called with arguments")
    return b""


def _numpy_globals() -> list:
    """numpy arrays and scalars (Video LA's training curves), under numpy 1.x's pickled names."""
    core = (np._core if hasattr(np, "_core") else np.core).multiarray
    dtypes = {type(np.dtype(code)) for code in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1")}
    return [
        (core._reconstruct, "numpy.core.multiarray._reconstruct"),
        (core._reconstruct, "numpy._core.multiarray._reconstruct"),
        (core.scalar, "numpy.core.multiarray.scalar"),
        (core.scalar, "numpy._core.multiarray.scalar"),
        (np.ndarray, "numpy.ndarray"),
        (np.dtype, "numpy.dtype"),
        (_empty_bytes, "builtins.bytes"),
        (_empty_bytes, "__builtin__.bytes"),
        *sorted(dtypes, key=str),
    ]


def allowed_names() -> list[str]:
    """The classes and functions beyond torch's own `weights_only` set that vidkit admits, by pickled name."""
    return sorted(STAND_INS) + ["numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "numpy.ndarray"]


def read_pickle(path: str | Path) -> Any:
    """The object in a `torch.save` file (zip or legacy format), stand-ins turned into plain dicts.

    Raises:
        CheckpointFormatError: the file is missing, truncated or not a torch file, or it names a
            global outside the allow-list (nothing in it has run).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointFormatError(f"no such file: {path}")
    extra = [(cls, name) for name, cls in STAND_INS.items()] + _numpy_globals()
    try:
        with torch.serialization.safe_globals(extra):
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointFormatError(_refusal(path, str(exc))) from None
    except (RuntimeError, zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointFormatError(f"{path} is not a readable torch file ({reason[:160]})") from None
    return plain(payload)


def _refusal(path: Path, message: str) -> str:
    """One line naming what the unpickler refused, instead of torch's paragraph about weights_only."""
    found = re.search(r"GLOBAL ([\w.]+)", message) or re.search(r"(?:function|for) <?([\w. ]+)", message)
    what = found.group(1) if found else message.strip().splitlines()[0][:120]
    return (
        f"{path} asks to unpickle {what}, which is not a tensor, a container or an allow-listed plain class; "
        "refused without running anything (vidkit never loads pickles unsafely)"
    )


def plain(obj: Any) -> Any:
    """Replace stand-ins by plain dicts, recursively (tensors and arrays are kept as they are)."""
    if isinstance(obj, PickledObject):
        return {k: plain(v) for k, v in getattr(obj, "fields", {}).items()}
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, plain(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj
