"""`scrape download` against the loopback server: faults, retries, the ledger, resume, hostile ids."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from vidkit.io.paths import component_name
from vidkit.scrape.download import DownloadOptions, download
from vidkit.scrape.ledger import read_ledger
from vidkit.scrape.targets import Target

FAST = DownloadOptions(backoff=0.01, retries=2, timeout=60)


def _history(path: Path) -> dict[str, list[tuple[str, str | None]]]:
    history: dict[str, list] = {}
    for record in read_ledger(path):
        history.setdefault(record["id"], []).append((record["status"], record["error_class"]))
    return history


def test_injected_faults_are_retried_or_given_up_and_every_attempt_is_ledgered(server, real_clips, tmp_path):
    targets = [
        Target("ok", server.url("ok", "carphone_pristine")),
        Target("limited", server.url("429-1", "bikes")),
        Target("gone", server.url("404", "bikes")),
        Target("cut", server.url("cut", "carphone_pristine")),
        Target("broken", server.url("truncated", "bikes")),
        Target("flaky", server.url("500-1", "carphone_pristine")),
    ]
    result = download(targets, tmp_path / "out", options=FAST, workers=3)
    history = _history(tmp_path / "out" / "ledger.jsonl")
    assert history == {
        "ok": [("done", None)],
        "limited": [("retry", "rate_limited"), ("done", None)],
        "gone": [("failed", "not_found")],
        "cut": [("retry", "incomplete"), ("done", None)],
        "broken": [("failed", "corrupt")],
        "flaky": [("retry", "server_error"), ("done", None)],
    }
    assert (result.downloaded, result.failed, result.pending) == (4, 2, 0)
    assert result.errors == {"not_found": 1, "corrupt": 1}
    # Whole, byte-identical files under sanitised ids; nothing of the failures is left behind.
    for video_id, clip in (("ok", "carphone_pristine"), ("limited", "bikes"), ("cut", "carphone_pristine")):
        assert (tmp_path / "out" / f"{video_id}.mp4").read_bytes() == real_clips[clip].read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cut.mp4",
        "flaky.mp4",
        "ledger.jsonl",
        "limited.mp4",
        "ok.mp4",
    ]
    # The retry after the cut connection resumed the partial file instead of starting over.
    assert any(path == "/cut/carphone_pristine.mp4" and rng and rng != "bytes=0-" for path, rng in server.requests)


def test_a_rerun_downloads_nothing_done_or_failed_for_good_and_retries_transient_failures(server, tmp_path):
    targets = [
        Target("ok", server.url("ok", "bikes")),
        Target("gone", server.url("404", "bikes")),
        Target("flaky", server.url("500-1", "carphone_pristine")),
    ]
    no_retry = DownloadOptions(backoff=0.01, retries=0)
    first = download(targets, tmp_path / "out", options=no_retry)
    assert (first.downloaded, first.failed, first.pending) == (1, 1, 1)
    before = {name: server.hits(name) for name in ("/ok/", "/404/", "/500-1/")}
    second = download(targets, tmp_path / "out", options=no_retry)
    assert (second.skipped, second.downloaded) == (2, 1)
    assert server.hits("/ok/") == before["/ok/"] and server.hits("/404/") == before["/404/"]
    assert server.hits("/500-1/") > before["/500-1/"]
    # A done file deleted by hand is downloaded again.
    (tmp_path / "out" / "ok.mp4").unlink()
    third = download(targets, tmp_path / "out", options=no_retry)
    assert third.downloaded == 1 and (tmp_path / "out" / "ok.mp4").exists()


def test_hostile_ids_stay_inside_the_output_folder(server, tmp_path):
    hostile = ["../escape", "a/b", "$(touch pwned)", "'quote\"", "new\nline", ".hidden", "..", "back\\slash", "%2E%2E"]
    out = tmp_path / "deep" / "out"
    result = download([Target(h, server.url("ok", "carphone_pristine")) for h in hostile], out, options=FAST)
    assert result.downloaded == len(hostile)
    videos = [p for p in out.iterdir() if p.suffix == ".mp4"]
    assert sorted(component_name(p.stem) for p in videos) == sorted(hostile)  # one file each, names reversible
    assert all(not p.name.startswith(".") and p.parent == out for p in videos)
    outside = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")} - {Path("deep"), Path("deep/out")}
    assert all(p.parts[:2] == ("deep", "out") for p in outside)
    assert not list(tmp_path.rglob("pwned"))


def test_file_urls_work_for_a_local_mirror(real_clips, tmp_path):
    url = real_clips["carphone_pristine"].resolve().as_uri()
    out = tmp_path / "100%(title)s" / "out"  # yt-dlp's template syntax in the folder name stays literal
    result = download([Target("mirror", url)], out, options=FAST)
    assert result.downloaded == 1
    assert (out / "mirror.mp4").read_bytes() == real_clips["carphone_pristine"].read_bytes()


def test_a_video_past_its_timeout_fails_transiently(server, tmp_path):
    server.slow_pause = 0.2
    options = DownloadOptions(backoff=0.01, retries=0, timeout=1.0)
    result = download([Target("slow", server.url("slow", "bikes"))], tmp_path / "out", options=options)
    assert result.pending == 1 and result.errors == {"timeout": 1}
    assert not (tmp_path / "out" / "slow.mp4").exists()


def test_two_runs_on_one_output_are_refused(server, tmp_path):
    from vidkit.errors import OutputInUseError
    from vidkit.io.lock import output_lock

    (tmp_path / "out").mkdir()
    with output_lock(tmp_path / "out"), pytest.raises(OutputInUseError):
        download([Target("ok", server.url("ok", "bikes"))], tmp_path / "out", options=FAST)


def test_a_rerun_after_kill_9_resumes_without_downloading_again(server, tmp_path):
    """Kill the command while it downloads its second video; the rerun fetches only the rest of that one."""
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{server.url('ok', 'carphone_pristine')}\n{server.url('slow', 'bikes')}\n")
    out = tmp_path / "out"
    server.slow_pause = 0.05  # bikes.mp4 takes ~6 s at 4 KiB a piece: time enough to kill it mid-file
    command = [sys.executable, "-m", "vidkit", "scrape", "download", str(listing), "-o", str(out), "--workers", "1"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # bikes' own partial folder (carphone's partial file can pass 64 KiB too, before it is done)
        partial = out / ".partial" / hashlib.sha1(b"bikes").hexdigest()[:20]
        deadline = time.monotonic() + 120  # a loaded machine may take long to start the command
        while not any(p.stat().st_size > 64 * 1024 for p in partial.glob("*.part")):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the slow download never started")
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert _history(out / "ledger.jsonl") == {"carphone_pristine": [("done", None)]}
    first_hits = server.hits("/ok/carphone_pristine")
    server.slow_pause = 0.0
    result = download(
        [
            Target("carphone_pristine", server.url("ok", "carphone_pristine")),
            Target("bikes", server.url("slow", "bikes")),
        ],
        out,
        options=FAST,
    )
    assert (result.skipped, result.downloaded) == (1, 1)
    assert server.hits("/ok/carphone_pristine") == first_hits
    ranges = [r for path, r in server.requests if path == "/slow/bikes.mp4" and r]
    assert ranges and int(ranges[-1][6:].split("-")[0]) > 64 * 1024  # resumed from where the kill left it
    assert not (out / ".partial").exists()


def test_cookies_are_sent_and_the_users_file_is_never_rewritten(server, tmp_path):
    cookies = tmp_path / "cookies.txt"
    text = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tsecret-value\n"
    cookies.write_text(text)
    before = cookies.stat().st_mtime_ns
    options = DownloadOptions(backoff=0.01, cookies=cookies)
    result = download(
        [Target(f"v{i}", server.url("ok", "carphone_pristine")) for i in range(4)],
        tmp_path / "out",
        options=options,
        workers=4,
    )
    assert result.downloaded == 4
    assert server.cookies and all(c == "session=secret-value" for c in server.cookies)
    assert cookies.read_text() == text and cookies.stat().st_mtime_ns == before


def test_a_file_that_is_not_a_cookie_jar_is_a_usage_error(tmp_path):
    from vidkit.errors import UsageError

    (tmp_path / "cookies.txt").write_text("session=abc; other=def\n")
    with pytest.raises(UsageError, match="Netscape"):
        download(
            [Target("x", "http://127.0.0.1:9/x.mp4")],
            tmp_path / "out",
            options=DownloadOptions(cookies=tmp_path / "cookies.txt"),
        )


def test_the_thread_map_keeps_order_and_bounds_what_is_in_flight():
    import threading

    from vidkit.scrape.pool import map_in_threads

    started, lock = [], threading.Lock()

    def work(i):
        with lock:
            started.append(i)
        return i * i

    results = []
    for item, square in map_in_threads(work, range(50), workers=3):
        results.append((item, square))
        if item == 4:
            break
    assert results == [(i, i * i) for i in range(5)]
    assert len(started) <= 5 + 2 * 3  # leaving early did not run the other 40-odd items
