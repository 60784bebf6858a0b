"""Strict renaming of a paper's state-dict keys into vidkit's, and what an importer hands back.

Every importer describes its paper's layout as an ordered list of `Rule`s: a regular expression
over the source key and either the vidkit name it becomes (in the backbone, the method state or
the classifier head) or the reason it is deliberately dropped. `remap` applies them and fails on
any key no rule claims, naming the first ones, so a file with layers vidkit does not know is an
error and never a silent partial load (VINCE issue #3's random-init fallback). Torch-free: the
rules work on names, and the tensors are carried as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vidkit.checkpoint.recipe import InputRecipe
from vidkit.errors import CheckpointFormatError

BACKBONE, METHOD_STATE, HEAD = "backbone", "method_state", "head"

# A file's keys as `matches` sees them: "entry/key" (or "key" for a bare state dict) -> the
# tensor's shape, None for a value that is no tensor.
Layout = dict[str, "tuple[int, ...] | None"]


def any_key(layout: Layout, pattern: str, ndim: int | None = None) -> bool:
    """Whether a key of `layout` contains `pattern` (a regex), holding a tensor of `ndim` dimensions if given."""
    regex = re.compile(pattern)
    return any(regex.search(k) and (ndim is None or (s is not None and len(s) == ndim)) for k, s in layout.items())


@dataclass(frozen=True)
class Rule:
    """`pattern` (matched in full) -> `target` in `part`, or dropped for `reason` when `target` is None.

    `target` is a `re.Match.expand` template (`layer\\1.0`) or a function of the match, for
    renames that need arithmetic (IIC's `conv2..conv5` are vidkit's `layer1..layer4`).
    """

    pattern: str
    target: str | Callable[[re.Match], str] | None
    part: str = BACKBONE
    reason: str = ""


def drop(pattern: str, reason: str) -> Rule:
    return Rule(pattern, None, reason=reason)


@dataclass
class Converted:
    """A paper's checkpoint in vidkit's terms: what `vidkit.checkpoint.save` writes, plus the report."""

    layout: str  # which of the paper's layouts it was ("tce-icpr-pretrain", ...)
    backbone_name: str
    backbone_kwargs: dict
    input: InputRecipe
    method: str
    hparams: dict
    backbone: dict[str, Any] = field(default_factory=dict)
    method_state: dict[str, Any] = field(default_factory=dict)
    head: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # source key -> why it was left out
    info: dict = field(default_factory=dict)  # the source's own record (epoch, accuracy), for provenance
    described: str = ""  # what the source network is, in words ("a 3D ResNet-34 with shortcut A"), for errors


def _name_few(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def remap(state: dict[str, Any], rules: Iterable[Rule], into: Converted, *, where: str = "") -> None:
    """Rename every key of `state` into `into` by the first rule that matches it.

    Raises:
        CheckpointFormatError: keys that no rule claims (the first ones named), or two keys that
            would become the same vidkit name.
    """
    rules = list(rules)
    compiled = [(re.compile(rule.pattern), rule) for rule in rules]
    unmapped = []
    for key, value in state.items():
        for regex, rule in compiled:
            match = regex.fullmatch(key)
            if match is None:
                continue
            if rule.target is None:
                into.dropped[f"{where}{key}"] = rule.reason
            else:
                name = rule.target(match) if callable(rule.target) else match.expand(rule.target)
                part = getattr(into, rule.part)
                if name in part:
                    raise CheckpointFormatError(f"{where}{key} and another key both map to {rule.part} {name}")
                part[name] = value
            break
        else:
            unmapped.append(f"{where}{key}")
    if unmapped:
        raise CheckpointFormatError(
            f"{len(unmapped)} keys of the {into.layout} layout have no place in vidkit: {_name_few(unmapped)}"
        )


def strip_prefix(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`state` without `prefix` (DataParallel's `module.`) where every key has it; unchanged otherwise."""
    if state and all(key.startswith(prefix) for key in state):
        return {key[len(prefix) :]: value for key, value in state.items()}
    return dict(state)


def take_entries(payload: dict, layout: str, read: set[str], dropped: dict[str, str], into: Converted) -> None:
    """Check a checkpoint's top-level entries: each is read by the importer or dropped for a stated reason.

    Raises:
        CheckpointFormatError: an entry the layout does not have (a different file than the paper's).
    """
    unknown = sorted(str(k) for k in payload if k not in read and k not in dropped)
    if unknown:
        raise CheckpointFormatError(f"the {layout} layout has no entry {_name_few(unknown)}; is this the right --from?")
    for key in payload:
        if key in dropped:
            into.dropped[str(key)] = dropped[key]


def resnet_name(state: dict[str, Any], prefix: str = "") -> str:
    """torchvision's name of the 2D ResNet whose keys (after `prefix`) are in `state` (resnet18 ... resnet152).

    Raises:
        CheckpointFormatError: the blocks per stage match no torchvision ResNet.
    """
    blocks = []
    for stage in range(1, 5):
        found = {int(m.group(1)) for k in state if (m := re.match(rf"{re.escape(prefix)}layer{stage}\.(\d+)\.", k))}
        blocks.append(max(found) + 1 if found else 0)
    bottleneck = any(re.match(rf"{re.escape(prefix)}layer1\.0\.conv3\.", k) for k in state)
    known = {
        (False, (2, 2, 2, 2)): "resnet18",
        (False, (3, 4, 6, 3)): "resnet34",
        (True, (3, 4, 6, 3)): "resnet50",
        (True, (3, 4, 23, 3)): "resnet101",
        (True, (3, 8, 36, 3)): "resnet152",
    }
    name = known.get((bottleneck, tuple(blocks)))
    if name is None:
        kind = "bottleneck" if bottleneck else "basic"
        raise CheckpointFormatError(f"a ResNet with {kind} blocks {tuple(blocks)} per stage is none of torchvision's")
    return name


def plain_values(tree: Any) -> Any:
    """The JSON-able part of a config (numbers, strings, lists, dicts), for a checkpoint's `hparams`."""
    if isinstance(tree, dict):
        kept = {str(k): plain_values(v) for k, v in tree.items()}
        return {k: v for k, v in kept.items() if v is not None}
    if isinstance(tree, (list, tuple)):
        kept = [plain_values(v) for v in tree]
        return kept if all(v is not None for v in kept) else None
    for kind in (bool, int, float, str):  # numpy scalars become Python ones (weights_only reads no numpy)
        if isinstance(tree, kind):
            return kind(tree)
    return None
