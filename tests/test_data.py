"""Face-set reading and the augmented batch source."""
from __future__ import annotations

import numpy as np
import pytest

from faceswap_parts.config import ModelConfig, TrainConfig
from faceswap_parts.faces.alignment import center_crop
from faceswap_parts.facesets import load_faceset
from faceswap_parts.training.data import BatchSource
from faceswap_parts.training.data import augment
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.images import write_image


def test_extract_layout_reads_faces_and_eye_masks(real_facesets):
    faces = load_faceset(real_facesets[0])
    assert len(faces) == 12 and faces.has_eye_masks
    assert faces.images.shape == (12, 256, 256, 3) and faces.images.dtype == np.uint8
    assert faces.eye_masks.shape == (12, 256, 256) and faces.eye_masks.max() == 255
    # the aligned_faces folder itself finds its sibling masks too
    assert load_faceset(real_facesets[0] / "aligned_faces").has_eye_masks


def test_plain_folder_odd_sizes_and_junk(tmp_path, astronaut):
    write_image(tmp_path / "wide.png", astronaut[:300])  # non-square: centre-cropped
    write_image(tmp_path / "big.jpg", astronaut)
    write_image(tmp_path / "tiny.png", astronaut[:40, :40])  # under MIN_SIDE: skipped
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    faces = load_faceset(tmp_path)
    assert len(faces) == 2 and not faces.has_eye_masks
    assert faces.images.shape[1:] == (256, 256, 3)
    assert faces.skipped == {"non-image files": 1, "unreadable images": 1, "images under 64 px": 1}
    assert "skipped 1 non-image files, 1 unreadable images, 1 images under 64 px" in faces.summary()


@pytest.mark.parametrize("case", ["missing", "empty", "junk_only", "file"])
def test_unusable_folders_are_refused(tmp_path, case):
    folder = tmp_path / "faces"
    if case == "empty":
        folder.mkdir()
    elif case == "junk_only":
        folder.mkdir()
        (folder / "a.txt").write_text("x")
        (folder / "b.jpg").write_text("not a jpeg")
    elif case == "file":
        folder.write_text("x")
    with pytest.raises(FaceswapError) as err:
        load_faceset(folder, "A")
    assert "\n" not in str(err.value) and str(folder) in str(err.value)


def test_random_warp_target_is_the_aligned_face():
    """Without jitter the similarity target equals the plain central crop."""
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (256, 256, 3)).astype(np.float32)
    image = np.asarray(__import__("cv2").GaussianBlur(image, (0, 0), 4))

    class NoJitter:
        def uniform(self, low, high, size=None):
            return low

        def normal(self, scale, size):
            return np.zeros(size)

    warped, target = augment.random_warp(image, NoJitter(), 64, 0.625)
    crop = center_crop(image[None], 64, 0.625)[0]
    assert warped.shape == target.shape == (64, 64, 3)
    assert np.abs(target - crop).mean() < 3.0
    assert np.abs(warped - target).mean() < 3.0


def test_batches_are_deterministic_and_in_range(real_facesets):
    faces = load_faceset(real_facesets[0])
    config = TrainConfig(model=ModelConfig(resolution=64), batch_size=4, workers=2)
    source = BatchSource(faces, config, identity=0)
    first = source.batch(3)
    assert first.warped.shape == first.target.shape == (4, 3, 64, 64)
    assert first.eyes.shape == (4, 1, 64, 64) and 0 <= first.eyes.min() and first.eyes.max() <= 1
    assert first.eyes.max() > 0.5  # the eye band survives the warp
    assert -1 <= first.warped.min() and first.warped.max() <= 1
    assert not np.array_equal(first.warped, first.target)
    threaded = source.iterate(start=2)
    next(threaded)
    again = next(threaded)
    threaded.close()
    np.testing.assert_array_equal(again.warped, first.warped)
    # every face is used once per epoch
    seen = np.concatenate([source.indices(k) for k in range(3)])
    assert sorted(seen) == list(range(12))
