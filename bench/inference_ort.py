"""The baseline side of bench/inference.sh and bench/zoo.sh: prints each run's milliseconds,
after a warm-up, and the model's multiply-add count.

    python3 bench/inference_ort.py MODEL INPUT.npy THREADS RUNS [--runtime openvino] [--output Y.npy] [--no-flops]

The runtime is onnxruntime (CPU provider, THREADS intra-op threads, one inter-op thread) or
OpenVINO (CPU, f32 inference precision, the latency hint, THREADS inference threads, the model
reshaped to the input's shape as onnxruntime and the executor see it). --output writes the
warm-up run's first output.
"""
import argparse
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


def onnxruntime_session(model, threads):
    """A function that runs the model on one input and returns its first output."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def openvino_session(model, threads, shape):
    import openvino as ov

    core = ov.Core()
    network = core.read_model(model)
    network.reshape({network.inputs[0].any_name: ov.PartialShape(list(shape))})
    compiled = core.compile_model(network, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
                                                   "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    return lambda x: request.infer({0: x})[compiled.outputs[0]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("threads", type=int)
    parser.add_argument("runs", type=int)
    parser.add_argument("--runtime", choices=["onnxruntime", "openvino"], default="onnxruntime")
    parser.add_argument("--output")
    parser.add_argument("--no-flops", action="store_true")
    args = parser.parse_args()
    x = np.load(args.input)
    if args.runtime == "openvino":
        run = openvino_session(args.model, args.threads, x.shape)
    else:
        run = onnxruntime_session(args.model, args.threads)
    y = run(x)
    if args.output:
        np.save(args.output, np.asarray(y, dtype=np.float32))
    for _ in range(args.runs):
        start = time.perf_counter()
        run(x)
        print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)
    if not args.no_flops:
        print(f"flops {flops(args.model, x.shape)}")


if __name__ == "__main__":
    main()
