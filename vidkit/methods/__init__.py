"""The method registry (torch-free): the only list of pretraining method names.

Adding a method is one module under `vidkit/methods/` (an `SSLMethod` subclass that declares its
`defaults`, its `Options` dataclass and `build_dataset`) plus one line here. `vidkit pretrain
--method` takes its choices from `method_names()`, the docs list each method's options from its
dataclass, and `tests/methods/test_contract.py` trains every registered method.
"""

from __future__ import annotations

import importlib

from vidkit.errors import UnknownNameError, UsageError

# name -> "module:class"
METHODS: dict[str, str] = {
    "tce": "vidkit.methods.tce:TCE",
    "iic": "vidkit.methods.iic:IIC",
    "cmc": "vidkit.methods.iic:CMC",
    "ir": "vidkit.methods.ir:IR",
    "la": "vidkit.methods.la:LA",
    "moco": "vidkit.methods.moco:MoCo",
    "mocov2": "vidkit.methods.moco:MoCoV2",
    "vince": "vidkit.methods.vince:VINCE",
    "pirl": "vidkit.methods.pirl:PIRL",
}


def method_names() -> list[str]:
    return list(METHODS)


def method_class(name: str):
    """The `SSLMethod` subclass registered as `name` (imports torch).

    Raises:
        UnknownNameError: no such method.
    """
    if name not in METHODS:
        raise UnknownNameError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def create_method(name: str, backbone, *, num_videos: int, options=None):
    """Build the pretraining method `name` around `backbone`, with its options dataclass (default: the paper's).

    Raises:
        UnknownNameError: no such method.
        UsageError: a backbone of the wrong kind (an image net for a clip method, or the reverse).
    """
    cls = method_class(name)
    wanted = cls.backbone_dims
    if backbone.dims != wanted:
        kind = {2: "an image (2D) backbone", 3: "a video (3D) backbone"}
        raise UsageError(f"--method {name} trains {kind[wanted]}; the backbone given is {kind[backbone.dims]}")
    return cls(backbone, num_videos=num_videos, options=options if options is not None else cls.Options())
