"""Look-alikes of the classes the papers pickled, under their real module paths, to write files as the papers did.

`torch.save` records a class by `module.name`, so a file written while these are installed is,
pickle op for pickle op, what the original code wrote: a DotMap (an OrderedDict subclass keeping
its items in `_map`, pickled by OrderedDict's reduce), a yacs CfgNode (a dict subclass with flag
attributes), Video LA's MemoryBank (a plain object). They are removed again before the files are
read, so the reader cannot lean on them.
"""

from __future__ import annotations

import sys
import types
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager


class DotMap(OrderedDict):
    def __init__(self, items: dict | None = None):
        super().__init__()
        self.__dict__["_map"] = OrderedDict(
            (k, DotMap(v) if isinstance(v, dict) else v) for k, v in (items or {}).items()
        )
        self.__dict__["_dynamic"] = True

    def items(self):
        return self._map.items()

    def __getstate__(self):
        return self.__dict__


class CfgNode(dict):
    def __init__(self, items: dict | None = None):
        super().__init__({k: CfgNode(v) if isinstance(v, dict) else v for k, v in (items or {}).items()})
        self.__dict__["__immutable__"] = True
        self.__dict__["__new_allowed__"] = False


class MemoryBank:
    def __init__(self, bank):
        self.size, self.dim = bank.shape
        self.bank_broadcast = [bank]
        self.device = [bank.device]
        self.num_device = 1


_CLASSES = {
    "dotmap": {"DotMap": DotMap},
    "yacs.config": {"CfgNode": CfgNode},
    "src.objectives.localagg": {"MemoryBank": MemoryBank},
}


@contextmanager
def papers_classes() -> Iterator[None]:
    """Install the look-alikes as `dotmap.DotMap`, `yacs.config.CfgNode`, `src.objectives.localagg.MemoryBank`."""
    added = []
    for module, classes in _CLASSES.items():
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name not in sys.modules:
                sys.modules[name] = types.ModuleType(name)
                added.append(name)
        for cls_name, cls in classes.items():
            cls.__module__, cls.__qualname__ = module, cls_name
            setattr(sys.modules[module], cls_name, cls)
    try:
        yield
    finally:
        for name in added:
            del sys.modules[name]
