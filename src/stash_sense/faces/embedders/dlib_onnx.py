"""Writes dlib's face ResNet (read by dlib_format.py) as an ONNX graph that OpenCV's DNN runs.

Each batch norm is folded into the convolution before it, and the input's mean, 1/256 scale
and channel order into the first convolution (which pads nothing, so the fold is exact): the
graph takes 150x150 BGR chips as 0..255 floats (N, 3, 150, 150) and gives dlib's 128 values.
dlib adds two tensors of different shapes by padding the smaller with zeros at the end of each
axis (a downsampling block's shortcut has half its channels; at 8x8 its convolution gives 3x3
and its pooling 4x4); the graph does the same with Pad. Only Conv, Relu, MaxPool, AveragePool,
Pad, Add, GlobalAveragePool, Flatten and MatMul: operators OpenCV's DNN and onnxruntime run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stash_sense.faces.embedders.dlib_format import (
    CHIP,
    DIM,
    INPUT_MEAN,
    INPUT_SCALE,
    DlibFormatError,
    Layer,
)

INPUT = "chips"
OUTPUT = "descriptors"
OPSET = 13

Shape = tuple[int, int, int]  # channels, rows, columns


def _pooled(size: int, window: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - window) // stride


class _Graph:
    def __init__(self) -> None:
        import onnx.helper

        self.helper = onnx.helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def name(self, kind: str) -> str:
        self._n += 1
        return f"{kind}{self._n}"

    def const(self, kind: str, value: np.ndarray) -> str:
        import onnx.numpy_helper

        name = self.name(kind)
        self.inits.append(onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def pad_to(self, x: str, shape: Shape, target: Shape) -> str:
        if shape == target:
            return x
        ends = [0, *(t - s for s, t in zip(shape, target, strict=True))]
        pads = self.const("pads", np.array([0, 0, 0, 0, *ends], dtype=np.int64))
        return self.node("Pad", [x, pads], mode="constant")


def _first_conv(weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first convolution taking BGR 0..255 values: dlib feeds it RGB (value - mean) / 256."""
    mean = np.asarray(INPUT_MEAN, dtype=np.float64).reshape(1, 3, 1, 1)
    bias = bias - (weights * mean).sum(axis=(1, 2, 3)) * INPUT_SCALE
    return weights[:, ::-1] * INPUT_SCALE, bias


def _folded(con: Layer, bn: Layer) -> tuple[np.ndarray, np.ndarray]:
    assert con.weights is not None and con.bias is not None
    assert bn.weights is not None and bn.bias is not None
    scale = bn.weights.astype(np.float64)
    weights = con.weights.astype(np.float64) * scale[:, None, None, None]
    return weights, con.bias.astype(np.float64) * scale + bn.bias


def build_model(layers: list[Layer]) -> Any:
    """The onnx.ModelProto of the network `layers` (dlib_format.read_network's answer)."""
    import onnx

    g = _Graph()
    x, shape = INPUT, (3, CHIP, CHIP)
    tags: dict[int, tuple[str, Shape]] = {}
    first = True
    for i, layer in enumerate(layers):
        if layer.kind == "con":
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if nxt is None or nxt.kind != "bn":
                raise DlibFormatError("a convolution without its batch norm")
            weights, bias = _folded(layer, nxt)
            if first:
                weights, bias = _first_conv(weights, bias)
                first = False
            k, p, s = weights.shape[2], layer.padding, layer.stride
            wname = g.const("w", weights.astype(np.float32))
            bname = g.const("b", bias.astype(np.float32))
            x = g.node(
                "Conv",
                [x, wname, bname],
                kernel_shape=[k, k],
                strides=[s, s],
                pads=[p, p, p, p],
            )
            side = _pooled(shape[1], k, s, p)
            shape = (weights.shape[0], side, side)
        elif layer.kind == "bn":
            continue  # folded into the convolution before it
        elif layer.kind == "relu":
            x = g.node("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool"):
            w, s, p = layer.window, layer.stride, layer.padding
            op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
            x = g.node(op, [x], kernel_shape=[w, w], strides=[s, s], pads=[p, p, p, p])
            side = _pooled(shape[1], w, s, p)
            shape = (shape[0], side, side)
        elif layer.kind == "tag":
            tags[layer.arg] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[layer.arg]
        elif layer.kind == "add_prev":
            other, other_shape = tags[layer.arg]
            target: Shape = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))  # type: ignore[assignment]
            x = g.node("Add", [g.pad_to(x, shape, target), g.pad_to(other, other_shape, target)])
            shape = target
        elif layer.kind == "gap":
            x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
            shape = (shape[0], 1, 1)
        elif layer.kind == "fc":
            assert layer.weights is not None
            x = g.node("MatMul", [x, g.const("fc", layer.weights.astype(np.float32))])
    g.nodes[-1].output[0] = OUTPUT
    graph = onnx.helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [onnx.helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT, ["n", 3, CHIP, CHIP])],
        [onnx.helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, ["n", DIM])],
        g.inits,
    )
    model = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="stash-sense",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
