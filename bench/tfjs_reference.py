"""Check bench/tfjs_onnx.py: run the same TFJS graph with TensorFlow's own ops and compare.

TensorFlow runs each op in the graph's own layout (NHWC, TF's SAME padding), so agreement with
the ONNX file run by OpenCV shows the conversion (layout, padding, fused ops) is faithful. Needs
tensorflow, so run it in a throwaway venv (`pip install tensorflow-cpu opencv-python-headless`):

    python -m bench.tfjs_reference MODEL.json MODEL.onnx [--output NODE] [--size 112]
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.tfjs_onnx import read_weights


def run_tf(model_json: Path, x_nhwc: np.ndarray, output: str | None) -> np.ndarray:
    import tensorflow as tf

    graph = json.loads(model_json.read_text())
    weights = read_weights(graph, model_json.parent)
    nodes = graph["modelTopology"]["node"]
    last = output or nodes[-1]["name"]
    values: dict[str, Any] = {}

    def text(node: dict[str, Any], key: str) -> str:
        return base64.b64decode(node["attr"][key]["s"]).decode()

    def ints(node: dict[str, Any], key: str) -> list[int]:
        return [int(i) for i in node["attr"][key]["list"].get("i", [])]

    for node in nodes:
        op, name = node["op"], node["name"]
        ins = [values[i] for i in node.get("input", [])]
        if op == "Const":
            values[name] = tf.constant(weights[name])
        elif op == "Placeholder":
            values[name] = tf.constant(x_nhwc)
        elif op in ("Conv2D", "_FusedConv2D"):
            strides, padding, dilations = (
                ints(node, "strides"),
                text(node, "padding"),
                ints(node, "dilations"),
            )
            values[name] = tf.nn.conv2d(ins[0], ins[1], strides, padding, dilations=dilations)
        elif op in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            values[name] = tf.nn.depthwise_conv2d(ins[0], ins[1], ints(node, "strides"),
                                                  text(node, "padding"))  # fmt: skip
        elif op == "Mean":
            values[name] = tf.reduce_mean(ins[0], axis=ins[1])
        elif op == "Sum":
            values[name] = tf.reduce_sum(ins[0], axis=ins[1], keepdims=True)
        elif op == "Squeeze":
            values[name] = tf.squeeze(ins[0], ints(node, "squeeze_dims"))
        else:
            unary = {"Relu": tf.nn.relu, "Abs": tf.abs, "Square": tf.square, "Rsqrt": tf.math.rsqrt}
            binary = {"Add": tf.add, "AddV2": tf.add, "Sub": tf.subtract, "Mul": tf.multiply,
                      "Maximum": tf.maximum, "Minimum": tf.minimum}  # fmt: skip
            values[name] = unary[op](ins[0]) if op in unary else binary[op](ins[0], ins[1])
        if op.startswith(("_Fused", "Fused")):
            for fused in node["attr"]["fused_ops"]["list"]["s"]:
                kind = base64.b64decode(fused).decode()
                values[name] = (
                    tf.nn.bias_add(values[name], ins[2])
                    if kind == "BiasAdd"
                    else tf.nn.relu(values[name])
                )
        if name == last:
            break
    return np.asarray(values[last].numpy())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_json", type=Path)
    parser.add_argument("onnx", type=Path)
    parser.add_argument("--output")
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args()
    x = np.random.default_rng(0).uniform(-128, 128, (2, 3, args.size, args.size))
    x = x.astype(np.float32)
    net = cv2.dnn.readNet(str(args.onnx))
    net.setInput(x, "input")
    ours = np.asarray(net.forward())
    theirs = run_tf(args.model_json, x.transpose(0, 2, 3, 1), args.output)
    diff = float(np.abs(ours - theirs.reshape(ours.shape)).max())
    print(
        f"max |ONNX (OpenCV) - TensorFlow| = {diff:.3g} (largest value {np.abs(theirs).max():.3g})"
    )
    return 0 if diff <= 1e-4 * max(1.0, float(np.abs(theirs).max())) else 1


if __name__ == "__main__":
    raise SystemExit(main())
