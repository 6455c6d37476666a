"""The onnxruntime side of bench/inference.sh: prints each run's milliseconds, after a warm-up,
and the model's multiply-add count.

    python3 bench/inference_ort.py MODEL INPUT.npy THREADS RUNS
"""
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference


def flops(model_path, input_shape):
    """2 x multiply-adds of the Conv and ConvTranspose nodes, for this input shape."""
    model = onnx.load(model_path)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = input_shape[0]
    inferred = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    total = 0
    for node in inferred.graph.node:
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        w = weights.get(node.input[1]) if len(node.input) > 1 else None
        if node.op_type == "Conv" and w:
            out = shapes[node.output[0]]
            total += 2 * out[0] * out[1] * out[2] * out[3] * (w[1] * w[2] * w[3])
        elif node.op_type == "ConvTranspose" and w:
            x = shapes[node.input[0]]
            total += 2 * x[0] * x[1] * x[2] * x[3] * (w[1] * w[2] * w[3])
    return total


def main():
    model, input_path, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    x = np.load(input_path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: x})
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {name: x})
        print(f"{(time.perf_counter() - start) * 1000:.3f}")
    print(f"flops {flops(model, x.shape)}")


if __name__ == "__main__":
    main()
