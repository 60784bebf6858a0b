"""HDF5 helpers every vidkit store shares: opening with one-line errors, schema checks, fast row
reads, growing writes, and crash-safe metadata caching. Only `vidkit.io` touches HDF5.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
from h5py import h5d, h5l, h5o, h5z

from vidkit.errors import StoreSchemaError

ROW_CHUNK = 8192  # rows per chunk of the per-video and per-row datasets


def open_h5(path: Path, mode: str) -> h5py.File:
    """Open an HDF5 file; a missing or non-HDF5 file is a one-line `StoreSchemaError`.

    A file opened to be read (modes `r`, `r+`, `a`) must be self-contained and its datasets sized
    by its own bytes (`check_self_contained`), so every store reader and appender is covered here,
    before any dataset is read.
    """
    try:
        # A bigger chunk cache keeps the per-video tables' chunks hot; the frame store opens its big
        # byte streams without a cache (`io.frame_store`), which keeps random clip reads flat in size.
        handle = h5py.File(path, mode, rdcc_nbytes=16 << 20, rdcc_nslots=10007)
    except FileNotFoundError as exc:
        raise StoreSchemaError(f"no such store: {path}") from exc
    except OSError as exc:
        raise StoreSchemaError(f"{path} is not a readable HDF5 file ({str(exc).splitlines()[0]})") from exc
    if mode in ("r", "r+", "a"):
        try:
            check_self_contained(handle, path)
        except BaseException:
            handle.close()
            raise
    return handle


# Filters a store may use: deflate and LZF compress, shuffle and Fletcher-32 do not. Any other filter
# id would make HDF5 look for a plugin library on disk, which a store must never cause.
_FILTERS = {
    h5z.FILTER_DEFLATE: "gzip",
    h5z.FILTER_SHUFFLE: "shuffle",
    h5z.FILTER_FLETCHER32: "fletcher32",
    32000: "lzf",
}
_COMPRESSING = {h5z.FILTER_DEFLATE, 32000}
# Deflate cannot expand data more than about 1032:1 (LZF far less), so a compressed dataset that
# declares more than this many times its stored bytes holds data it does not have.
MAX_COMPRESSION = 1100
FOREIGN, DAMAGED = "is not a self-contained store", "is a damaged store"
NO_OTHER_FILE = "vidkit reads no other file through a store"


def check_self_contained(handle: h5py.File, path: Path) -> None:
    """Refuse a file that would make HDF5 read other files, or that declares more data than it holds.

    A store may name no external link, virtual dataset (both map other HDF5 files), external raw
    storage (a dataset whose bytes are some other file, `/etc/passwd` as well as any) or filter
    outside `_FILTERS`. A dataset's declared size must fit the file: its bytes for an uncompressed
    dataset, `MAX_COMPRESSION` times its stored chunks for a compressed one. Readers then never
    allocate for rows a 14 KB file merely declares (2^33 of them is a 64 GiB `MemoryError`).
    Costs one visit of the file's objects (a few dozen in any vidkit store), never a read of data.

    Raises:
        StoreSchemaError: naming the first offending object.
    """

    def foreign_link(name: bytes, info) -> bytes | None:
        if info.type == h5l.TYPE_HARD:
            hard.append(name)
            return None
        return None if info.type == h5l.TYPE_SOFT else name  # a value stops the visit

    hard: list[bytes] = []
    found = handle.id.links.visit(foreign_link, info=True)
    if found is not None:
        what = (
            "an external link" if handle.id.links.get_info(found).type == h5l.TYPE_EXTERNAL else "a user-defined link"
        )
        target = _link_target(handle, found)
        raise StoreSchemaError(
            f"{path} {FOREIGN}: /{found.decode(errors='replace')} is {what}{target}; {NO_OTHER_FILE}"
        )
    file_size = handle.id.get_filesize()
    for name in hard:
        problem = _dataset_problem(h5o.open(handle.id, name), file_size)
        if problem is not None:
            verdict, why = problem
            raise StoreSchemaError(f"{path} {verdict}: /{name.decode(errors='replace')} {why}")


def _link_target(handle: h5py.File, name: bytes) -> str:
    try:
        filename, inner = handle.id.links.get_val(name)
        return f" to {filename.decode(errors='replace')}:{inner.decode(errors='replace')}"
    except (TypeError, ValueError, KeyError, OSError):
        return ""


def _dataset_problem(obj, file_size: int) -> tuple[str, str] | None:
    """What the file is and why, if the dataset `obj` (a low-level object id) cannot be read safely."""
    if not isinstance(obj, h5d.DatasetID):
        return None
    plist = obj.get_create_plist()
    if plist.get_layout() == h5d.VIRTUAL:
        return FOREIGN, f"is a virtual dataset (it maps other files); {NO_OTHER_FILE}"
    if plist.get_external_count():
        where = plist.get_external(0)[0].decode(errors="replace")
        return FOREIGN, f"keeps its bytes in an external file ({where}); {NO_OTHER_FILE}"
    filters = {plist.get_filter(i)[0] for i in range(plist.get_nfilters())}
    unknown = sorted(filters - set(_FILTERS))
    if unknown:
        return (
            FOREIGN,
            f"uses HDF5 filter {unknown[0]}, which no vidkit store uses (only {', '.join(_FILTERS.values())})",
        )
    # HDF5's own counts, valid for every shape (scalar, empty) and type (numpy may have no equivalent).
    elements, item = obj.get_space().get_simple_extent_npoints(), obj.get_type().get_size()
    declared, shape = elements * item, obj.shape
    if filters & _COMPRESSING:
        stored = obj.get_storage_size()
        if declared > MAX_COMPRESSION * stored:
            return DAMAGED, f"declares {declared:,} bytes (shape {shape}) from {stored:,} compressed bytes"
    elif declared > file_size:
        return DAMAGED, f"declares {declared:,} bytes (shape {shape}) in a file of {file_size:,} bytes"
    return None


@contextmanager
def damaged(path: Path, kind: str) -> Iterator[None]:
    """Turn a missing dataset or attribute of a file whose schema looked right, or one that HDF5
    cannot read, into one `StoreSchemaError`."""
    try:
        yield
    except (KeyError, ValueError, TypeError) as exc:
        name = exc.args[0] if exc.args else type(exc).__name__
        raise StoreSchemaError(f"{path} is a damaged {kind}: {name!s} is missing or malformed") from None
    except OSError as exc:  # h5py's read errors (a corrupt chunk, a failed filter)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreSchemaError(f"{path} is a damaged {kind}: HDF5 cannot read it ({reason[:160]})") from None
    except MemoryError:
        raise StoreSchemaError(f"{path}: the {kind} is too large to read into memory") from None


# Element kinds a store's datasets hold, as numpy dtype kinds (strings are h5py's string dtypes).
ELEMENTS = {"float": "f", "int": "iu", "bool": "biu", "byte": "u", "str": ""}


class Shapes:
    """Checks a store's datasets before any is read: present, of the expected element kind and rank,
    and of agreeing sizes. `dims` names each axis: a letter is a size shared by every dataset that
    names it (the first one seen sets it), a number is an exact size, `*` is free. So a feature store
    with string labels, 1-D features or a label column shorter than its features is one line
    naming the dataset, never an IndexError deep inside a command.
    """

    def __init__(self, handle: h5py.Group, path: Path, kind: str):
        self.handle, self.path, self.kind = handle, path, kind
        self.sizes: dict[str, tuple[int, str]] = {}  # letter -> (size, dataset that set it)

    def dataset(self, name: str, element: str, dims: str) -> h5py.Dataset:
        """`name`, checked (see the class): raises `StoreSchemaError` naming it."""
        found = self.handle.get(name)
        if not isinstance(found, h5py.Dataset):
            self._fail(f"{name} is missing")
        axes = dims.split()
        try:
            dtype = found.dtype
        except TypeError:  # an HDF5 type numpy has no equivalent for (time, some opaque types)
            dtype = None
        if found.shape is None or len(found.shape) != len(axes) or dtype is None or not _is_element(dtype, element):
            have = "an unreadable type" if dtype is None else "str" if h5py.check_string_dtype(dtype) else str(dtype)
            want = f"({', '.join(axes)}{',' if len(axes) == 1 else ''})"
            self._fail(f"{name} is {have} of shape {found.shape}; expected {element} of shape {want}")
        for axis, (want, size) in enumerate(zip(axes, found.shape)):
            if want.isdigit() and size != int(want):
                self._fail(f"{name} has {size} along axis {axis}; expected {want}")
            elif want.isalpha():
                seen = self.sizes.setdefault(want, (size, name))
                if seen[0] != size:
                    self._fail(f"{name} has {size} along axis {axis} where {seen[1]} has {seen[0]}")
        return found

    def read(self, name: str, element: str, dims: str) -> np.ndarray:
        """The whole of `name`, checked first; strings as an object array of `str`."""
        found = self.dataset(name, element, dims)
        with damaged(self.path, self.kind):
            if element == "str":
                return np.array(found.asstr()[()], dtype=object).reshape(found.shape)
            return found[()]

    def _fail(self, what: str):
        raise StoreSchemaError(f"{self.path} is a damaged {self.kind}: {what}")


def _is_element(dtype: np.dtype, element: str) -> bool:
    if element == "str":
        return h5py.check_string_dtype(dtype) is not None
    if element == "byte":
        return dtype == np.uint8
    return dtype.kind in ELEMENTS[element]


def check_schema(handle: h5py.File, path: Path, schema: str, kind: str) -> None:
    """Raise `StoreSchemaError` unless the file's `schema` attribute is `schema`."""
    found = handle.attrs.get("schema")
    if found != schema:
        what = f"schema {found!r}" if found else "no vidkit schema"
        raise StoreSchemaError(f"{path} is not a {kind} ({what}; expected {schema!r})")


KNOWN_SCHEMAS = {
    "vidkit.frames/1": "a frame store",
    "vidkit.features/1": "a feature store",
    "vidkit.index/1": "a retrieval index",
    "vidkit.clusters/1": "a clusters store",
    "vidkit.neighbours/1": "a neighbours file",
}


def schema_of(path: Path) -> str | None:
    """The `schema` attribute of an HDF5 file ('' when it has none); None when it is no HDF5 file."""
    try:
        with h5py.File(path, "r") as handle:
            return str(handle.attrs.get("schema", ""))
    except OSError:
        return None


def unless_schema(schema: str, kind: str):
    """An `io.outputs` verdict: an existing output may be replaced only when it has `schema`."""

    def verdict(path: Path) -> str | None:
        found = schema_of(path)
        if found == schema:
            return None
        if path.is_dir():
            return "a folder"
        return KNOWN_SCHEMAS.get(found) or (f"an HDF5 file of schema {found!r}" if found else f"not a {kind}")

    return verdict


def read_rows(dataset: h5py.Dataset, start: int, count: int) -> np.ndarray:
    """Rows `start:start+count` of a dataset through h5py's low-level API.

    `dataset[a:b]` costs a few hundred microseconds of selection bookkeeping per call, which is
    several JPEG decodes; a direct hyperslab read costs a tenth of that.

    Raises:
        StoreSchemaError: the rows are not all in the dataset (offsets read from a damaged store).
    """
    file_space = dataset.id.get_space()
    shape = file_space.shape
    if start < 0 or count < 0 or start + count > shape[0]:  # before allocating: a row range comes from the file
        raise StoreSchemaError(
            f"{dataset.file.filename} is a damaged store: it points at rows {start}..{start + count} of "
            f"{dataset.name}, which has {shape[0]}"
        )
    out = np.empty((count, *shape[1:]), dtype=dataset.dtype)
    file_space.select_hyperslab((start,) + (0,) * (out.ndim - 1), out.shape)
    dataset.id.read(h5py.h5s.create_simple(out.shape), file_space, out)
    return out


def string_dataset(group: h5py.Group, name: str) -> None:
    group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=h5py.string_dtype(), chunks=(ROW_CHUNK,))


def write_at(dataset: h5py.Dataset, at: int, values) -> None:
    """Write `values` at rows `at:` of a resizable dataset, growing it if needed (never shrinking it)."""
    if len(values) == 0:
        return
    if dataset.dtype.kind != "O":
        values = np.asarray(values, dtype=dataset.dtype)
    end = at + len(values)
    if dataset.shape[0] < end:
        dataset.resize(end, axis=0)
    dataset[at:end] = values


def no_metadata_evictions(handle: h5py.File) -> None:
    """Keep HDF5's metadata in memory until a flush, so that between two commits only raw chunk
    bytes reach the disk: a kill then leaves the file exactly as the last commit wrote it, plus
    unreferenced bytes that later writes reuse."""
    config = handle.id.get_mdc_config()
    config.evictions_enabled = False
    config.incr_mode = config.decr_mode = config.flash_incr_mode = 0  # required with evictions off
    handle.id.set_mdc_config(config)
