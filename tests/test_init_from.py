"""`train --pretrain` (one pool, both decoders see every face) and `train --init-from`
(a new pair starting from another model's weights), through the real CLI on real faces."""
from __future__ import annotations

import pytest
import torch

from faceswap_parts.cli import main
from faceswap_parts.models.checkpoint import load_checkpoint

FAST = ["--batch-size", "2", "--device", "cpu", "--precision", "fp32", "--no-perceptual", "--preview-interval", "0",
        "--workers", "1", "--no-progress"]


def train(capsys, *args):
    code = main(["train", *map(str, args), *FAST])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, real_facesets):
    workdir = tmp_path_factory.mktemp("pretrain") / "pool"
    assert main(["train", "--pretrain", str(real_facesets[0]), str(real_facesets[1]), "--workdir", str(workdir),
                 "--iterations", "3", "--capacity", "quick", *FAST]) == 0
    return workdir


def test_pretraining_pools_every_folder_for_both_decoders(pretrained, real_facesets, capsys):
    state = load_checkpoint(pretrained / "checkpoint.pt")
    assert state["iteration"] == 3 and state["model_config"]["capacity"] == "quick"
    assert state["train_config"]["pretrain_dirs"] == [str(d) for d in real_facesets]
    from faceswap_parts.config import TrainConfig
    from faceswap_parts.training import Trainer

    trainer = Trainer(TrainConfig.from_dict({**state["train_config"], "workdir": str(pretrained)}))
    assert trainer.faces["A"] is trainer.faces["B"] and len(trainer.faces["A"]) == 24  # 12 faces of each folder
    assert trainer.faces["A"].summary().startswith("pool of 2 face folders: 24 faces")
    # a pool has no pair: --a/--b and parts augmentation are refused
    code = main(["train", "--pretrain", str(real_facesets[0]), "--a", str(real_facesets[0]), "--workdir",
                 str(pretrained.parent / "x"), "--iterations", "1", *FAST])
    assert code == 1 and "leave out --a and --b" in capsys.readouterr().err


def test_init_from_copies_every_network_and_starts_the_count_afresh(pretrained, real_facesets, tmp_path, capsys):
    source = load_checkpoint(pretrained / "checkpoint.pt")
    workdir = tmp_path / "pair"
    # iteration 0 keeps exactly the source's weights (nothing trained yet); check it through the API
    from faceswap_parts.config import TrainConfig
    from faceswap_parts.training import Trainer

    fresh = Trainer(TrainConfig(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(workdir),
                                init_from=str(pretrained), device="cpu", perceptual=False, progress=False))
    assert fresh.config.model.capacity == "quick"  # the source's architecture
    for name, tensor in fresh.model.state_dict().items():
        assert torch.equal(tensor, source["model"][name]), name
    assert fresh.iteration == 0 and not fresh.opt_g.state  # fresh optimisers
    code, out, _ = train(capsys, "--a", real_facesets[0], "--b", real_facesets[1], "--workdir", workdir,
                         "--iterations", 2, "--init-from", pretrained)
    assert code == 0 and f"starting from {(pretrained / 'checkpoint.pt').resolve()} (iteration 3; all" in out
    state = load_checkpoint(workdir / "checkpoint.pt")
    assert state["iteration"] == 2 and state["model_config"]["capacity"] == "quick"
    assert state["init_source"] == {"path": str((pretrained / "checkpoint.pt").resolve()), "iteration": 3,
                                    "parts": "all", "digest": source["digest"]}
    # the same command again resumes it; another --init-from on a started workdir is refused
    code, out, _ = train(capsys, "--workdir", workdir, "--iterations", 3, "--init-from", pretrained)
    assert code == 0 and "resuming" in out and load_checkpoint(workdir / "checkpoint.pt")["iteration"] == 3
    code, _, err = train(capsys, "--workdir", workdir, "--iterations", 4, "--init-from", tmp_path)
    assert code == 1 and "already holds a checkpoint" in err and len(err.strip().splitlines()) == 1


def test_init_parts_encoder_copies_only_the_encoder(pretrained, real_facesets, tmp_path):
    from faceswap_parts.config import TrainConfig
    from faceswap_parts.training import Trainer

    source = load_checkpoint(pretrained / "checkpoint.pt")["model"]
    trainer = Trainer(TrainConfig(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(tmp_path / "w"),
                                  init_from=str(pretrained / "checkpoint.pt"), init_parts="encoder", device="cpu",
                                  perceptual=False, progress=False))
    own = trainer.model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in source.items() if k.startswith("encoder."))
    changed = [k for k, v in source.items() if k.startswith("decoders.") and v.dtype.is_floating_point
               and v.numel() > 1 and not torch.equal(own[k], v)]
    assert changed  # decoders from this run's own seed, not copied
    assert trainer.init_source["parts"] == "encoder"


def test_mismatched_or_missing_sources_are_one_line_errors(pretrained, real_facesets, tmp_path, capsys):
    pair = ["--a", real_facesets[0], "--b", real_facesets[1], "--iterations", 1]
    code, _, err = train(capsys, *pair, "--workdir", tmp_path / "a", "--init-from", pretrained, "--capacity", "lite")
    assert code == 1 and "another architecture: capacity='lite' (it has 'quick')" in err
    code, _, err = train(capsys, *pair, "--workdir", tmp_path / "b", "--init-from", tmp_path / "nothing")
    assert code == 1 and "no checkpoint there" in err
    code, _, err = train(capsys, *pair, "--workdir", tmp_path / "c", "--init-from", pretrained, "--init-parts", "eyes")
    assert code == 1 and "--init-parts must be one of all, encoder" in err
    assert not (tmp_path / "a").exists() or not (tmp_path / "a" / "checkpoint.pt").exists()
