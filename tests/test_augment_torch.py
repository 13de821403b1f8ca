"""The batched tensor augmentation (for CUDA training) against the OpenCV
path: same draws, same pixels; same statistics over many batches; and a
trainer that augments on its device trains like one that augments on the CPU,
with one host sync per iteration."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap_parts.config import ModelConfig, TrainConfig
from faceswap_parts.facesets import load_faceset
from faceswap_parts.training.data import BatchSource
from faceswap_parts.training.data.augment_torch import augment_batch
from faceswap_parts.training import Trainer
from faceswap_parts.training import trainer as trainer_module

SMALL = ModelConfig(resolution=64, capacity="lite", self_attention=False)


@pytest.fixture(scope="module")
def sources(real_facesets):
    faces = [load_faceset(folder) for folder in real_facesets]

    def make(resolution=64, **overrides):
        config = TrainConfig(model=ModelConfig(resolution=resolution), batch_size=8, **overrides)
        return BatchSource(faces[0], config, 0, faces)
    return make


@pytest.mark.parametrize("resolution", [64, 128])
def test_same_draws_give_the_same_pixels(sources, resolution):
    # Colour matching and motion blur on every sample, so every op is compared.
    source = sources(resolution, color_match_prob=1.0, motion_blur_prob=1.0)
    for k in range(3):
        cpu, dev = source.batch(k), augment_batch(source.raw_batch(k), resolution)
        for name in ("warped", "target"):
            diff = np.abs(getattr(cpu, name) - getattr(dev, name).numpy()) * 127.5  # grey levels
            assert diff.mean() < 0.05 and diff.max() < 1.0, (name, diff.mean(), diff.max())
        assert np.abs(cpu.eyes - dev.eyes.numpy()).max() * 255 < 1.0
        assert dev.warped.shape == (8, 3, resolution, resolution) and dev.eyes.shape == (8, 1, resolution, resolution)


def test_one_pixel_off_would_be_seen(sources):
    """The tolerance above is tight enough to catch a sub-pixel mistake."""
    source = sources()
    raw = source.raw_batch(1)
    raw.transform_inv[:, 0, 2] += 0.5
    diff = np.abs(source.batch(1).warped - augment_batch(raw, 64).warped.numpy()) * 127.5
    assert diff.mean() > 0.5


def test_statistics_over_many_batches_agree(sources):
    source = sources()
    stats = {"cpu": [], "device": []}
    for k in range(16):
        cpu, dev = source.batch(k), augment_batch(source.raw_batch(k), 64)
        for key, batch in (("cpu", cpu), ("device", dev)):
            w, t = (np.asarray(x) for x in (batch.warped, batch.target))
            stats[key].append([*w.mean(axis=(0, 2, 3)), *w.std(axis=(0, 2, 3)), *t.mean(axis=(0, 2, 3)),
                               np.abs(np.diff(w, axis=-1)).mean(), np.asarray(batch.eyes).mean()])
    cpu, dev = np.mean(stats["cpu"], axis=0), np.mean(stats["device"], axis=0)
    assert np.allclose(cpu, dev, atol=2e-3), (cpu, dev)


def test_shards_make_up_the_global_batch(sources, real_facesets):
    faces = [load_faceset(folder) for folder in real_facesets]
    config = TrainConfig(model=ModelConfig(resolution=64), batch_size=8)
    whole = BatchSource(faces[0], config, 0, faces).batch(5)
    parts = [BatchSource(faces[0], config, 0, faces, shard=(r, 2)).batch(5) for r in range(2)]
    assert np.array_equal(np.concatenate([p.warped for p in parts]), whole.warped)
    with pytest.raises(ValueError, match="cannot split batches of 8 over 3"):
        BatchSource(faces[0], config, 0, faces, shard=(0, 3))


def _config(facesets, workdir, **overrides):
    settings = dict(a_dir=str(facesets[0]), b_dir=str(facesets[1]), workdir=str(workdir), model=SMALL,
                    batch_size=2, device="cpu", precision="fp32", perceptual=False, preview_interval=0,
                    save_interval=0, backup_interval=0, progress=False, workers=1)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_trainer_augmenting_on_its_device_matches_the_cpu_path(real_facesets, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bitwise-repeatable arithmetic, so only the augmentation differs
    try:
        results = {}
        for where in ("cpu", "device"):
            trainer = Trainer(_config(real_facesets, tmp_path / where, augment=where))
            assert trainer.augment_on_device == (where == "device")
            results[where] = trainer.train(3).losses
    finally:
        torch.set_num_threads(threads)
    for name, value in results["cpu"].items():
        assert np.isfinite(value)
        assert results["device"][name] == pytest.approx(value, rel=1e-2, abs=1e-4), name


def test_auto_augments_on_cuda_only(real_facesets, tmp_path):
    assert Trainer(_config(real_facesets, tmp_path / "w")).augment_on_device is False  # auto on a CPU
    with pytest.raises(Exception, match="augment must be one of"):
        _config(real_facesets, tmp_path / "x", augment="gpu")


def test_one_host_sync_per_iteration(real_facesets, tmp_path, monkeypatch):
    """Reading a tensor's value on the host is what synchronises with a GPU:
    count those reads in the trainer's step (a CUDA run checks the same with
    torch's sync debug mode in benchmarks/gpu_check.py)."""
    trainer = Trainer(_config(real_facesets, tmp_path / "w", augment="device"))
    reads = []
    for name in ("item", "tolist", "__bool__", "__float__", "__int__", "numpy", "cpu", "nonzero"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            import inspect

            stack = inspect.stack()
            caller = stack[1].function
            # The mixup coefficient is drawn on the host (torch.distributions checks its own arguments):
            # not a read of device data.
            if not any(frame.function == "sample_mixup_lambda" for frame in stack[1:6]):
                reads.append((_name, caller))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    streams = {k: s.iterate(0, raw=True) for k, s in trainer.sources.items()}
    batches = {k: next(s) for k, s in streams.items()}
    _, phase = trainer._apply_phase(10)
    reads.clear()
    trainer.step(batches, phase)
    assert reads == [("tolist", "_finite")], reads
    for stream in streams.values():
        stream.close()
    assert trainer_module  # the module under test
