#include "cdnnl.h"

#include <oneapi/dnnl/dnnl.h>
/* libgomp runs oneDNN's threads; its header lives in GCC's private folder, so the one call is declared here. */
void omp_set_num_threads(int threads);
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
/* What `#pragma omp parallel` compiles to (libgomp's ABI since GCC 4.9): runs fn(data) on a
   team of num_threads. Called directly, so that this file needs no OpenMP compiler flags. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_status_t engine_status;

static void make_engine(void) {
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
}

struct cdnnl_conv {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    cdnnl_format src_format, dst_format;
    /* ONNX's weights layout, and the one the primitive wants. */
    dnnl_memory_desc_t weights_md, bias_md;
    const dnnl_memory_desc_t *conv_src_md, *conv_weights_md, *conv_dst_md, *scratchpad_md;
    /* The weights, reordered once; filled on the first run. */
    void *weights;
    pthread_mutex_t weights_lock;
    int weights_lock_ready;
    int has_bias;
    size_t scratchpad_size;
};

#define TRY(call, what)                                                                     \
    do {                                                                                    \
        dnnl_status_t status_ = (call);                                                     \
        if (status_ != dnnl_success) {                                                      \
            snprintf(error, error_size, "oneDNN %s failed (status %d)", what, (int)status_); \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

static dnnl_format_tag_t tag_of(cdnnl_format format) {
    switch (format) {
    case CDNNL_NCHW: return dnnl_nchw;
    case CDNNL_NHWC: return dnnl_nhwc;
    case CDNNL_NCHW8C: return dnnl_nChw8c;
    case CDNNL_NCHW16C: return dnnl_nChw16c;
    default: return dnnl_format_tag_any;
    }
}

/* The cdnnl_format that `md` is, or CDNNL_ANY when it is none of them (or would pad channels). */
static cdnnl_format format_of(const dnnl_memory_desc_t *md) {
    static const cdnnl_format formats[] = {CDNNL_NCHW, CDNNL_NHWC, CDNNL_NCHW8C, CDNNL_NCHW16C};
    static const int blocks[] = {1, 1, 8, 16};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (md->dims[1] % blocks[i] != 0) continue;
        dnnl_memory_desc_t candidate;
        if (dnnl_memory_desc_init_by_tag(&candidate, 4, md->dims, dnnl_f32, tag_of(formats[i])) != dnnl_success) continue;
        if (dnnl_memory_desc_equal(&candidate, md)) return formats[i];
    }
    return CDNNL_ANY;
}

/* Makes the primitive descriptor for `src` and `dst` layouts into conv->pd. */
static dnnl_status_t describe(cdnnl_conv *conv, const cdnnl_conv_geometry *g, cdnnl_format src, cdnnl_format dst,
                              dnnl_primitive_attr_t attr) {
    dnnl_dims_t src_dims = {g->batch, g->in_channels, g->in_h, g->in_w};
    dnnl_dims_t dst_dims = {g->batch, g->out_channels, g->out_h, g->out_w};
    dnnl_memory_desc_t src_md, weights_md, dst_md;
    dnnl_status_t status;
    if ((status = dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, tag_of(src))) != dnnl_success) return status;
    if ((status = dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, tag_of(dst))) != dnnl_success) return status;
    if ((status = dnnl_memory_desc_init_by_tag(&weights_md, conv->weights_md.ndims, conv->weights_md.dims, dnnl_f32,
                                               dnnl_format_tag_any)) != dnnl_success) return status;
    dnnl_dims_t strides = {g->stride_h, g->stride_w};
    dnnl_dims_t dilations = {g->dilation_h - 1, g->dilation_w - 1};
    dnnl_dims_t padding_l = {g->pad_top, g->pad_left};
    dnnl_dims_t padding_r = {g->pad_bottom, g->pad_right};
    const dnnl_memory_desc_t *bias = g->has_bias ? &conv->bias_md : NULL;
    if (g->transposed) {
        dnnl_deconvolution_desc_t desc;
        status = dnnl_dilated_deconvolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_deconvolution_direct,
                                                              &src_md, &weights_md, bias, &dst_md, strides, dilations,
                                                              padding_l, padding_r);
        if (status != dnnl_success) return status;
        return dnnl_primitive_desc_create(&conv->pd, &desc, attr, engine, NULL);
    }
    dnnl_convolution_desc_t desc;
    dnnl_alg_kind_t algorithm = g->winograd ? dnnl_convolution_winograd : dnnl_convolution_direct;
    status = dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, algorithm,
                                                        &src_md, &weights_md, bias, &dst_md, strides, dilations,
                                                        padding_l, padding_r);
    if (status != dnnl_success) return status;
    return dnnl_primitive_desc_create(&conv->pd, &desc, attr, engine, NULL);
}

cdnnl_conv *cdnnl_conv_create(const cdnnl_conv_geometry *g, cdnnl_format src, cdnnl_format dst,
                              char *error, size_t error_size) {
    pthread_once(&engine_once, make_engine);
    if (engine_status != dnnl_success) {
        snprintf(error, error_size, "oneDNN has no CPU engine (status %d)", (int)engine_status);
        return NULL;
    }
    cdnnl_conv *conv = calloc(1, sizeof(cdnnl_conv));
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    if (conv == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    dnnl_dims_t bias_dims = {g->out_channels};
    TRY(dnnl_memory_desc_init_by_tag(&conv->bias_md, 1, bias_dims, dnnl_f32, dnnl_x), "bias descriptor");
    /* ONNX's weights: Conv [out, in/g, kh, kw] is oihw; ConvTranspose [in, out/g, kh, kw] is iohw. */
    if (g->groups == 1) {
        dnnl_dims_t dims = {g->out_channels, g->in_channels, g->kernel_h, g->kernel_w};
        TRY(dnnl_memory_desc_init_by_tag(&conv->weights_md, 4, dims, dnnl_f32, g->transposed ? dnnl_iohw : dnnl_oihw),
            "weights descriptor");
    } else {
        dnnl_dims_t dims = {g->groups, g->out_channels / g->groups, g->in_channels / g->groups, g->kernel_h, g->kernel_w};
        TRY(dnnl_memory_desc_init_by_tag(&conv->weights_md, 5, dims, dnnl_f32, g->transposed ? dnnl_giohw : dnnl_goihw),
            "weights descriptor");
    }
    TRY(dnnl_primitive_attr_create(&attr), "attributes");
    /* The caller gives each run its own scratchpad, so concurrent runs never share one. */
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
    if (g->accumulate || g->relu || g->clip) {
        TRY(dnnl_post_ops_create(&post_ops), "post-ops");
        if (g->accumulate) TRY(dnnl_post_ops_append_sum(post_ops, 1.0f), "sum post-op");
        if (g->relu) TRY(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "Relu post-op");
        if (g->clip)
            TRY(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_clip_v2, g->clip_low, g->clip_high), "Clip post-op");
        TRY(dnnl_primitive_attr_set_post_ops(attr, post_ops), "post-ops");
    }
    TRY(describe(conv, g, src, dst, attr), g->transposed ? "transposed convolution descriptor" : "convolution descriptor");
    conv->src_format = format_of(dnnl_primitive_desc_query_md(conv->pd, dnnl_query_src_md, 0));
    conv->dst_format = format_of(dnnl_primitive_desc_query_md(conv->pd, dnnl_query_dst_md, 0));
    if (conv->src_format == CDNNL_ANY || conv->dst_format == CDNNL_ANY) {
        /* oneDNN chose a layout the executor does not handle: ask again with NCHW there. */
        cdnnl_format src_again = conv->src_format == CDNNL_ANY ? CDNNL_NCHW : conv->src_format;
        cdnnl_format dst_again = conv->dst_format == CDNNL_ANY ? CDNNL_NCHW : conv->dst_format;
        dnnl_primitive_desc_destroy(conv->pd);
        conv->pd = NULL;
        TRY(describe(conv, g, src_again, dst_again, attr), "convolution descriptor in NCHW");
        conv->src_format = src_again;
        conv->dst_format = dst_again;
    }
    TRY(dnnl_primitive_create(&conv->primitive, conv->pd), "primitive");
    conv->conv_src_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_src_md, 0);
    conv->conv_weights_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_weights_md, 0);
    conv->conv_dst_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_dst_md, 0);
    conv->scratchpad_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_scratchpad_md, 0);
    conv->scratchpad_size = dnnl_memory_desc_get_size(conv->scratchpad_md);
    conv->has_bias = g->has_bias;
    pthread_mutex_init(&conv->weights_lock, NULL);
    conv->weights_lock_ready = 1;
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    return conv;
fail:
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    cdnnl_conv_destroy(conv);
    return NULL;
}

cdnnl_format cdnnl_conv_src_format(const cdnnl_conv *conv) { return conv->src_format; }

cdnnl_format cdnnl_conv_dst_format(const cdnnl_conv *conv) { return conv->dst_format; }

size_t cdnnl_conv_scratchpad_size(const cdnnl_conv *conv) { return conv->scratchpad_size; }

/* Executes `primitive` on `count` arguments in a stream of its own. */
static dnnl_status_t execute(dnnl_primitive_t primitive, int count, const dnnl_exec_arg_t *args) {
    dnnl_stream_t stream;
    dnnl_status_t status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
    if (status != dnnl_success) return status;
    status = dnnl_primitive_execute(primitive, stream, count, args);
    if (status == dnnl_success) status = dnnl_stream_wait(stream);
    dnnl_stream_destroy(stream);
    return status;
}

/* Reorders the weights into the primitive's layout, once per plan. */
static int prepare_weights(cdnnl_conv *conv, const float *weights, char *error, size_t error_size) {
    int result = 0;
    pthread_mutex_lock(&conv->weights_lock);
    if (conv->weights == NULL) {
        dnnl_memory_t from = NULL, to = NULL;
        dnnl_primitive_desc_t reorder_pd = NULL;
        dnnl_primitive_t reorder = NULL;
        void *buffer = malloc(dnnl_memory_desc_get_size(conv->conv_weights_md));
        result = -1;
        if (buffer == NULL) {
            snprintf(error, error_size, "out of memory for the reordered weights");
            goto fail;
        }
        TRY(dnnl_memory_create(&from, &conv->weights_md, engine, (void *)weights), "weights memory");
        TRY(dnnl_memory_create(&to, conv->conv_weights_md, engine, buffer), "weights memory");
        TRY(dnnl_reorder_primitive_desc_create(&reorder_pd, &conv->weights_md, engine, conv->conv_weights_md, engine, NULL),
            "weights reorder");
        TRY(dnnl_primitive_create(&reorder, reorder_pd), "weights reorder");
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        TRY(execute(reorder, 2, args), "weights reorder");
        conv->weights = buffer;
        buffer = NULL;
        result = 0;
    fail:
        free(buffer);
        if (reorder) dnnl_primitive_destroy(reorder);
        if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
        if (from) dnnl_memory_destroy(from);
        if (to) dnnl_memory_destroy(to);
    }
    pthread_mutex_unlock(&conv->weights_lock);
    return result;
}

int cdnnl_conv_run(const cdnnl_conv *plan, const float *src, const float *weights, const float *bias,
                   float *dst, void *scratchpad, char *error, size_t error_size) {
    cdnnl_conv *conv = (cdnnl_conv *)plan;
    dnnl_memory_t src_mem = NULL, weights_mem = NULL, bias_mem = NULL, dst_mem = NULL, scratch_mem = NULL;
    int result = -1;
    if (prepare_weights(conv, weights, error, error_size) != 0) return -1;
    dnnl_exec_arg_t args[5];
    int count = 0;
    TRY(dnnl_memory_create(&src_mem, conv->conv_src_md, engine, (void *)src), "source memory");
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src_mem};
    TRY(dnnl_memory_create(&weights_mem, conv->conv_weights_md, engine, conv->weights), "weights memory");
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, weights_mem};
    TRY(dnnl_memory_create(&dst_mem, conv->conv_dst_md, engine, dst), "destination memory");
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst_mem};
    if (conv->has_bias) {
        TRY(dnnl_memory_create(&bias_mem, &conv->bias_md, engine, (void *)bias), "bias memory");
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bias_mem};
    }
    if (conv->scratchpad_size > 0) {
        TRY(dnnl_memory_create(&scratch_mem, conv->scratchpad_md, engine, scratchpad), "scratchpad memory");
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch_mem};
    }
    TRY(execute(conv->primitive, count, args), "convolution");
    result = 0;
fail:
    if (scratch_mem) dnnl_memory_destroy(scratch_mem);
    if (bias_mem) dnnl_memory_destroy(bias_mem);
    if (dst_mem) dnnl_memory_destroy(dst_mem);
    if (weights_mem) dnnl_memory_destroy(weights_mem);
    if (src_mem) dnnl_memory_destroy(src_mem);
    return result;
}

const char *cdnnl_conv_implementation(const cdnnl_conv *conv) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(conv->pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return "?";
    return name;
}

void cdnnl_conv_destroy(cdnnl_conv *conv) {
    if (conv == NULL) return;
    free(conv->weights);
    if (conv->weights_lock_ready) pthread_mutex_destroy(&conv->weights_lock);
    if (conv->primitive) dnnl_primitive_destroy(conv->primitive);
    if (conv->pd) dnnl_primitive_desc_destroy(conv->pd);
    free(conv);
}

void cdnnl_set_threads(int threads) {
    omp_set_num_threads(threads > 0 ? threads : 1);
}

int cdnnl_threads(void) {
    return omp_get_max_threads();
}

struct parallel_job {
    int count;
    void (*task)(void *context, int index);
    void *context;
};

static void run_share(void *data) {
    const struct parallel_job *job = data;
    long team = omp_get_num_threads(), member = omp_get_thread_num();
    int first = (int)(job->count * member / team), end = (int)(job->count * (member + 1) / team);
    for (int index = first; index < end; index++) job->task(job->context, index);
}

void cdnnl_parallel(int count, int threads, void (*task)(void *context, int index), void *context) {
    if (threads <= 1 || count <= 1) {
        for (int index = 0; index < count; index++) task(context, index);
        return;
    }
    struct parallel_job job = {count, task, context};
    GOMP_parallel(run_share, &job, (unsigned)(threads < count ? threads : count), 0);
}
