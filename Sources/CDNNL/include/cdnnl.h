// Gradeline's shim over oneDNN's C API: one convolution, planned once per input shape.
//
// The shim hides oneDNN's descriptors, memory objects and streams; Swift sees an opaque plan
// and one call to run it. Runs of one plan may happen on several threads at once: each run
// has its own stream, memory objects and scratchpad.
#ifndef GRADELINE_CDNNL_H
#define GRADELINE_CDNNL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdnnl_conv cdnnl_conv;

/// Plans a 2-D convolution on NCHW float32 memory, with weights [out, in/groups, kh, kw]
/// (ONNX's layout), an optional bias, and an optional Relu after it. Dilations count as ONNX
/// does (1 = none). Returns NULL and a message in `error` when oneDNN cannot make it.
cdnnl_conv *cdnnl_conv_create(int batch, int in_channels, int in_h, int in_w, int out_channels,
                              int kernel_h, int kernel_w, int stride_h, int stride_w,
                              int dilation_h, int dilation_w, int pad_top, int pad_left,
                              int pad_bottom, int pad_right, int groups, int has_bias, int relu,
                              char *error, size_t error_size);

/// Runs the plan. Returns 0, or -1 with a message in `error`.
int cdnnl_conv_run(const cdnnl_conv *conv, const float *src, const float *weights, const float *bias,
                   float *dst, char *error, size_t error_size);

/// The name of the kernel oneDNN chose, for logs and benchmarks.
const char *cdnnl_conv_implementation(const cdnnl_conv *conv);

void cdnnl_conv_destroy(cdnnl_conv *conv);

/// Sets the number of OpenMP threads oneDNN uses, for the whole process.
void cdnnl_set_threads(int threads);

#ifdef __cplusplus
}
#endif

#endif
