"""Reads dlib's face recognition ResNet from dlib's own binary serialization, in numpy.

The file (dlib_face_recognition_resnet_model_v1.dat) is dlib's `serialize(net)` of the network
of dlib's examples/dnn_face_recognition_ex.cpp. dlib writes a network outside in: every wrapper
(a layer, a tag, a skip) writes its version first and then the network beneath it, and only
then its own parameters, so the file holds all versions, the input layer, then each layer's
parameters from the input outwards. Integers are a control byte (its low 4 bits: how many
little-endian bytes follow; bit 7: negative), floats a mantissa and exponent in that integer
code, strings a length and the bytes, tensors four sizes and raw little-endian float32 values.

`read_network` checks every layer against the architecture below and returns the layers with
their weights; dlib_onnx.py turns them into a graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DlibFormatError(ValueError):
    """The file is not the dlib network this module knows (corrupt, truncated or another net)."""


#: the 5-level ResNet of dnn_face_recognition_ex.cpp, from the input outwards: (filters, plain
#: residual blocks, whether the level starts with a downsampling block)
LEVELS: tuple[tuple[int, int, bool], ...] = (
    (32, 3, False),
    (64, 3, True),
    (128, 2, True),
    (256, 2, True),
    (256, 0, True),
)
#: dlib's input_rgb_image_sized defaults: the mean subtracted from each of R, G, B, then / 256
INPUT_MEAN = (122.782, 117.001, 104.298)
INPUT_SCALE = 1.0 / 256.0
CHIP = 150
DIM = 128


def architecture() -> list[tuple[str, int]]:
    """The network's wrappers from the input outwards: ("con", stride), ("bn", 0), ("relu", 0),
    ("max_pool", 0), ("avg_pool", 0), ("tag", n), ("skip", n), ("add_prev", n), ("gap", 0),
    ("fc", 0)."""
    ops: list[tuple[str, int]] = [("con", 2), ("bn", 0), ("relu", 0), ("max_pool", 0)]

    def block(stride: int) -> list[tuple[str, int]]:
        return [("con", stride), ("bn", 0), ("relu", 0), ("con", 1), ("bn", 0)]

    for _filters, plain, down in LEVELS:
        if down:  # relu<add_prev2<avg_pool<skip1<tag2<block<2, tag1<...>>>>>>>
            ops += [("tag", 1), *block(2), ("tag", 2), ("skip", 1), ("avg_pool", 0)]
            ops += [("add_prev", 2), ("relu", 0)]
        for _ in range(plain):  # relu<add_prev1<block<1, tag1<...>>>>
            ops += [("tag", 1), *block(1), ("add_prev", 1), ("relu", 0)]
    return [*ops, ("gap", 0), ("fc", 0)]


def conv_shapes() -> list[tuple[int, int]]:
    """(filters, kernel) of each convolution, from the input outwards."""
    shapes = [(32, 7)]
    for filters, plain, down in LEVELS:
        shapes += [(filters, 3)] * (2 * (plain + int(down)))
    return shapes


@dataclass
class Layer:
    """One layer's kind and what it holds: a convolution's weights (OIHW) and bias, a batch
    norm's per-channel scale and shift (already folded from its running statistics), a pooling
    window, a dense layer's (inputs, outputs) matrix."""

    kind: str
    arg: int = 0
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    stride: int = 1
    padding: int = 0
    window: int = 0


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DlibFormatError(f"the file ends early (byte {self.pos} of {len(self.data)})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int_(self) -> int:
        control = self._take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise DlibFormatError(f"bad integer control byte {control:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def bool_(self) -> bool:
        byte = self._take(1)
        if byte not in (b"0", b"1"):
            raise DlibFormatError(f"bad boolean {byte!r} at byte {self.pos - 1}")
        return byte == b"1"

    def str_(self) -> str:
        return self._take(self.int_()).decode("ascii", errors="replace")

    def float_(self) -> float:
        mantissa, exponent = self.int_(), self.int_()
        if exponent >= 32000:  # dlib's codes for inf, -inf, nan
            return {32000: float("inf"), 32001: float("-inf")}.get(exponent, float("nan"))
        return float(np.ldexp(float(mantissa), exponent))

    def tensor(self) -> np.ndarray:
        self.expect_version("tensor", (2,))
        shape = tuple(self.int_() for _ in range(4))
        if any(s < 0 for s in shape):
            raise DlibFormatError(f"negative tensor size {shape} at byte {self.pos}")
        count = int(np.prod(shape))
        return np.frombuffer(self._take(4 * count), dtype="<f4").reshape(shape).copy()

    def expect_version(self, what: str, allowed: tuple[int, ...]) -> int:
        version = self.int_()
        if version not in allowed:
            raise DlibFormatError(f"{what}: unexpected version {version} at byte {self.pos}")
        return version

    def expect_name(self, allowed: tuple[str, ...]) -> str:
        name = self.str_()
        if name not in allowed:
            raise DlibFormatError(f"expected {' or '.join(allowed)}, found {name[:40]!r}")
        return name


def _read_con(r: _Reader, stride: int, shape: tuple[int, int]) -> Layer:
    version = r.expect_name(("con_4", "con_5", "con_6"))
    params = r.tensor().ravel()
    filters, nr, nc = r.int_(), r.int_(), r.int_()
    stride_y, stride_x, pad_y, pad_x = r.int_(), r.int_(), r.int_(), r.int_()
    shape_f, shape_b = _alias_shape(r), _alias_shape(r)
    for _ in range(4):  # learning rate and weight decay multipliers
        r.float_()
    use_bias = r.bool_() if version in ("con_5", "con_6") else True
    if version == "con_6":
        r.bool_()  # use_relu: fused only during training
    if (filters, nr) != shape or nr != nc or (stride_y, stride_x) != (stride, stride):
        raise DlibFormatError(f"convolution {filters}x{nr}x{nc}/{stride_y} is not the expected")
    if pad_y != pad_x:
        raise DlibFormatError("convolution with unequal padding")
    n_w = int(np.prod(shape_f))
    weights = params[:n_w].reshape(shape_f)
    bias = params[n_w : n_w + filters] if use_bias and np.prod(shape_b) else np.zeros(filters)
    return Layer("con", weights=weights, bias=np.asarray(bias), stride=stride, padding=pad_y)


def _alias_shape(r: _Reader) -> tuple[int, int, int, int]:
    """An alias_tensor: only its shape."""
    r.expect_version("alias_tensor", (1,))
    n, k, nr, nc = (r.int_() for _ in range(4))
    return n, k, nr, nc


def _read_bn(r: _Reader) -> Layer:
    name = r.expect_name(("bn_con2", "affine_", "affine_2"))
    params = r.tensor().ravel()
    _alias_shape(r)
    _alias_shape(r)  # gamma, beta: the two halves of params
    half = params.size // 2
    gamma, beta = params[:half].astype(np.float64), params[half:].astype(np.float64)
    if name != "bn_con2":  # already an affine layer: scale and shift as they are
        r.int_()  # mode
        if name == "affine_2":
            r.bool_()  # disabled
        return Layer("bn", weights=gamma, bias=beta)
    r.tensor()  # means, invstds of the last training batch
    r.tensor()
    running_means, running_vars = r.tensor().ravel(), r.tensor().ravel()
    r.int_()  # num_updates
    r.int_()  # running_stats_window_size
    for _ in range(4):
        r.float_()
    eps = r.float_()
    # what dlib's affine_ does with a bn_con it reads: the scale and shift of inference
    scale = gamma / np.sqrt(running_vars.astype(np.float64) + eps)
    return Layer("bn", weights=scale, bias=beta - scale * running_means)


def _read_pool(r: _Reader, kind: str) -> Layer:
    r.expect_name((f"{kind}_2",))
    nr, nc, stride_y, stride_x, pad_y, pad_x = (r.int_() for _ in range(6))
    if nr != nc or stride_y != stride_x or pad_y != pad_x:
        raise DlibFormatError(f"{kind} {nr}x{nc}/{stride_y}/{stride_x} is not square")
    return Layer(kind, window=nr, stride=stride_y, padding=pad_y)


def _read_fc(r: _Reader) -> Layer:
    version = r.expect_name(("fc_2", "fc_3"))
    outputs, inputs = r.int_(), r.int_()
    params = r.tensor().ravel()
    _alias_shape(r)
    _alias_shape(r)
    if r.int_() != 1 or outputs != DIM:  # 1: FC_NO_BIAS
        raise DlibFormatError("the last layer is not a 128-output dense layer without bias")
    for _ in range(4):
        r.float_()
    if version == "fc_3":
        r.bool_()
    return Layer("fc", weights=params[: inputs * outputs].reshape(inputs, outputs))


def _read_details(r: _Reader, kind: str, arg: int, shape: tuple[int, int] | None) -> Layer:
    if kind == "con":
        assert shape is not None
        return _read_con(r, arg, shape)
    if kind == "bn":
        return _read_bn(r)
    if kind in ("max_pool", "avg_pool"):
        return _read_pool(r, kind)
    if kind == "gap":
        layer = _read_pool(r, "avg_pool")
        if layer.window != 0:
            raise DlibFormatError("expected avg_pool_everything before the dense layer")
        return Layer("gap")
    if kind == "fc":
        return _read_fc(r)
    if kind == "relu":
        if r.expect_name(("relu_", "relu_2")) == "relu_2" and r.bool_():
            raise DlibFormatError("a disabled relu layer")
        return Layer("relu")
    r.expect_name(("add_prev_",))
    return Layer("add_prev", arg=arg)


def _skip_trailer(r: _Reader, version: int, innermost: bool) -> None:
    """What add_layer writes after its layer: setup flags and training buffers."""
    for _ in range(3):
        r.bool_()
    r.tensor()  # x_grad
    r.tensor()  # cached_output
    if innermost or version == 2:
        r.tensor()  # grad_final / params_grad
    if innermost and version >= 3:
        r.int_()  # sample expansion factor


def read_network(data: bytes) -> list[Layer]:
    """The layers of dlib's face ResNet from the file's bytes, from the input outwards (tags and
    skips included, as Layer("tag", n) and Layer("skip", n))."""
    r = _Reader(data)
    r.expect_version("add_loss_layer", (1,))
    if r.expect_name(("loss_metric_", "loss_metric_2")) == "loss_metric_2":
        r.float_()
        r.float_()  # margin, distance threshold: training only
    ops = architecture()
    versions = [r.int_() for _ in ops][::-1]  # written outside in
    if r.expect_name(("input_rgb_image_sized",)) and (
        tuple(round(r.float_(), 3) for _ in range(3)) != INPUT_MEAN
        or (r.int_(), r.int_()) != (CHIP, CHIP)
    ):
        raise DlibFormatError("the input layer is not dlib's 150x150 RGB with its usual mean")
    shapes = iter(conv_shapes())
    layers: list[Layer] = []
    for i, ((kind, arg), version) in enumerate(zip(ops, versions, strict=True)):
        if kind in ("tag", "skip"):
            if version != 1:
                raise DlibFormatError(f"{kind}{arg}: unexpected version {version}")
            layers.append(Layer(kind, arg=arg))
            continue
        if version not in ((2, 3) if i == 0 else (1, 2)):
            raise DlibFormatError(f"layer {i} ({kind}): unexpected version {version}")
        layers.append(_read_details(r, kind, arg, next(shapes) if kind == "con" else None))
        _skip_trailer(r, version, innermost=i == 0)
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} bytes left after the network")
    return layers
