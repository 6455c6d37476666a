"""Writes Tests/Fixtures/ops/: one small ONNX model per op configuration the Swift executor
supports, with a seeded input and onnxruntime's output, for the executor's parity tests.

    python3 experiment/make_op_fixtures.py     # needs onnx and onnxruntime (pip)

Each case is CASE.onnx, CASE.input.npy and CASE.output.npy.
"""
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "ops"
rng = np.random.default_rng(2026)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def model(name, nodes, input_shape, output_shape, initializers=(), opset=13):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
                              initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gradeline-fixtures")
    m.ir_version = 7
    onnx.checker.check_model(onnx.shape_inference.infer_shapes(m)) if output_shape else None
    x = rng.standard_normal([2 if d == "batch" else d for d in input_shape]).astype(np.float32)
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(None, {"x": x})[0]
    onnx.save(m, OUT / f"{name}.onnx")
    np.save(OUT / f"{name}.input.npy", x)
    np.save(OUT / f"{name}.output.npy", y)
    print(f"{name}: {input_shape} -> {list(y.shape)}")


def weights(*shape):
    return rng.standard_normal(shape).astype(np.float32) * 0.5


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    model("conv_groups_strides_dilations", [helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], group=2, strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2])],
        [1, 4, 9, 7], None, [const("w", weights(6, 2, 3, 3)), const("b", weights(6))])
    model("conv_same_upper", [helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
          [2, 3, 8, 7], None, [const("w", weights(5, 3, 3, 3))])
    model("conv_pointwise", [helper.make_node("Conv", ["x", "w", "b"], ["y"])],
          [1, 8, 6, 5], None, [const("w", weights(4, 8, 1, 1)), const("b", weights(4))])
    model("conv_transpose", [helper.make_node(
        "ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 1, 0, 0], output_padding=[1, 0])],
        [1, 3, 5, 4], None, [const("w", weights(3, 2, 3, 3)), const("b", weights(2))])
    model("conv_transpose_groups_dilations", [helper.make_node(
        "ConvTranspose", ["x", "w"], ["y"], group=2, strides=[1, 2], dilations=[2, 1])],
        [1, 4, 5, 5], None, [const("w", weights(4, 3, 2, 2))])
    model("maxpool_pads_ceil", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                                 pads=[1, 1, 1, 1], ceil_mode=1)], [1, 2, 8, 9], None)
    model("maxpool_dilations", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2])],
          [1, 2, 7, 7], None)
    for include in (0, 1):
        model(f"averagepool_count_include_pad_{include}", [helper.make_node(
            "AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1],
            count_include_pad=include)], [1, 2, 7, 6], None)
    model("activations", [
        helper.make_node("LeakyRelu", ["x"], ["a"], alpha=0.2),
        helper.make_node("Sigmoid", ["a"], ["b"]),
        helper.make_node("Clip", ["b", "lo", "hi"], ["c"]),
        helper.make_node("Relu", ["c"], ["y"])], [2, 3, 4, 5], None,
        [const("lo", np.float32(0.3)), const("hi", np.float32(0.7))])
    model("softmax_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [2, 6, 4, 3], None)
    model("softmax_opset11_flatten", [helper.make_node("Softmax", ["x"], ["y"], axis=2)], [2, 3, 4, 5], None, opset=11)
    model("add_mul_broadcast", [
        helper.make_node("Add", ["x", "c"], ["a"]),
        helper.make_node("Mul", ["d", "a"], ["y"])], [2, 3, 4, 5], None,
        [const("c", weights(3, 1, 1)), const("d", weights(5))])
    model("concat_with_constant", [helper.make_node("Concat", ["x", "k", "x"], ["y"], axis=1)], [1, 2, 3, 4], None,
          [const("k", weights(1, 3, 3, 4))])
    model("batchnorm", [helper.make_node("BatchNormalization", ["x", "s", "bias", "m", "v"], ["y"], epsilon=1e-3)],
          [2, 3, 4, 4], None, [const("s", weights(3)), const("bias", weights(3)), const("m", weights(3)),
                               const("v", np.abs(weights(3)) + 0.1)])
    model("resize_linear_half_pixel", [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")],
          [1, 2, 5, 4], None, [const("scales", np.array([1, 1, 2, 2], np.float32))])
    model("resize_linear_align_corners_sizes", [helper.make_node(
        "Resize", ["x", "", "", "sizes"], ["y"], mode="linear", coordinate_transformation_mode="align_corners")],
        [1, 2, 5, 4], None, [const("sizes", np.array([1, 2, 9, 7], np.int64))])
    model("resize_nearest_asymmetric_floor", [helper.make_node(
        "Resize", ["x", "", "scales"], ["y"], mode="nearest", coordinate_transformation_mode="asymmetric",
        nearest_mode="floor")], [1, 2, 4, 3], None, [const("scales", np.array([1, 1, 3, 2], np.float32))])
    model("resize_nearest_half_pixel_round", [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
          [1, 1, 6, 6], None, [const("scales", np.array([1, 1, 0.5, 1.5], np.float32))])
    model("upsample_opset9_nearest", [helper.make_node("Upsample", ["x", "scales"], ["y"], mode="nearest")],
          [1, 2, 3, 4], None, [const("scales", np.array([1, 1, 2, 3], np.float32))], opset=9)
    for mode in ("constant", "reflect", "edge"):
        inputs = ["x", "pads", "value"] if mode == "constant" else ["x", "pads"]
        model(f"pad_{mode}", [helper.make_node("Pad", inputs, ["y"], mode=mode)], [1, 2, 4, 5], None,
              [const("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)), const("value", np.float32(0.5))])
    # A stand-in segmenter for the Models tests: 3 colour channels in, 6 class logits out.
    model("tiny_segmenter", [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
          ["batch", 3, 8, 4], None, [const("w", weights(6, 3, 3, 3)), const("b", weights(6))])
    model("reshape_flatten_identity", [
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([0, -1, 4], np.int64))),
        helper.make_node("Reshape", ["x", "shape"], ["a"]),
        helper.make_node("Identity", ["a"], ["b"]),
        helper.make_node("Flatten", ["b"], ["y"], axis=1)], [2, 3, 4, 2], None)
    # The ops the model zoo (bench/zoo) needed. New cases go last, so that the seeded inputs
    # and weights of the cases above stay as they were.
    model("global_average_pool", [helper.make_node("GlobalAveragePool", ["x"], ["y"])], [2, 5, 7, 9], None)
    model("global_max_pool", [helper.make_node("GlobalMaxPool", ["x"], ["y"])], [1, 3, 4, 6], None)
    # A classifier head: a convolution (oneDNN writes its own layout), global pooling,
    # Flatten and a Gemm with transposed weights and a bias, then Softmax.
    model("conv_gap_gemm_head", [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["y"], axis=1)], [2, 8, 6, 5], None,
        [const("w", weights(32, 8, 3, 3)), const("b", weights(32)), const("fc", weights(10, 32)), const("fcb", weights(10))])
    model("gemm_alpha_beta_row_bias", [helper.make_node("Gemm", ["x", "B", "C"], ["y"], alpha=0.5, beta=2.0)],
          [3, 6], None, [const("B", weights(6, 4)), const("C", weights(1, 4))])
    model("gemm_trans_a_column_bias", [helper.make_node("Gemm", ["x", "B", "C"], ["y"], transA=1, transB=1)],
          [6, 3], None, [const("B", weights(5, 6)), const("C", weights(3, 1))])
    model("gemm_no_bias", [helper.make_node("Gemm", ["x", "B"], ["y"])], [2, 7], None, [const("B", weights(7, 3))])
    model("matmul_broadcast_batch", [helper.make_node("MatMul", ["x", "B"], ["y"])], [2, 1, 3, 4], None,
          [const("B", weights(3, 4, 2))])
    model("matmul_weights", [helper.make_node("MatMul", ["x", "B"], ["y"])], [2, 3, 5], None, [const("B", weights(5, 4))])
    model("matmul_vectors", [
        helper.make_node("MatMul", ["x", "v"], ["a"]),
        helper.make_node("MatMul", ["u", "a"], ["y"])], [2, 4, 5], None, [const("v", weights(5)), const("u", weights(2))])
    # Self-attention's shape: both operands flow at run time, one transposed.
    model("matmul_transpose_runtime", [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["x", "t"], ["y"])], [2, 3, 4], None)
    model("transpose_perm", [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], [2, 3, 4, 5], None)
    model("transpose_default_reverses", [helper.make_node("Transpose", ["x"], ["y"])], [3, 4, 5], None)
    model("slice_steps_negative_clamped", [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])],
          [2, 6, 7, 5], None, [const("starts", np.array([1, -1, 0], np.int64)), const("ends", np.array([5, -100, 99], np.int64)),
                               const("axes", np.array([1, 2, -1], np.int64)), const("steps", np.array([2, -2, 3], np.int64))])
    model("slice_opset9_attributes", [helper.make_node("Slice", ["x"], ["y"], starts=[1, 0], ends=[3, -1], axes=[3, 1])],
          [1, 4, 3, 5], None, opset=9)
    model("cast_truncates", [
        helper.make_node("Mul", ["x", "k"], ["a"]),
        helper.make_node("Cast", ["a"], ["i"], to=TensorProto.INT64),
        helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)], [2, 3, 4], None, [const("k", np.float32(4))])
    model("cast_bool", [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Cast", ["a"], ["b"], to=TensorProto.BOOL),
        helper.make_node("Cast", ["b"], ["y"], to=TensorProto.FLOAT)], [2, 3, 4], None)
    model("constant_of_shape_add", [
        helper.make_node("ConstantOfShape", ["shape"], ["c"], value=numpy_helper.from_array(np.array([1.5], np.float32))),
        helper.make_node("Add", ["x", "c"], ["y"])], [2, 3, 4], None, [const("shape", np.array([3, 4], np.int64))])
    # How PyTorch 1.13 exports nn.ReflectionPad2d(2): the pads are computed by a chain of ops
    # over constants (ConstantOfShape, Concat, Reshape, a backwards Slice, Transpose, Cast),
    # which the executor folds at load.
    pad_chain = [
        helper.make_node("Constant", [], ["n"], value=numpy_helper.from_array(np.array([4], np.int64))),
        helper.make_node("Constant", [], ["given"], value=numpy_helper.from_array(np.array([2, 1, 1, 2], np.int64))),
        helper.make_node("ConstantOfShape", ["n"], ["zeros"],
                         value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Concat", ["given", "zeros"], ["all"], axis=0),
        helper.make_node("Reshape", ["all", "pairs_shape"], ["pairs"]),
        helper.make_node("Slice", ["pairs", "minus1", "most_negative", "zero", "minus1"], ["reversed"]),
        helper.make_node("Transpose", ["reversed"], ["columns"], perm=[1, 0]),
        helper.make_node("Reshape", ["columns", "minus1"], ["flat"]),
        helper.make_node("Cast", ["flat"], ["pads"], to=TensorProto.INT64),
        helper.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")]
    model("pad_pytorch_export_chain", pad_chain, [1, 2, 5, 6], None,
          [const("pairs_shape", np.array([-1, 2], np.int64)), const("minus1", np.array([-1], np.int64)),
           const("most_negative", np.array([-(2 ** 63) + 1], np.int64)), const("zero", np.array([0], np.int64))])
    # Pads the executor copies row by row: none at all (a plain copy), negative ones that crop,
    # and reflect and edge pads wider on one side, on the last axis too.
    model("pad_zero", [helper.make_node("Pad", ["x", "pads"], ["y"])], [1, 3, 4, 5], None,
          [const("pads", np.zeros(8, np.int64))])
    model("pad_negative_crop", [helper.make_node("Pad", ["x", "pads", "value"], ["y"])], [1, 2, 5, 6], None,
          [const("pads", np.array([0, 1, -1, 3, 0, 0, 2, -2], np.int64)), const("value", np.float32(-1.5))])
    for mode in ("reflect", "edge"):
        model(f"pad_{mode}_last_axis", [helper.make_node("Pad", ["x", "pads"], ["y"], mode=mode)], [2, 3, 7], None,
              [const("pads", np.array([0, 1, 4, 1, 0, 1], np.int64))])
    # The executor resizes blocks of 16 output rows: 37 rows are two whole blocks and a part.
    for mode in ("linear", "nearest"):
        model(f"resize_{mode}_rows_past_a_block", [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode)],
              [1, 2, 7, 5], None, [const("sizes", np.array([1, 2, 37, 9], np.int64))])
    # The U-Nets' 2 x 2 stride-2 window (the executor's fast path), on odd sizes: the last row and
    # column fall outside every window.
    model("maxpool_2x2_stride2_odd", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
          [2, 3, 7, 9], None)
    # MobileNetV2's ReLU6 (Clip 0..6) after a 3x3, a depthwise and a pointwise Conv, which the
    # executor folds into each convolution; 16 and 32 channels, so that oneDNN's blocked kernels
    # run them. The shared one below has its bounds as attributes (opset 10).
    model("conv_clip_relu6_chain", [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=32),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"]),
        helper.make_node("Clip", ["c3", "lo2", ""], ["y"])], [2, 16, 11, 9], None,
        [const("w1", weights(32, 16, 3, 3)), const("b1", weights(32)), const("w2", weights(32, 1, 3, 3)),
         const("b2", weights(32)), const("w3", weights(16, 32, 1, 1)), const("lo", np.float32(0)),
         const("hi", np.float32(6)), const("lo2", np.float32(-1.5))])
    # MobileNetV2's inverted residual at 24 channels, which fill no 16-channel block: oneDNN plans
    # the 1x1 convolutions in NHWC, and the depthwise one (stride 2, odd sizes) then runs in NHWC.
    model("inverted_residual_nhwc", [
        helper.make_node("Conv", ["x", "e"], ["c1"]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Conv", ["r1", "d", "db"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2], group=48),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
        helper.make_node("Conv", ["r2", "p"], ["y"])], [2, 24, 13, 11], None,
        [const("e", weights(48, 24, 1, 1)), const("d", weights(48, 1, 3, 3)), const("db", weights(48)),
         const("p", weights(24, 48, 1, 1)), const("lo", np.float32(0)), const("hi", np.float32(6))])
    # A Clip whose convolution is also read by an Add cannot be folded: the Add needs the raw values.
    model("conv_clip_shared", [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c"], ["r"], min=-1.0, max=2.0),
        helper.make_node("Add", ["r", "c"], ["y"])], [1, 16, 6, 7], None, [const("w", weights(16, 16, 3, 3))], opset=10)
    # AveragePool's 2 x 2 stride-2 fast path on odd sizes, and a 3 x 3 stride-2 one with ceil_mode,
    # where the last windows run past the pads (the general loop's tap ranges).
    model("averagepool_2x2_stride2_odd", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2],
                                                           strides=[2, 2])], [2, 3, 7, 9], None)
    model("averagepool_3x3_ceil_past_pads", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                                              strides=[2, 2], pads=[1, 0, 0, 1], ceil_mode=1)],
          [1, 2, 8, 7], None)
    # A single value added and multiplied between two blocked convolutions (FPN's sum() starts at
    # 0): it takes the tensor's layout, with no conversion.
    model("conv_add_mul_scalar", [
        helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "k0"], ["a"]),
        helper.make_node("Mul", ["k1", "a"], ["m"]),
        helper.make_node("Conv", ["m", "w2"], ["y"])], [1, 16, 6, 7], None,
        [const("w1", weights(16, 16, 3, 3)), const("k0", np.float32(0.25)), const("k1", np.array([-0.5], np.float32)),
         const("w2", weights(16, 16, 1, 1) * 0.1)])
    # A grouped convolution whose groups (6 channels) fill no 8-channel block: oneDNN runs it in NHWC.
    model("conv_groups_of_6_nhwc", [
        helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c", "w2", "b2"], ["y"], pads=[1, 1, 1, 1], group=8)], [1, 16, 9, 10], None,
        [const("w1", weights(48, 16, 3, 3) * 0.3), const("w2", weights(48, 6, 3, 3) * 0.3), const("b2", weights(48))])
    # A hostile Clip: min above max. It is not folded (the executor folds only min <= max), and
    # the standalone step gives what onnxruntime gives (every value is max).
    model("conv_clip_min_above_max", [
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"])], [1, 16, 3, 4], None,
        [const("w", weights(16, 16, 1, 1)), const("lo", np.float32(2)), const("hi", np.float32(-1))])

if __name__ == "__main__":
    main()
