"""Names from outside (video ids, file stems, scraped ids) made safe to use as file names and text.

A video id comes from a file name, a split list, a CSV or a web page, and may hold anything:
`..`, separators, NUL, newlines, bytes that are not UTF-8. Every id that becomes part of a path
goes through `safe_component`, which escapes (never drops) what could leave the folder, hide the
file or break a line-based listing, so that two different ids never share a file and the id can
be read back with `component_name`. Escaping is percent-encoding of the UTF-8 bytes (undecodable
bytes, which Python hands over as surrogate escapes, keep their own value), as URLs do; `%`
itself is escaped, so the mapping is one to one.

Text that goes into HDF5 strings or TSV cells goes through `printable`: undecodable bytes become
`\\xNN` and control characters their escapes, so a name that is not UTF-8 is kept (readably)
instead of breaking the whole run.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from vidkit.errors import UnsafeNameError, UsageError

# Most file systems cap a name at 255 bytes; escapes and suffixes (".tmp", "_000001.jpg") need room.
MAX_COMPONENT_BYTES = 200
_ALWAYS_ESCAPED = frozenset("/\\%")


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (os.fsdecode's surrogate escape)
        return f"%{code - 0xDC00:02X}"
    if 0xD800 <= code <= 0xDFFF:
        raise UnsafeNameError(f"the name {printable(char)!r} holds a lone surrogate; it cannot be a file name")
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _needs_escape(char: str, first: bool) -> bool:
    return (
        char in _ALWAYS_ESCAPED
        or (first and char == ".")  # no `.`, `..` or hidden files
        or not char.isprintable()  # controls (NUL, newline, tab, ESC), format marks, surrogates, unassigned
    )


def safe_component(name: str) -> str:
    """One path component that stands for `name` and cannot leave the folder it is joined to.

    Raises:
        UnsafeNameError: `name` is empty, or too long to be a file name even before escaping.
    """
    if not name:
        raise UnsafeNameError("an empty name cannot be a file name")
    component = "".join(_escape(c) if _needs_escape(c, i == 0) else c for i, c in enumerate(name))
    if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
        raise UnsafeNameError(
            f"the name {printable(name[:40])}... is {len(component.encode('utf-8'))} bytes once escaped; "
            f"file names here hold at most {MAX_COMPONENT_BYTES}"
        )
    return component


def component_name(component: str) -> str:
    """The name `safe_component` made `component` from (undecodable bytes come back as surrogate escapes)."""
    return urllib.parse.unquote(component, encoding="utf-8", errors="surrogateescape")


def child(root: str | Path, name: str, suffix: str = "") -> Path:
    """`root / (safe_component(name) + suffix)`: the one way an id becomes a path under `root`."""
    path = Path(root) / (safe_component(name) + suffix)
    # Belt and braces: the escaping makes this impossible, and deletion code relies on it.
    if path.parent != Path(root):
        raise UnsafeNameError(f"{printable(name)!r} does not name a file directly inside {root}")
    return path


def printable(text: str) -> str:
    """`text` as storable, one-line text: undecodable bytes as `\\xNN`, control characters escaped."""
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if raw.isprintable():
        return raw
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in raw)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (through links too); a missing path is compared by its resolved name."""
    a, b = Path(a), Path(b)
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def refuse_output_among_inputs(output: str | Path, inputs: list[str | Path], option: str = "-o") -> None:
    """A usage error when the output is one of the inputs (it would be overwritten by its own result).

    Raises:
        UsageError: `output` names the same file as one of `inputs`.
    """
    for path in inputs:
        if path is not None and str(path) != "-" and same_file(output, path):
            raise UsageError(f"{option} {output} is also an input; write the result to another file")
