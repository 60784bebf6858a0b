"""LA (local aggregation, Video LA stages 6-7): close neighbours, the loss by hand, clusters by id, k-means, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vidkit import checkpoint as ckpt
from vidkit import pretrain as pretraining
from vidkit.errors import UsageError, VidkitError
from vidkit.io.clusters import Clusters, Encoder, EncoderBlock, write_clusters
from vidkit.io.frame_store import FrameStore
from vidkit.methods import create_method
from vidkit.methods.la import LAOptions, close_neighbours, local_aggregation_loss
from vidkit.models import create_backbone


def test_close_neighbours_are_the_union_over_clusterings():
    labels = torch.tensor([[0, 0, 1, 1, 2], [0, 1, 1, 2, 2]])  # (C=2, N=5)
    anchors = torch.tensor([0, 2])
    neighbours = torch.tensor([[1, 2, 3, 0], [0, 1, 3, 4]])
    close = close_neighbours(labels, anchors, neighbours)
    # video 0: shares clustering 0 with 1, clustering 1 with nobody, and is close to itself.
    # video 2: shares clustering 0 with 3 and clustering 1 with 1.
    assert close.tolist() == [[True, False, False, True], [False, True, True, False]]


def test_no_cluster_matches_nothing_but_itself():
    labels = torch.tensor([[-1, -1, 0]])
    close = close_neighbours(labels, torch.tensor([0]), torch.tensor([[1, 0, 2]]))
    assert close.tolist() == [[False, True, False]]


def test_la_loss_by_hand():
    scores = torch.tensor([[0.5, 0.2, -0.1], [0.3, 0.1, 0.0]])
    close = torch.tensor([[True, False, True], [False, False, False]])
    t = 0.07
    p = [[math.exp(s / t) for s in row] for row in scores.tolist()]
    first = -math.log((p[0][0] + p[0][2]) / sum(p[0]) + 1e-7)
    second = -math.log(1e-7)  # no close neighbour: the seed's saturation, about 16.1
    loss = local_aggregation_loss(scores, close, t)
    assert float(loss) == pytest.approx((first + second) / 2, rel=1e-5)
    assert second == pytest.approx(16.118, abs=1e-3)


def test_the_gradient_is_finite_without_close_neighbours():
    scores = torch.tensor([[0.5, 0.2]], requires_grad=True)
    local_aggregation_loss(scores, torch.tensor([[False, False]]), 0.07).backward()
    assert torch.isfinite(scores.grad).all()


def _la(num_videos=6, **options):
    torch.manual_seed(0)
    return create_method("la", create_backbone("tiny"), num_videos=num_videos, options=LAOptions(**options))


def test_with_every_video_its_own_cluster_la_is_instance_discrimination():
    """video_la_idt.md 11: identity labels give -log(p_i / sum_B p) when i is among its background neighbours."""
    method = _la(num_videos=4, dim=2, neighbours=3)
    method.bank.rows.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]]))
    v = torch.tensor([[0.8, 0.6]])
    loss, _ = method.instance_loss(v, torch.tensor([3]))
    scores = sorted([0.8, 0.6, -0.8, 0.96], reverse=True)[:3]  # the 3 nearest rows: 3, 0, 1
    expected = -math.log(math.exp(0.96 / 0.07) / sum(math.exp(s / 0.07) for s in scores) + 1e-7)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def _store_ids(frames, split="train01"):
    store = FrameStore(frames)
    videos = store.split(split)
    return store, videos, list(np.asarray(store.table()["id"])[videos])


def _write_clusters(path, ids, labels, features=None, ok=None):
    n = len(ids)
    block = EncoderBlock((0, 2), np.zeros(2), np.eye(2), np.ones(1), np.zeros((1, 2)), np.ones((1, 2)))
    encoder = Encoder(variant="seed", blocks=[block], sketch_buckets=None, sketch_signs=None, sketch_dim=0, seed=0)
    write_clusters(
        path,
        Clusters(
            video_ids=list(ids),
            ok=np.ones(n, bool) if ok is None else ok,
            labels=np.asarray(labels, np.int64),
            seeds=np.arange(len(labels)),
            centroids=np.zeros((len(labels), 2, 3), np.float32),
            features=np.zeros((n, 3), np.float32) if features is None else features,
            encoder=encoder,
        ),
    )


def _recipe():
    return pretraining.PretrainConfig(method="la", size=32, clip_len=4).resolved().recipe()


def test_clusters_are_matched_to_the_training_videos_by_id(synth_frames, tmp_path):
    store, videos, ids = _store_ids(synth_frames)
    everything = list(np.asarray(store.table()["id"]))  # train and test videos, in another order
    order = np.random.default_rng(0).permutation(len(everything))
    shuffled = [everything[i] for i in order]
    labels = np.stack([np.arange(len(shuffled)), np.arange(len(shuffled)) * 10])  # label = position in the file
    _write_clusters(tmp_path / "c.h5", shuffled, labels)
    method = _la(clusters=str(tmp_path / "c.h5"))
    method.bind(store, videos, _recipe(), 0)
    expected = np.array([shuffled.index(v) for v in ids])
    assert method.cluster_labels.tolist() == [expected.tolist(), (expected * 10).tolist()]
    assert method.prior and method.hparams()["num_clusterings"] == 2


def test_missing_ids_are_named(synth_frames, tmp_path):
    store, videos, ids = _store_ids(synth_frames)
    _write_clusters(tmp_path / "c.h5", ids[2:], np.zeros((3, len(ids) - 2)))
    method = _la(clusters=str(tmp_path / "c.h5"))
    with pytest.raises(VidkitError, match=f"2 training video.*{ids[0]}, {ids[1]}"):
        method.bind(store, videos, _recipe(), 0)


def test_tune_needs_the_clusters_store():
    with pytest.raises(UsageError, match="clusters="):
        _la(tune=True)


def test_kmeans_every_epoch_on_the_bank_joined_with_the_fisher_vectors(synth_frames, tmp_path, monkeypatch):
    from vidkit.idt import clustering

    store, videos, ids = _store_ids(synth_frames)
    features = np.random.default_rng(1).normal(size=(len(ids), 3)).astype(np.float32)
    _write_clusters(tmp_path / "c.h5", ids, np.zeros((1, len(ids))), features=features)
    method = _la(clusters=str(tmp_path / "c.h5"), tune=True, kmeans_k=2, num_kmeans=3)
    method.bind(store, videos, _recipe(), 0)
    seen = []
    real = clustering.kmeans
    monkeypatch.setattr(
        clustering, "kmeans", lambda x, k, c, **kw: seen.append((x, k, c, kw["seed"])) or real(x, k, c, **kw)
    )
    method.on_epoch_start(0)
    method.on_epoch_start(1)
    x, k, c, seed = seen[0]
    assert x.shape == (6, 128 + 3) and k == 2 and c == 3 and seed == 1234
    np.testing.assert_array_equal(x[:, 128:], features)
    np.testing.assert_array_equal(x[:, :128], method.bank.rows.numpy())
    assert seen[1][3] == 1234 + 3  # every epoch, other seeds
    labels = method.cluster_labels
    assert labels.shape == (3, 6) and set(labels.flatten().tolist()) <= {0, 1}


def test_the_prior_stays_fixed_and_plain_la_clusters_every_epoch(synth_frames, tmp_path, monkeypatch):
    from vidkit.idt import clustering

    calls = []
    real = clustering.kmeans
    monkeypatch.setattr(clustering, "kmeans", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    config = pretraining.PretrainConfig(
        method="la", backbone="tiny", steps=6, batch_size=3, size=32, clip_len=4, workers=0, seed=2
    )
    pretraining.pretrain(synth_frames, tmp_path / "plain.pt", config)
    assert len(calls) == 3  # 6 videos, batch 3: three epochs, one refresh before each

    store, videos, ids = _store_ids(synth_frames)
    _write_clusters(tmp_path / "c.h5", ids, [[0, 0, 1, 1, 2, 2]])
    calls.clear()
    config.method_options = {"clusters": str(tmp_path / "c.h5")}
    pretraining.pretrain(synth_frames, tmp_path / "prior.pt", config)
    assert calls == []
    saved = ckpt.load(tmp_path / "prior.pt")
    assert saved.method_state["cluster_labels"].tolist() == [[0, 0, 1, 1, 2, 2]]


class Killed(Exception):
    pass


def _kill_at(step):
    def progress(done, total, loss, rate):
        if done == step:
            raise Killed

    return progress


@pytest.mark.parametrize("tune", [False, True])
def test_resume_is_exact_with_the_bank_and_the_clusters(synth_frames, tmp_path, tune):
    store, videos, ids = _store_ids(synth_frames)
    features = np.random.default_rng(3).normal(size=(len(ids), 3)).astype(np.float32)
    _write_clusters(tmp_path / "c.h5", ids, [[0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 2, 0]], features=features)
    options = {"clusters": str(tmp_path / "c.h5"), "tune": tune, "kmeans_k": 3}

    def run(out, resume=False, progress=None):
        config = pretraining.PretrainConfig(
            method="la", backbone="tiny", steps=5, batch_size=3, size=32, clip_len=4, workers=0, seed=4,
            checkpoint_every=3, log_every=1, method_options=options,
        )  # fmt: skip
        return pretraining.pretrain(synth_frames, out, config, resume=resume, progress=progress)

    straight = run(tmp_path / "a.pt")
    with pytest.raises(Killed):
        run(tmp_path / "b.pt", progress=_kill_at(4))  # killed mid-epoch, after the step-3 checkpoint
    resumed = run(tmp_path / "b.pt", resume=True)
    assert resumed.losses == straight.losses[3:]
    a, b = ckpt.load(tmp_path / "a.pt"), ckpt.load(tmp_path / "b.pt")
    for key in ("bank.rows", "cluster_labels"):
        torch.testing.assert_close(b.method_state[key], a.method_state[key], rtol=0, atol=0)
    assert b.training["monitor"] == a.training["monitor"]


def test_three_stages_chain_from_the_cli(runner, synth_frames, tmp_path):
    """IR -> LA with the IDT prior (--clusters) -> the tune stage, each with --init of the last."""
    from vidkit.cli.app import app

    _, _, ids = _store_ids(synth_frames)
    _write_clusters(tmp_path / "c.h5", ids, [[0, 0, 1, 1, 2, 2]], features=np.eye(6, 3, dtype=np.float32))
    common = ["--backbone", "tiny", "--steps", "2", "--batch-size", "3", "--size", "32", "--clip-len", "4"]
    common += ["--workers", "0", "--json"]
    ir = runner.invoke(app, ["pretrain", "--method", "ir", str(synth_frames), "-o", str(tmp_path / "ir.pt"), *common])
    assert ir.exit_code == 0, ir.output
    la = runner.invoke(
        app,
        ["pretrain", "--method", "la", str(synth_frames), "-o", str(tmp_path / "la.pt"), *common]
        + ["--init", str(tmp_path / "ir.pt"), "--clusters", str(tmp_path / "c.h5")],
    )
    assert la.exit_code == 0, la.output
    tune = runner.invoke(
        app,
        ["pretrain", "--method", "la", str(synth_frames), "-o", str(tmp_path / "tune.pt"), *common]
        + ["--init", str(tmp_path / "la.pt"), "-O", f"clusters={tmp_path / 'c.h5'}", "-O", "tune=true"],
    )
    assert tune.exit_code == 0, tune.output
    assert ckpt.load(tmp_path / "tune.pt").hparams["tune"] is True
    bad = runner.invoke(
        app,
        ["pretrain", "--method", "la", str(synth_frames), "-o", str(tmp_path / "bad.pt"), *common, "-O", "tune=true"],
    )
    assert bad.exit_code == 2 and "clusters=" in bad.output
