// Gradeline's shim over oneDNN's C API: 2-D convolutions and transposed convolutions, each
// planned once per input shape and memory layout.
//
// The shim hides oneDNN's descriptors, memory objects and streams; Swift sees an opaque plan,
// the layouts it chose, and one call to run it. Runs of one plan may happen on several threads
// at once: each run has its own stream and memory objects, and the caller gives each run its
// own scratchpad.
#ifndef GRADELINE_CDNNL_H
#define GRADELINE_CDNNL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Memory layouts of a 4-D activation tensor that the executor knows how to handle.
typedef enum {
    /// Only when creating a plan: let oneDNN choose the layout it runs fastest on.
    CDNNL_ANY = 0,
    CDNNL_NCHW = 1,
    /// Channels innermost (oneDNN's acdb).
    CDNNL_NHWC = 2,
    /// Blocks of 8 or 16 channels innermost (nChw8c, nChw16c); only when the channel count is
    /// a multiple of the block, so that no padding channels exist.
    CDNNL_NCHW8C = 3,
    CDNNL_NCHW16C = 4,
} cdnnl_format;

/// The geometry of one convolution. Dilations count as ONNX does (1 = none). For a transposed
/// convolution, `in_*` describe its input and `out_*` its output, and the pads crop the output.
typedef struct {
    int batch, in_channels, in_h, in_w, out_channels, out_h, out_w;
    int kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w;
    int pad_top, pad_left, pad_bottom, pad_right, groups;
    /// 0: Conv, weights [out, in/groups, kh, kw]; 1: ConvTranspose, weights [in, out/groups, kh, kw].
    int transposed;
    int has_bias;
    /// Use oneDNN's Winograd algorithm (3x3 kernels, stride 1) rather than the direct one.
    int winograd;
    /// Add the result to what `dst` holds, rather than overwrite it (before any Relu).
    int accumulate;
    /// Apply Relu to the result.
    int relu;
    /// Clamp the result to [clip_low, clip_high] (a Clip folded in, such as ReLU6), after any Relu.
    int clip;
    float clip_low, clip_high;
} cdnnl_conv_geometry;

typedef struct cdnnl_conv cdnnl_conv;

/// Plans a convolution reading `src` and writing `dst` (either may be CDNNL_ANY). Layouts that
/// oneDNN would choose outside cdnnl_format are replaced by CDNNL_NCHW. Returns NULL and a
/// message in `error` when oneDNN cannot make it.
cdnnl_conv *cdnnl_conv_create(const cdnnl_conv_geometry *geometry, cdnnl_format src, cdnnl_format dst,
                              char *error, size_t error_size);

/// The layouts the plan reads and writes.
cdnnl_format cdnnl_conv_src_format(const cdnnl_conv *conv);
cdnnl_format cdnnl_conv_dst_format(const cdnnl_conv *conv);

/// Bytes of scratch memory each run needs.
size_t cdnnl_conv_scratchpad_size(const cdnnl_conv *conv);

/// Runs the plan. `weights` are in ONNX's layout; they are reordered into oneDNN's once, on the
/// first run. `scratchpad` holds cdnnl_conv_scratchpad_size bytes, or is NULL when that is 0.
/// Returns 0, or -1 with a message in `error`.
int cdnnl_conv_run(const cdnnl_conv *conv, const float *src, const float *weights, const float *bias,
                   float *dst, void *scratchpad, char *error, size_t error_size);

/// The name of the kernel oneDNN chose, for logs and benchmarks.
const char *cdnnl_conv_implementation(const cdnnl_conv *conv);

void cdnnl_conv_destroy(cdnnl_conv *conv);

/// Sets the number of OpenMP threads oneDNN uses for the calling thread's later runs (OpenMP
/// keeps the setting per thread; other threads keep theirs).
void cdnnl_set_threads(int threads);

/// Calls `task(context, index)` for each index in 0 ..< count, on `threads` threads of the
/// OpenMP pool that runs oneDNN (thread t takes t, t + threads, ...), and returns when all are
/// done. The executor's own loops use it so that they and oneDNN share one set of threads.
void cdnnl_parallel(int count, int threads, void (*task)(void *context, int index), void *context);

/// The number of OpenMP threads the calling thread's runs use. oneDNN splits a convolution's
/// work for this count when its plan is made, so a plan belongs to one count.
int cdnnl_threads(void);

#ifdef __cplusplus
}
#endif

#endif
