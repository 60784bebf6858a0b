"""Claiming what a scrape stage writes before it downloads anything, as every other command does.

The stages once took only the lock, so `scrape search queries.txt -o queries.txt` replaced the
queries by its (header-only) result and exited 0. Each stage now claims its output through
`vidkit.io.outputs.claim_output` (an input is a usage error, an existing output of another kind
needs `--force`, one run at a time), and also checks the files it writes beside or inside that
output (ledgers, availability reports, annotations) against its inputs.

What each stage may resume, and what it refuses:

| stage            | output           | resumed                                  | refused without `--force` |
|------------------|------------------|------------------------------------------|---------------------------|
| search           | a TSV            | a `scrape search` TSV, an empty file     | any other file |
| download         | a folder         | any folder (`download.foreign_files` guards the files in it) | a file |
| cache, r2v2 (h5) | a frame store    | a frame store                            | any other file |
| r2v2 (folders)   | a folder         | its own (`ledger.jsonl`), or one without `availability.json` | a file, another folder holding `availability.json` |
| kinetics         | a folder         | its own (`ledger.jsonl`), or one without its reports | a file, another folder holding them |

`--force` removes a file in the way (the stage then writes its own); it never removes a folder.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vidkit.errors import OutputExistsError, UnsafeNameError, UsageError, VidkitError
from vidkit.io.outputs import Verdict, claim_output
from vidkit.io.paths import printable, safe_component, same_file
from vidkit.scrape.targets import SEARCH_HEADER, Target

LEDGER = "ledger.jsonl"


def search_tsv(path: Path) -> str | None:
    """Verdict for `scrape search`'s output: its own TSV (or an empty file) may be replaced."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(4096)
    except OSError:
        return "a file that cannot be read"
    if not first.strip() or first.rstrip(b"\r\n").decode(errors="replace") == "\t".join(SEARCH_HEADER):
        return None
    return "a file that scrape search did not write (its first line is not the id/split/url/queries header)"


def frame_store(path: Path) -> str | None:
    """Verdict for `scrape cache` and `scrape r2v2 --format h5`: a frame store is resumed."""
    from vidkit.io.frame_store import SCHEMA
    from vidkit.io.h5 import unless_schema

    return unless_schema(SCHEMA, "frame store")(path)


def folder(command: str, reports: Sequence[str] = ()) -> Verdict:
    """Verdict for a folder output: resumed when it is the stage's own (it holds the ledger) or holds
    none of the `reports` the stage replaces; a file is no folder."""

    def verdict(path: Path) -> str | None:
        if not path.is_dir():
            return "a file, not a folder"
        if (path / LEDGER).is_file():
            return None
        found = [name for name in reports if (path / name).exists()]
        return f"a folder that {command} did not write (it holds {found[0]})" if found else None

    return verdict


@contextmanager
def claim_stage(
    output: Path,
    command: str,
    inputs: Sequence[str | Path | None],
    existing: Verdict,
    force: bool,
    *,
    writes_folder: bool,
    side: Sequence[Path] = (),
) -> Iterator[Path]:
    """`claim_output` for a scrape stage, plus its side files checked against the inputs.

    With `force`, an existing file of another kind is removed first (never a folder). A folder
    output is created once claimed, so a refused run creates nothing.

    Raises:
        UsageError: the output or a side file is an input; a folder where a file goes; an existing
            output of another kind without `force`.
        OutputInUseError: another run holds the lock.
    """
    output = Path(output)
    given = [p for p in inputs if p is not None and str(p) != "-"]
    for path in side:
        for source in given:
            if same_file(path, source):
                raise UsageError(
                    f"-o {printable(str(output))} writes {printable(str(path))}, which is also an input; "
                    "choose another output"
                )
    if output.is_dir() and not writes_folder:
        raise UsageError(f"-o {printable(str(output))} is a folder; {command} writes a file there")
    with claim_output(output, inputs=given, existing=existing, force=force) as path:
        if force and (path.exists() or path.is_symlink()) and not path.is_dir() and existing(path) is not None:
            try:
                path.unlink()
            except OSError as exc:
                raise VidkitError(f"cannot remove {printable(str(path))} (--force): {exc.strerror}") from None
        if writes_folder:
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                raise VidkitError(f"cannot create the folder {printable(str(path))}: {exc.strerror}") from None
        yield path


def foreign_files(folder: Path, todo: Sequence[Target], written: Collection[str], own: Collection[str]) -> list[Path]:
    """Entries of `folder` that fetching `todo` could replace and that vidkit did not write.

    A download lands at `<folder>/<id>.<ext>`, its extension known only once it has arrived, so
    every entry named `<id>.<anything>` of a video still to fetch counts (a user's own `vid1.mp4`),
    unless it is among `written` (the names the ledger says downloads left) or the stage's `own`.
    """
    stems = set()
    for target in todo:
        try:
            stems.add(safe_component(target.id))
        except UnsafeNameError:
            continue  # fetching it fails on its own, with the reason in the ledger
    if not stems:
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix and p.stem in stems and p.name not in own and printable(p.name) not in written
    )


def foreign_error(folder: Path, foreign: Sequence[Path], command: str) -> OutputExistsError:
    """The one line that refuses to replace `foreign` files (`--force` replaces them)."""
    more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
    return OutputExistsError(
        f"-o {printable(str(folder))} holds {printable(foreign[0].name)}{more}, which {command} did not write "
        "(no ledger line names it) and a download would replace; move it, or pass --force to replace it"
    )
