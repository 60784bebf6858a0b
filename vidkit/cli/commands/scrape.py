"""`vidkit scrape`: search, download and cache videos (yt-dlp), and the R2V2 and Kinetics recipes."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidkit.cli.download_flags import with_download_flags
from vidkit.cli.options import JsonOpt, SeedOpt
from vidkit.cli.output import console, progress, report

scrape = typer.Typer(
    name="scrape",
    help="Search, download and cache videos with yt-dlp; recreate R2V2 and Kinetics. Resumable: rerun to resume.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

ListIn = Annotated[str, typer.Argument(help="A list file, or - for stdin.", metavar="LIST")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", min=1, help="Download threads (downloading waits on the network, not the CPU).")
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing output of another kind (a file where a folder goes, a file that is no frame store"
        " or search TSV) and, for download, files in -o that no ledger line says vidkit wrote.",
    ),
]
TemplateOpt = Annotated[
    str, typer.Option("--url-template", help="URL of an id; {id} is replaced (a lab mirror can stand in for YouTube).")
]

_YOUTUBE = "https://www.youtube.com/watch?v={id}"


class Layout(str, Enum):
    h5 = "h5"
    folders = "folders"


def _targets(urls: str, url_template: str):
    from vidkit.scrape import targets

    found = targets.parse_targets(targets.read_lines(urls), url_template)
    if not found:
        raise typer.BadParameter("the list names no video", param_hint="LIST")
    return found


@scrape.command("search")
def search(
    queries: ListIn,
    output: Annotated[Path, typer.Option("-o", "--output", help="TSV to write: id, split, url, queries.")],
    per_query: Annotated[int, typer.Option("--per-query", min=1, help="Results kept per query at most.")] = 100,
    max_duration: Annotated[
        Optional[float],
        typer.Option(
            "--max-duration", min=0, help="Drop videos longer than this many seconds (the seed: short, < 240)."
        ),
    ] = 240.0,
    any_duration: Annotated[bool, typer.Option("--any-duration", help="Keep videos of any length.")] = False,
    one_per_channel: Annotated[
        bool, typer.Option("--one-per-channel", help="Keep one video per channel per query, as the seed did.")
    ] = False,
    val: Annotated[float, typer.Option("--val", min=0, help="Ids in val: a fraction (< 1) or a count.")] = 0.1,
    source: Annotated[
        str, typer.Option("--source", help="What yt-dlp is asked for each query; {n} and {query} are filled in.")
    ] = "ytsearch{n}:{query}",
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Search for videos with yt-dlp (flat `ytsearchN:`), one query per line; dedupe ids and split train/val.

    Example: `vidkit scrape search queries.txt -o urls.tsv --per-query 50 --one-per-channel`

    JSON: `{"output", "queries", "found", "filtered", "videos", "train", "val", "failed_queries"}`.
    Core: `vidkit.scrape.search.search`.
    """
    from vidkit.scrape import search as core
    from vidkit.scrape.targets import read_lines

    config = core.SearchConfig(
        per_query=per_query,
        max_duration=None if any_duration else max_duration,
        one_per_channel=one_per_channel,
        val=val,
        source=source,
    )
    with progress("searching") as update:
        result = core.search(
            read_lines(queries), output, config=config, seed=seed, progress=update, inputs=[queries], force=force
        )
    report(
        result.summary(),
        as_json=as_json,
        text=f"{output}: {result.videos} videos ({result.train} train, {result.val} val) from {result.queries} queries",
    )


@scrape.command("download")
@with_download_flags
def download(
    urls: ListIn,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the videos and ledger.jsonl.")],
    workers: WorkersOpt = 4,
    download_options=None,  # builds the DownloadOptions of the seven shared flags (@with_download_flags)
    url_template: TemplateOpt = _YOUTUBE,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Download videos (ids or URLs, one per line, or `scrape search` output) with retries and a ledger.

    Example: `vidkit scrape download urls.tsv -o videos/ --workers 8 --cookies cookies.txt`

    Files are `<out>/<id>.<ext>` (ids made safe, never titles). Every attempt is a line of
    `<out>/ledger.jsonl`; a rerun skips what is done or failed for good and retries the rest.
    A file already in `<out>` under a listed id that no ledger line says vidkit wrote (your own
    `vid1.mp4`) stops the run before any download; `--force` replaces it.

    JSON: `{"output", "ledger", "targets", "downloaded", "skipped", "failed", "pending", "bytes", "seconds", "errors"}`.
    Core: `vidkit.scrape.download.download`.
    """
    from vidkit.scrape import download as core

    options = download_options()
    with progress("downloading") as update:
        result = core.download(
            _targets(urls, url_template),
            output,
            options=options,
            workers=workers,
            seed=seed,
            progress=update,
            inputs=[urls],
            force=force,
        )
    if result.pending:
        console().print(f"{result.pending} video(s) failed transiently; rerun to retry them", style="yellow")
    report(
        result.summary(),
        as_json=as_json,
        text=f"{output}: {result.downloaded} downloaded, {result.skipped} skipped, {result.failed} failed, {result.pending} to retry",
    )


@scrape.command("cache")
@with_download_flags
def cache(
    urls: ListIn,
    output: Annotated[Path, typer.Option("-o", "--output", help="Frame store to write (vidkit.frames/1).")],
    sample_every: Annotated[int, typer.Option("--sample-every", min=1, help="Frames between samples.")] = 150,
    max_frames: Annotated[
        int, typer.Option("--max-frames", min=1, help="Frames sampled per try, from a random start.")
    ] = 10,
    frames: Annotated[int, typer.Option("--frames", min=1, help="Contiguous surviving frames kept per video.")] = 4,
    tries: Annotated[int, typer.Option("--tries", min=1, help="Random starts tried before a video is dropped.")] = 3,
    one_shot: Annotated[
        bool, typer.Option("--one-shot", help="Keep only frames within one shot (edge change ratio).")
    ] = False,
    max_side: Annotated[
        int, typer.Option("--max-side", min=8, help="Shrink frames whose longer side is larger.")
    ] = 480,
    quality: Annotated[int, typer.Option("--quality", min=1, max=100, help="JPEG quality.")] = 95,
    workers: WorkersOpt = 4,
    download_options=None,  # builds the DownloadOptions of the seven shared flags (@with_download_flags)
    url_template: TemplateOpt = _YOUTUBE,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Download videos and keep a few filtered frames of each in a frame store (R2V2 style), deleting the videos.

    Example: `vidkit scrape cache urls.tsv -o r2v2.h5 --frames 4 --sample-every 150 --workers 16`

    Frames with no content (blank or blurry: Laplacian edge test) and near-duplicates are dropped,
    letterbox bars cropped; each dropped video is a row of the store's failure table with its reason.
    The kept frame numbers are in each video's source (`<url>#frames=...`).

    JSON: `{"store", "ledger", "targets", "cached", "skipped", "dropped", "failed", "pending", "frames", "seconds", "reasons"}`.
    Core: `vidkit.scrape.cache.cache`.
    """
    from vidkit.scrape import cache as core

    config = core.CacheConfig(
        sample_every=sample_every,
        max_frames=max_frames,
        frames=frames,
        tries=tries,
        one_shot=one_shot,
        max_side=max_side,
        quality=quality,
    )
    if frames > max_frames:
        raise typer.BadParameter(f"--frames {frames} is more than --max-frames {max_frames}", param_hint="--frames")
    options = download_options()
    with progress("caching") as update:
        result = core.cache(
            _targets(urls, url_template),
            output,
            config=config,
            options=options,
            workers=workers,
            seed=seed,
            progress=update,
            inputs=[urls],
            force=force,
        )
    report(
        result.summary(),
        as_json=as_json,
        text=f"{output}: {result.cached} cached, {result.dropped} dropped, {result.failed} failed, {result.pending} to retry",
    )


@scrape.command("r2v2")
@with_download_flags
def r2v2(
    ids: ListIn,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Frame store (--format h5) or folder (--format folders).")
    ],
    layout: Annotated[
        Layout, typer.Option("--format", help="h5: a frame store; folders: the seed's <XY>/<id>_<frame:06d>.jpg.")
    ] = Layout.h5,
    shard: Annotated[
        Optional[str],
        typer.Option(
            "--shard", help="K/N: only the videos of shard K of N, chosen by id as extract-frames --shard does."
        ),
    ] = None,
    max_side: Annotated[
        Optional[int], typer.Option("--max-side", min=8, help="Shrink larger frames (off: R2V2 kept download size).")
    ] = None,
    quality: Annotated[int, typer.Option("--quality", min=1, max=100, help="JPEG quality.")] = 95,
    workers: WorkersOpt = 4,
    download_options=None,  # builds the DownloadOptions of the seven shared flags (@with_download_flags)
    url_template: TemplateOpt = _YOUTUBE,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Recreate R2V2 from an id list (`id,f1,f2,f3,f4`): exactly those frames of each video.

    Example: `vidkit scrape r2v2 r2v2_ids_val.txt -o r2v2_val/ --format folders --shard 1/4`

    Ends with an availability report (`availability.json`): how many videos could be recreated,
    and why the rest could not.

    JSON: `{"output", "listed", "available", "new", "skipped", "missing_frames", "unavailable", "pending", "fraction_available", "seconds", "errors"}`.
    Core: `vidkit.scrape.r2v2.recreate`.
    """
    from vidkit.extract import shards
    from vidkit.scrape import r2v2 as core
    from vidkit.scrape.targets import read_lines

    items = shards.select(core.parse_ids(read_lines(ids), ids), shards.parse(shard), key=lambda item: item.id)
    options = download_options()
    with progress("recreating R2V2") as update:
        result = core.recreate(
            items,
            output,
            layout=layout.value,
            url_template=url_template,
            options=options,
            max_side=max_side,
            quality=quality,
            workers=workers,
            progress=update,
            inputs=[ids],
            force=force,
        )
    report(
        result.summary(),
        as_json=as_json,
        text=f"{output}: {result.available} of {result.listed} videos available ({result.new} new)",
    )


@scrape.command("kinetics")
@with_download_flags
def kinetics(
    csv_files: Annotated[
        list[Path],
        typer.Argument(
            help="Official Kinetics CSVs (youtube_id,time_start,time_end[,label][,split]).",
            exists=True,
            dir_okay=False,
            metavar="CSV...",
        ),
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder: videos/, annotations/, availability.tsv, ledger.jsonl.")
    ],
    shard: Annotated[
        Optional[str], typer.Option("--shard", help="K/N: the clips of the YouTube videos in shard K of N (by id).")
    ] = None,
    workers: WorkersOpt = 4,
    download_options=None,  # builds the DownloadOptions of the seven shared flags (@with_download_flags)
    url_template: TemplateOpt = _YOUTUBE,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Download Kinetics clips from the official CSVs, each cut to its segment, laid out for `extract-frames`.

    Example: `vidkit scrape kinetics kinetics400/validate.csv -o k400/ --workers 16`

    Then: `vidkit extract-frames k400/videos -o k400.h5 --annotations k400/annotations --dataset kinetics`.
    A CSV without a `split` column takes its file name (`validate.csv` -> `validate`). Ends with an
    availability report per class (`availability.tsv`).

    JSON: `{"output", "clips", "videos", "available", "new", "unavailable", "pending", "fraction_available", "seconds", "errors", "classes"}`.
    Core: `vidkit.scrape.kinetics.download_kinetics`.
    """
    from vidkit.errors import AnnotationError
    from vidkit.extract import shards
    from vidkit.scrape import kinetics as core

    clips = []
    for path in csv_files:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise AnnotationError(f"cannot read {path}: {exc}") from None
        clips.extend(core.parse_csv(text, str(path), path.stem))
    options = download_options()
    with progress("downloading Kinetics") as update:
        result = core.download_kinetics(
            shards.select(clips, shards.parse(shard), key=lambda clip: clip.youtube_id),  # a video's clips together
            output,
            url_template=url_template,
            options=options,
            workers=workers,
            progress=update,
            inputs=csv_files,
            force=force,
        )
    report(
        result.summary(),
        as_json=as_json,
        text=f"{output}: {result.available} of {result.clips} clips available ({result.new} new); see {output}/availability.tsv",
    )
