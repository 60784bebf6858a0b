"""Classifying failures from the messages and exception chains yt-dlp produces."""

from __future__ import annotations

import pytest

from vidkit.scrape.faults import CorruptVideo, DownloadTimeout, classify


def _download_error(message: str, cause: BaseException | None = None):
    from yt_dlp.utils import DownloadError

    return DownloadError(message, (type(cause), cause, None) if cause else None)


@pytest.mark.parametrize(
    ("message", "error_class", "transient"),
    [
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", "unavailable", False),
        ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", "unavailable", False),
        ("ERROR: [youtube] abc: Sign in to confirm you’re not a bot. Use --cookies-from-browser", "bot_check", True),
        ("ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate", "unavailable", False),
        ("ERROR: [youtube] abc: Requested format is not available", "no_format", False),
        ("ERROR: \r[download] Got error: Downloaded 10 bytes, expected 20 bytes", "incomplete", True),
        ("ERROR: Unsupported URL: http://example.com", "unsupported", False),
        ("ERROR: unable to download video data: HTTP Error 429: Too Many Requests", "rate_limited", True),
        ("ERROR: something nobody has seen", "error", False),
    ],
)
def test_messages(message, error_class, transient):
    fault = classify(_download_error(message))
    assert (fault.error_class, fault.transient) == (error_class, transient)
    assert "\r" not in fault.message and fault.message


def test_our_own_exceptions_inside_yt_dlp_errors():
    assert (
        classify(_download_error("ERROR: x", DownloadTimeout("no complete download within 5 s"))).error_class
        == "timeout"
    )
    assert classify(CorruptVideo("0 bytes")).error_class == "corrupt"
    assert classify(_download_error("ERROR: x", TimeoutError("read timed out"))).transient


def test_a_missing_mirror_file_is_not_found_for_good_as_over_http(tmp_path):
    """A `file://` mirror without the file was `connection`: retried for minutes, then pending for ever."""
    from vidkit.scrape.download import DownloadOptions, download
    from vidkit.scrape.ledger import read_ledger
    from vidkit.scrape.targets import Target

    (tmp_path / "mirror" / "a_folder.mp4").mkdir(parents=True)
    targets = [
        Target("missing", (tmp_path / "mirror" / "missing.mp4").as_uri()),
        Target("no_folder", (tmp_path / "gone" / "x.mp4").as_uri()),
        Target("a_folder", (tmp_path / "mirror" / "a_folder.mp4").as_uri()),
    ]
    result = download(targets, tmp_path / "out", options=DownloadOptions(backoff=0.01, retries=2))
    assert (result.failed, result.pending, result.errors) == (3, 0, {"not_found": 3})
    lines = read_ledger(tmp_path / "out" / "ledger.jsonl")
    assert [(r["status"], r["error_class"], r["transient"]) for r in lines] == [("failed", "not_found", False)] * 3
    again = download(targets, tmp_path / "out", options=DownloadOptions(backoff=0.01, retries=2))
    assert again.skipped == 3  # failed for good: a rerun does not try again


def test_a_connection_refused_is_still_transient():
    from yt_dlp.networking.exceptions import TransportError

    refused = TransportError("connection refused", cause=ConnectionRefusedError(111, "Connection refused"))
    assert classify(_download_error("ERROR: x", refused)).error_class == "connection"
