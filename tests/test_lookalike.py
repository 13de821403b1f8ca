"""Look-alike parts augmentation on real faces: the kNN picks the other
identity's faces with closer pose than a random pick, the swapped part lands
on the part with no hard edge, training runs with it (preview sheet, cached
index), and its options' bad values are one-line errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import write_faceset
from faceswap_parts.cli import main
from faceswap_parts.config import ModelConfig, TrainConfig
from faceswap_parts.facesets import load_faceset
from faceswap_parts.training.data import lookalike
from faceswap_parts.evaluation.metrics import head_pose, seam_score
from faceswap_parts.faces.masks import parts_mask


@pytest.fixture(scope="module")
def pose_sets(tmp_path_factory, shared_data):
    """30 faces of each person spread over their 40 s and 56 s training clips (varied poses)."""
    root = tmp_path_factory.mktemp("lookalike")
    for name, video in (("a", "person_a_train.mp4"), ("b", "person_b_train.mp4")):
        write_faceset(shared_data / "videos" / video, root / name, every=36, limit=30)
    return {"A": load_faceset(root / "a"), "B": load_faceset(root / "b")}


@pytest.fixture(scope="module")
def indexes(pose_sets):
    return {k: lookalike.build_index(fs) for k, fs in pose_sets.items()}


def test_nearest_look_alikes_have_closer_pose_and_expression_than_a_random_pick(indexes):
    ab, ba = lookalike.nearest(indexes["A"], indexes["B"], k=3)
    assert ab.shape == (30, 3) and ba.shape == (30, 3)
    pose_a, pose_b = (head_pose(indexes[k].landmarks)[:, :2] for k in "AB")  # yaw and pitch
    nearest = np.abs(pose_a - pose_b[ab[:, 0]]).sum(1).mean()
    random = np.abs(pose_a[:, None] - pose_b[None]).sum(2).mean()  # the mean over every possible pick
    # Measured 0.80 of random here (the best possible pick: 0.52; these 30 faces vary little in pose).
    assert nearest < 0.85 * random, (nearest, random)
    expr_a, expr_b = indexes["A"].expression, indexes["B"].expression  # eye and mouth opening
    nearest = np.abs(expr_a - expr_b[ab[:, 0]]).mean(0)
    random = np.abs(expr_a[:, None] - expr_b[None]).mean((0, 1))
    assert np.all(nearest < 0.8 * random), (nearest, random)  # measured 0.62 and 0.69


def test_swapped_part_lands_on_the_part_without_a_hard_edge(pose_sets, indexes):
    a, b = pose_sets["A"], pose_sets["B"]
    ab, _ = lookalike.nearest(indexes["A"], indexes["B"], k=1)
    for i in (0, 10, 20):
        face, lm = a.images[i], indexes["A"].landmarks[i]
        donor, donor_lm = b.images[ab[i, 0]], indexes["B"].landmarks[ab[i, 0]]
        result, mask = lookalike.swap_parts(face, lm, donor, donor_lm, ("mouth",))
        assert np.array_equal(result[mask == 0], face[mask == 0])  # nothing changes outside the part
        hull = parts_mask(lm, face.shape[:2], ("mouth",), binary=True) > 0
        assert (mask > 0.5)[hull].mean() > 0.95  # the mask covers the mouth's landmarks
        # The content inside is the donor's mouth, moved onto this one: closer to it than to the original.
        idx = lookalike.PART_POINTS["mouth"]
        from faceswap_parts.faces.alignment import similarity_matrix

        moved = cv2.warpAffine(donor, similarity_matrix(donor_lm[idx].astype(float), lm[idx].astype(float)),
                               face.shape[1::-1])
        core = mask > 0.9

        def edges(im):
            return cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)[core]

        assert np.corrcoef(edges(result), edges(moved))[0, 1] > np.corrcoef(edges(result), edges(face))[0, 1]
        # And its edge is far smoother than the same part pasted with a hard edge.
        hard = np.where(hull[..., None], moved, face)
        assert seam_score(face, result) < 0.6 * seam_score(face, hard)


def test_training_with_the_augmentation(pose_sets, tmp_path):
    from faceswap_parts.training import Trainer

    folders = {k: fs.folder for k, fs in pose_sets.items()}
    config = TrainConfig(a_dir=str(folders["A"]), b_dir=str(folders["B"]), workdir=str(tmp_path / "w"),
                         model=ModelConfig(resolution=64, capacity="lite", self_attention=False), batch_size=4,
                         device="cpu", precision="fp32", perceptual=False, preview_interval=0, save_interval=0,
                         progress=False, workers=1, parts_augment="eyes,mouth", parts_prob=1.0, parts_knn=2)
    trainer = Trainer(config)
    draws = trainer.sources["A"].draws(0)
    assert all(d.lookalike in (0, 1) for d in draws)  # every sample augmented at p = 1
    raw = trainer.sources["A"].raw_batch(0)  # the GPU path uploads the augmented faces too
    swapper = trainer.sources["A"].lookalike
    assert all(np.array_equal(raw.images[i].numpy(), swapper.image(d.index, d.lookalike)) for i, d in enumerate(draws))
    result = trainer.train(2)
    assert all(np.isfinite(v) for v in result.losses.values())
    preview = cv2.imread(str(tmp_path / "w" / "lookalike_preview.png"))
    assert preview is not None and preview.shape[0] > 8 * 128  # 8 rows: source, look-alike, parts, result x 2
    cache = lookalike.index_path(pose_sets["A"])
    stamp = cache.stat().st_mtime_ns
    Trainer(config)  # the index is read back, not computed again ...
    assert cache.stat().st_mtime_ns == stamp
    cv2.imwrite(str(folders["A"] / "zz_extra.png"), cv2.imread(str(sorted(folders["A"].glob("*.png"))[0])))
    Trainer(config)  # ... until the face set changes
    assert cache.stat().st_mtime_ns != stamp
    with np.load(cache) as data:
        assert len(data["landmarks"]) == 31


def test_off_means_the_same_batches_as_before(pose_sets):
    from faceswap_parts.training.data import BatchSource

    config = TrainConfig(model=ModelConfig(resolution=64), batch_size=4)
    plain = BatchSource(pose_sets["A"], config, 0, list(pose_sets.values())).batch(2)
    with_swapper = BatchSource(pose_sets["A"], TrainConfig(model=ModelConfig(resolution=64), batch_size=4,
                                                           parts_prob=0.0), 0, list(pose_sets.values()))
    with_swapper.lookalike = object()  # present but p = 0: no draw is made, nothing changes
    assert np.array_equal(with_swapper.batch(2).warped, plain.warped)


@pytest.mark.parametrize("args, words", [
    (["--parts-augment", "ears"], "--parts-augment: unknown part 'ears'"),
    (["--parts-augment", "eyes", "--parts-prob", "2"], "--parts-prob must be within [0, 1]"),
    (["--parts-augment", "eyes", "--parts-knn", "0"], "--parts-knn must be >= 1"),
])
def test_bad_values_are_one_line_errors(real_facesets, tmp_path, capsys, args, words):
    code = main(["train", "--a", str(real_facesets[0]), "--b", str(real_facesets[1]), "--workdir",
                 str(tmp_path / "w"), "--iterations", "1", "--device", "cpu", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and words in err[0], err


def test_mouth_masks_weight_their_own_losses(real_facesets, tmp_path):
    """Face sets with mouth masks (`masks --parts mouth`) get a masked mouth
    term under w_mouth, on both augmentation paths; without w_mouth nothing changes."""
    import shutil

    from faceswap_parts.training.data import BatchSource
    from faceswap_parts.training.data.augment_torch import augment_batch
    from faceswap_parts.training import Trainer

    folders = []
    for src in real_facesets:
        dst = tmp_path / src.name
        shutil.copytree(src, dst)
        (dst / "binary_masks_mouth").mkdir()
        for face in sorted((dst / "aligned_faces").glob("*.png")):
            mask = np.zeros((256, 256), np.uint8)
            mask[180:215, 100:156] = 255  # where the crops' mouths are
            cv2.imwrite(str(dst / "binary_masks_mouth" / face.name), mask)
        folders.append(dst)
    faces = load_faceset(folders[0])
    assert set(faces.part_masks) == {"mouth"} and "mouth masks" in faces.summary()
    # the default weight of 0 leaves them unused, and the line says so (the train command prints it)
    assert "mouth masks found (unused: w_mouth=0)" in faces.summary({"mouth": 0.0, "nose": 0.0})
    assert "unused" not in faces.summary({"mouth": 10.0})
    off = BatchSource(faces, TrainConfig(model=ModelConfig(resolution=64), batch_size=4), 0)
    on = BatchSource(faces, TrainConfig(model=ModelConfig(resolution=64), batch_size=4, w_mouth=10.0), 0)
    assert off.loss_parts == () and on.loss_parts == ("mouth",)
    batch = on.batch(1)
    assert batch.parts.shape == (4, 1, 64, 64) and np.array_equal(batch.warped, off.batch(1).warped)
    rows = batch.parts[:, 0].mean(axis=(0, 2))
    assert rows[40:56].mean() > 5 * rows[:30].mean()  # the mask stays in the lower face through the warp
    assert np.abs(augment_batch(on.raw_batch(1), 64).parts.numpy() - batch.parts).max() < 0.02

    config = TrainConfig(a_dir=str(folders[0]), b_dir=str(folders[1]), workdir=str(tmp_path / "w"), batch_size=2,
                         model=ModelConfig(resolution=64, capacity="lite", self_attention=False), device="cpu",
                         precision="fp32", perceptual=False, preview_interval=0, save_interval=0, progress=False,
                         workers=0, w_mouth=10.0)
    losses = Trainer(config).train(1).losses
    assert np.isfinite(losses["mouth_A"]) and losses["mouth_A"] > 0 and np.isfinite(losses["mouth_B"])
