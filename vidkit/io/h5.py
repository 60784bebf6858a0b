"""HDF5 helpers every vidkit store shares: opening with one-line errors, schema checks, fast row
reads, growing writes, and crash-safe metadata caching. Only `vidkit.io` touches HDF5.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from vidkit.errors import StoreSchemaError

ROW_CHUNK = 8192  # rows per chunk of the per-video and per-row datasets


def open_h5(path: Path, mode: str) -> h5py.File:
    """Open an HDF5 file; a missing or non-HDF5 file is a one-line `StoreSchemaError`."""
    try:
        # A bigger chunk cache keeps the per-video tables' chunks hot; the frame store opens its big
        # byte streams without a cache (`io.frame_store`), which keeps random clip reads flat in size.
        return h5py.File(path, mode, rdcc_nbytes=16 << 20, rdcc_nslots=10007)
    except FileNotFoundError as exc:
        raise StoreSchemaError(f"no such store: {path}") from exc
    except OSError as exc:
        raise StoreSchemaError(f"{path} is not a readable HDF5 file ({str(exc).splitlines()[0]})") from exc


@contextmanager
def damaged(path: Path, kind: str) -> Iterator[None]:
    """Turn a missing dataset or attribute of a file whose schema looked right into one `StoreSchemaError`."""
    try:
        yield
    except (KeyError, ValueError, TypeError) as exc:
        name = exc.args[0] if exc.args else type(exc).__name__
        raise StoreSchemaError(f"{path} is a damaged {kind}: {name!s} is missing or malformed") from None


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
    """
    out = np.empty((count, *dataset.shape[1:]), dtype=dataset.dtype)
    file_space = dataset.id.get_space()
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
