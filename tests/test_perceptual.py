"""Perceptual feature extractor: architecture, freezing, verified weight loading."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from faceswap_parts.training import perceptual
from faceswap_parts.io.download import cache_dir, sha256sum
from faceswap_parts.errors import FaceswapError
from faceswap_parts.training.losses import perceptual_loss
from faceswap_parts.training.perceptual import (FaceFeatures, InceptionResnetV1, fetch_verified, freeze,
                                       load_default_extractor)


class TinyExtractor(nn.Module):
    """Two conv stages; stands in for a face-recognition network."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.stage2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)

    def forward(self, x):
        a = torch.relu(self.stage1(x))
        return [a, torch.relu(self.stage2(a))]


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv(perceptual.WEIGHTS_ENV, raising=False)
    return home


@pytest.fixture(scope="module")
def fake_vggface2(tmp_path_factory):
    """A randomly initialised state dict laid out exactly like the published file."""
    torch.manual_seed(0)
    net = InceptionResnetV1()
    path = tmp_path_factory.mktemp("weights") / perceptual.VGGFACE2_FILENAME
    torch.save(net.state_dict(), path)
    return path, net


def test_inception_resnet_v1_matches_published_layout():
    net = InceptionResnetV1()
    state = net.state_dict()
    # facenet-pytorch's vggface2 InceptionResnetV1 (with its 8631-way logits layer)
    assert sum(p.numel() for p in net.parameters()) == 27_910_327
    assert len(state) == 716
    assert state["repeat_2.9.branch1.2.conv.weight"].shape == (128, 128, 7, 1)
    assert state["mixed_7a.branch2.2.bn.running_var"].shape == (256,)
    assert state["logits.weight"].shape == (8631, 512)
    net.eval()
    with torch.no_grad():
        emb = net(torch.zeros(2, 3, 160, 160))
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))


def test_face_features_are_frozen_and_pass_gradients_to_images():
    extractor = FaceFeatures(InceptionResnetV1(num_classes=None), stages=("conv2d_2b", "repeat_1"), input_size=96)
    extractor.train()
    assert not extractor.training and not extractor.net.training
    assert all(not p.requires_grad for p in extractor.parameters())
    images = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_()
    feats = extractor(images)
    assert [f.shape[:2] for f in feats] == [(2, 64), (2, 256)]
    sum(f.mean() for f in feats).backward()
    assert images.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="unknown stages"):
        FaceFeatures(InceptionResnetV1(num_classes=None), stages=("fc7",))


def test_pluggable_extractor_drives_perceptual_loss():
    torch.manual_seed(0)
    extractor = freeze(TinyExtractor())
    real = torch.rand(2, 3, 16, 16) * 2 - 1
    fake = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_()
    assert perceptual_loss(extractor(real), extractor(real), [1.0, 1.0]).item() == 0
    loss = perceptual_loss(extractor(fake), extractor(real), [1.0, 0.5])
    loss.backward()
    assert loss.item() > 0 and fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


def _tiny_weights(tmp_path):
    torch.manual_seed(1)
    source = TinyExtractor()
    path = tmp_path / "tiny.pt"
    torch.save(source.state_dict(), path)
    return source, path


def test_download_checks_checksum_and_uses_torch_home(tmp_path, torch_home):
    source, path = _tiny_weights(tmp_path)
    loaded = fetch_verified(TinyExtractor(), path.as_uri(), "tiny.pt", sha256sum(path), "fix it")
    assert cache_dir() == torch_home / "faceswap_parts" and (torch_home / "faceswap_parts" / "tiny.pt").is_file()
    for k, v in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


def test_download_with_wrong_checksum_is_rejected(tmp_path, torch_home):
    _, path = _tiny_weights(tmp_path)
    with pytest.raises(FaceswapError, match="checksum mismatch.*fix it"):
        fetch_verified(TinyExtractor(), path.as_uri(), "tiny.pt", "0" * 64, "fix it")
    assert not (torch_home / "faceswap_parts" / "tiny.pt").exists()


def test_weights_of_another_network_are_rejected(tmp_path, torch_home):
    _, path = _tiny_weights(tmp_path)
    with pytest.raises(FaceswapError, match="does not match the expected network"):
        fetch_verified(nn.Conv2d(3, 4, 3), path.as_uri(), "tiny.pt", sha256sum(path), "fix it")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(FaceswapError, match="not a readable torch weights file"):
        perceptual.load_verified_state_dict(TinyExtractor(), garbage)


def test_default_extractor_without_network_names_the_fix(tmp_path, torch_home, monkeypatch):
    monkeypatch.setattr(perceptual, "VGGFACE2_URLS", ((tmp_path / "offline" / "missing.pt").as_uri(),))
    with pytest.raises(FaceswapError) as err:
        load_default_extractor()
    message = str(err.value)
    assert "\n" not in message and "20180402-114759-vggface2.pt" in message and "perceptual" in message
    with pytest.raises(FaceswapError, match="not found"):
        load_default_extractor(weights_path=tmp_path / "nowhere.pt")


def test_default_extractor_download_and_local_file(fake_vggface2, torch_home, monkeypatch):
    path, net = fake_vggface2
    monkeypatch.setattr(perceptual, "VGGFACE2_URLS", (path.as_uri(),))
    monkeypatch.setattr(perceptual, "VGGFACE2_SHA256", sha256sum(path))
    extractor = load_default_extractor()
    assert (torch_home / "faceswap_parts" / perceptual.VGGFACE2_FILENAME).is_file()
    assert torch.equal(extractor.net.block8.conv2d.weight, net.block8.conv2d.weight)
    feats = extractor(torch.zeros(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [3, 8, 17, 77]  # deepest first, like v2.2's w_pl
    monkeypatch.setenv(perceptual.WEIGHTS_ENV, str(path))
    local = load_default_extractor()
    assert torch.equal(local.net.conv2d_1a.conv.weight, net.conv2d_1a.conv.weight)


def test_real_vggface2_weights_tell_faces_apart(grace_hopper, astronaut):
    """Runs only where the published weights are already cached."""
    if sha256sum_or_none(cache_dir() / perceptual.VGGFACE2_FILENAME) != perceptual.VGGFACE2_SHA256:
        pytest.skip("VGGFace2 weights not cached (no network here); load_default_extractor() fetches them")
    import cv2

    extractor = load_default_extractor()

    def embed(crop):
        x = torch.from_numpy(cv2.resize(crop, (160, 160))).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            return extractor.net(x * (127.5 / 128))[0]

    hopper, hopper_flipped = embed(grace_hopper[130:340, 170:380]), embed(np.ascontiguousarray(grace_hopper[130:340, 380:170:-1]))
    other = embed(astronaut[30:250, 150:370])
    assert (hopper @ hopper_flipped) > (hopper @ other) + 0.2


def sha256sum_or_none(path):
    return sha256sum(path) if path.is_file() else None
