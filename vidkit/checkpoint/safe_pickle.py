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
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidkit.errors import CheckpointFormatError


class PickledObject:
    """Stand-in for a plain object of an allow-listed class: its pickled fields as `fields`, no methods run.

    Each allow-listed name gets its own subclass (`_stand_in`) carrying that name, so an error
    names `argparse.Namespace`, not this class.
    """

    pickled_name = "an allow-listed class"

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

    pickled_name = "an allow-listed mapping"

    def __new__(cls, *args, **kwargs):
        if args or kwargs:  # the classes pickle as an empty instance plus SETITEMS
            raise TypeError(f"{cls.pickled_name} is built without arguments")
        return OrderedDict()


def _stand_in(base: type, name: str) -> type:
    """A subclass of `base` that knows the pickled class name it stands in for."""
    return type(name.rsplit(".", 1)[-1], (base,), {"pickled_name": name, "__module__": __name__})


# Class names as the papers' pickles spell them -> the stand-in that reads them (vince.md 7,
# iic.md 6, tce.md 6, video_la_idt.md 7.3).
STAND_INS: dict[str, type] = {
    name: _stand_in(base, name)
    for name, base in (
        ("argparse.Namespace", PickledObject),  # IIC's `opt`
        ("src.objectives.localagg.MemoryBank", PickledObject),  # Video LA's memory bank (size, dim, bank_broadcast)
        ("dotmap.DotMap", PickledMapping),  # Video LA's config
        ("yacs.config.CfgNode", PickledMapping),  # TCE ICPR's config
    )
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
        CheckpointFormatError: the file is missing, truncated or not a torch file, it names a
            global outside the allow-list, or it calls an allowed one with arguments it refuses
            (nothing outside the allow-list has run).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointFormatError(f"no such file: {path}")
    extra = [(cls, name) for name, cls in STAND_INS.items()] + _numpy_globals()
    return plain(load_torch_file(path, "torch file", _refusal, extra))


def _refusal(path: Path, what: str) -> str:
    """One line naming what the unpickler refused, instead of torch's paragraph about weights_only."""
    return (
        f"{path} asks to unpickle {what}, which is not a tensor, a container or an allow-listed plain class; "
        "refused without running anything (vidkit never loads pickles unsafely)"
    )


# What `torch.save`'s legacy format (torch 0.4-1.5) starts with: its magic number, pickled with any
# protocol; the zip format (torch >= 1.6) starts as every zip does, torch 0.1's tar format as tars do.
_LEGACY_STARTS = tuple(pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=p) for p in range(6))


def _container_problem(path: Path) -> str | None:
    """Why `path` cannot be a `torch.save` file, from its first bytes; None when it may be one."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        return f"it cannot be opened: {exc.strerror or exc}"
    if head.startswith(b"PK\x03\x04") or head.startswith(_LEGACY_STARTS) or head[257:262] == b"ustar":
        return None
    if head.startswith(b"\x80"):
        return "a plain Python pickle, not a file torch.save wrote; nothing in it was unpickled"
    return "neither torch's zip format nor its legacy one"


def load_torch_file(path: Path, what: str, refusal: Callable[[Path, str], str], extra_globals: Sequence = ()) -> Any:
    """`torch.load(weights_only=True)` widened by `extra_globals`, with every failure one line.

    A hostile or broken file fails in many ways, each a `CheckpointFormatError` naming the file:
    not torch's container at all (a plain pickle is refused before any byte of it is unpickled), a
    global outside the allow-list (`refusal(path, name)` words it), an allowed class or function
    called with arguments it refuses (`OrderedDict(1, 2)`, `numpy.dtype('bogus')`: named, from the
    unpickler's own frame), or a truncated archive. torch's warnings (a pickle protocol other than
    2, deprecations) are silenced: the result is the value or that one line. `what` names the file
    in messages ("checkpoint"); `refusal(path, global_name)` words the refusal of a global.
    """
    problem = _container_problem(path)
    if problem is not None:
        raise CheckpointFormatError(f"{path} is not a readable {what} ({problem})")
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(extra_globals):
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        inner = _unpickler_reason(str(exc))
        found = re.search(r"GLOBAL ([\w.]+)", inner)
        if found is not None:
            raise CheckpointFormatError(refusal(path, found.group(1))) from None
        raise CheckpointFormatError(f"{path} is not a readable {what} (its pickle: {inner[:160]})") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside torch.load means a malformed file
        reason = f"{type(exc).__name__}: {_first_line(exc)}"[:200]
        called = _failed_call(exc)
        if called is not None:
            raise CheckpointFormatError(
                f"{path} is not a readable {what}: its pickle calls {called} with arguments it refuses ({reason})"
            ) from None
        raise CheckpointFormatError(f"{path} is not a readable {what} (truncated or foreign file: {reason})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def _unpickler_reason(message: str) -> str:
    """The unpickler's own words inside torch's multi-line message about `weights_only`."""
    inner = message.split("WeightsUnpickler error:", 1)[-1]
    inner = inner.split("Check the documentation of torch.load", 1)[0]
    return " ".join(inner.split()) or "refused"


def _failed_call(exc: BaseException) -> str | None:
    """The class or function the restricted unpickler was calling when `exc` rose, by name.

    Read from the unpickler's frame in the traceback (its `key` opcode and the callee it had
    popped); None when the error rose elsewhere (a truncated archive, a missing record).
    """
    callee_of = {pickle.REDUCE: "func", pickle.NEWOBJ: "cls", pickle.BUILD: "inst"}
    tb, found = exc.__traceback__, None
    while tb is not None:
        code, local = tb.tb_frame.f_code, tb.tb_frame.f_locals
        if code.co_name == "load" and code.co_filename.endswith("_weights_only_unpickler.py"):
            slot = callee_of.get(local.get("key"))
            if slot is not None and slot in local:
                found = local[slot] if slot != "inst" else type(local[slot])
        tb = tb.tb_next
    if found is None:
        return None
    return (
        getattr(found, "pickled_name", None)
        or f"{getattr(found, '__module__', '?')}.{getattr(found, '__qualname__', found)}"
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
