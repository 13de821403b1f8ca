"""Checkpoint file I/O: atomic replace, safe loading, numbered backups."""
from __future__ import annotations

import os

import pytest
import torch

from faceswap_parts.errors import FaceswapError
from faceswap_parts.training import checkpoint as ckpt
from faceswap_parts.models import checkpoint as model_ckpt


def _state(value: float) -> dict:
    return {"model_config": {"resolution": 64}, "model": {"w": torch.full((3,), value)}, "iteration": int(value)}


def test_round_trip_uses_weights_only(tmp_path):
    path = tmp_path / "checkpoint.pt"
    ckpt.atomic_save(_state(1.0), path)
    loaded = model_ckpt.load_checkpoint(path)
    assert loaded["iteration"] == 1 and torch.equal(loaded["model"]["w"], torch.ones(3))
    # a pickled arbitrary object is refused by weights_only loading → clean error
    torch.save({"model_config": {}, "model": object()}, path)
    with pytest.raises(FaceswapError, match="cannot read checkpoint"):
        model_ckpt.load_checkpoint(path)


@pytest.mark.parametrize("fail_in", ["torch.save", "os.replace"])
def test_failure_during_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, fail_in):
    path = tmp_path / "checkpoint.pt"
    ckpt.atomic_save(_state(1.0), path)
    real_save = torch.save

    def partial_save(obj, f, *args, **kwargs):
        real_save(obj, f)
        f.seek(f.tell() // 2)
        f.truncate()  # half a file written, then the process "dies"
        raise KeyboardInterrupt

    def failing_replace(*args):
        raise KeyboardInterrupt

    if fail_in == "torch.save":
        monkeypatch.setattr(ckpt.torch, "save", partial_save)
    else:
        monkeypatch.setattr(ckpt.os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_save(_state(2.0), path)
    monkeypatch.undo()
    assert model_ckpt.load_checkpoint(path)["iteration"] == 1
    assert os.listdir(tmp_path) == ["checkpoint.pt"]  # no temp file left behind


def test_missing_and_corrupt_checkpoints_are_one_line_errors(tmp_path):
    with pytest.raises(FaceswapError, match="no checkpoint at"):
        model_ckpt.load_checkpoint(tmp_path / "checkpoint.pt")
    (tmp_path / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(FaceswapError) as err:
        model_ckpt.load_checkpoint(tmp_path / "checkpoint.pt")
    assert "\n" not in str(err.value)


def test_backups_keep_the_newest(tmp_path):
    path = tmp_path / "checkpoint.pt"
    for it in (100, 200, 300, 400, 500):
        ckpt.atomic_save(_state(float(it)), path)
        ckpt.write_backup(path, it, keep=3)
    names = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert names == ["checkpoint_000300.pt", "checkpoint_000400.pt", "checkpoint_000500.pt"]
    assert model_ckpt.load_checkpoint(tmp_path / "backups" / "checkpoint_000300.pt")["iteration"] == 300
    # the backup is an independent file: a later save does not change it
    ckpt.atomic_save(_state(600.0), path)
    assert model_ckpt.load_checkpoint(tmp_path / "backups" / "checkpoint_000500.pt")["iteration"] == 500


def test_a_checkpoint_of_a_newer_format_is_refused(tmp_path, model):
    import torch

    from faceswap_parts.errors import FaceswapError
    from faceswap_parts.models.checkpoint import FORMAT_VERSION, load_checkpoint

    path = tmp_path / "checkpoint.pt"
    torch.save({"format": FORMAT_VERSION + 1, "model_config": model.config.to_dict(), "model": {}}, path)
    with pytest.raises(FaceswapError, match=f"checkpoint format {FORMAT_VERSION + 1}, newer than this faceswap-parts "
                                            f"reads \\({FORMAT_VERSION}\\)"):
        load_checkpoint(path)
