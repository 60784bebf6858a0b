"""The importer registry (torch-free): one importer per paper, and telling them apart by their keys.

Adding a paper is one module under `vidkit/checkpoint/importers/` with two functions,
`matches(layout) -> bool` (do the file's keys show this paper's layout?) and
`convert(payload, source) -> mapping.Converted`, plus one line in `IMPORTERS`. `vidkit
import-checkpoint --from` takes its choices from `importer_names()`; without `--from`, `detect`
picks the one paper whose layout the file's keys show.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from vidkit.errors import UnknownNameError, UsageError

# name -> the module holding its `matches` and `convert`
IMPORTERS: dict[str, str] = {
    "vince": "vidkit.checkpoint.importers.vince",
    "iic": "vidkit.checkpoint.importers.iic",
    "tce": "vidkit.checkpoint.importers.tce",
    "la": "vidkit.checkpoint.importers.la",
}


def importer_names() -> list[str]:
    return list(IMPORTERS)


def detect(layout: dict) -> str:
    """The one paper whose layout `layout` (`mapping.Layout`: key paths -> tensor shapes) shows (imports torch).

    Raises:
        UsageError: none, or several, match (then `--from` decides).
    """
    found = [name for name, module in IMPORTERS.items() if importlib.import_module(module).matches(layout)]
    if len(found) == 1:
        return found[0]
    what = "none of the papers' layouts" if not found else f"the layouts of {' and '.join(found)}"
    raise UsageError(f"cannot tell which paper's checkpoint this is (its keys fit {what}); pass --from NAME")


def importer(name: str) -> Callable:
    """The `convert` function registered as `name` (imports torch).

    Raises:
        UnknownNameError: no such importer.
    """
    if name not in IMPORTERS:
        raise UnknownNameError(f"unknown checkpoint layout {name!r}; choose one of {', '.join(IMPORTERS)}")
    return importlib.import_module(IMPORTERS[name]).convert
