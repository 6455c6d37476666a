#include "cdnnl.h"

#include <oneapi/dnnl/dnnl.h>
/* libgomp runs oneDNN's threads; its header lives in GCC's private folder, so the one call is declared here. */
void omp_set_num_threads(int threads);
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
    /* The caller's layouts: NCHW, and ONNX's weights. */
    dnnl_memory_desc_t src_md, weights_md, bias_md, dst_md;
    /* The layouts the convolution prefers (often channel-blocked), and reorders to and from them. */
    const dnnl_memory_desc_t *conv_src_md, *conv_weights_md, *conv_dst_md;
    dnnl_primitive_t src_reorder, dst_reorder;
    /* The weights, reordered once when the plan is made; filled on the first run. */
    void *weights;
    pthread_mutex_t weights_lock;
    int weights_lock_ready;
    int has_bias;
    size_t scratchpad_size;
};

static int same_layout(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b) {
    return dnnl_memory_desc_equal(a, b);
}

static dnnl_status_t make_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *out) {
    dnnl_primitive_desc_t pd;
    dnnl_status_t status = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL);
    if (status != dnnl_success) return status;
    status = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return status;
}


#define TRY(call, what)                                                                     \
    do {                                                                                    \
        dnnl_status_t status_ = (call);                                                     \
        if (status_ != dnnl_success) {                                                      \
            snprintf(error, error_size, "oneDNN %s failed (status %d)", what, (int)status_); \
            goto fail;                                                                      \
        }                                                                                   \
    } while (0)

cdnnl_conv *cdnnl_conv_create(int batch, int in_channels, int in_h, int in_w, int out_channels,
                              int kernel_h, int kernel_w, int stride_h, int stride_w,
                              int dilation_h, int dilation_w, int pad_top, int pad_left,
                              int pad_bottom, int pad_right, int groups, int has_bias, int relu,
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
    int out_h = (in_h + pad_top + pad_bottom - ((kernel_h - 1) * dilation_h + 1)) / stride_h + 1;
    int out_w = (in_w + pad_left + pad_right - ((kernel_w - 1) * dilation_w + 1)) / stride_w + 1;
    dnnl_dims_t src_dims = {batch, in_channels, in_h, in_w};
    dnnl_dims_t dst_dims = {batch, out_channels, out_h, out_w};
    dnnl_dims_t bias_dims = {out_channels};
    TRY(dnnl_memory_desc_init_by_tag(&conv->src_md, 4, src_dims, dnnl_f32, dnnl_nchw), "source descriptor");
    TRY(dnnl_memory_desc_init_by_tag(&conv->dst_md, 4, dst_dims, dnnl_f32, dnnl_nchw), "destination descriptor");
    TRY(dnnl_memory_desc_init_by_tag(&conv->bias_md, 1, bias_dims, dnnl_f32, dnnl_x), "bias descriptor");
    if (groups == 1) {
        dnnl_dims_t weights_dims = {out_channels, in_channels, kernel_h, kernel_w};
        TRY(dnnl_memory_desc_init_by_tag(&conv->weights_md, 4, weights_dims, dnnl_f32, dnnl_oihw), "weights descriptor");
    } else {
        dnnl_dims_t weights_dims = {groups, out_channels / groups, in_channels / groups, kernel_h, kernel_w};
        TRY(dnnl_memory_desc_init_by_tag(&conv->weights_md, 5, weights_dims, dnnl_f32, dnnl_goihw), "weights descriptor");
    }
    dnnl_dims_t strides = {stride_h, stride_w};
    dnnl_dims_t dilations = {dilation_h - 1, dilation_w - 1};
    dnnl_dims_t padding_l = {pad_top, pad_left};
    dnnl_dims_t padding_r = {pad_bottom, pad_right};
    /* Let oneDNN pick the layouts it runs fastest on; reorders bridge them to NCHW. */
    dnnl_memory_desc_t any_src, any_weights, any_dst;
    TRY(dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, dnnl_f32, dnnl_format_tag_any), "source descriptor");
    TRY(dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any), "destination descriptor");
    TRY(dnnl_memory_desc_init_by_tag(&any_weights, conv->weights_md.ndims, conv->weights_md.dims, dnnl_f32,
                                     dnnl_format_tag_any), "weights descriptor");
    dnnl_convolution_desc_t desc;
    TRY(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                   &any_src, &any_weights, has_bias ? &conv->bias_md : NULL,
                                                   &any_dst, strides, dilations, padding_l, padding_r),
        "convolution descriptor");
    TRY(dnnl_primitive_attr_create(&attr), "attributes");
    /* A scratchpad per run, so that concurrent runs of one primitive never share one. */
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
    if (relu) {
        TRY(dnnl_post_ops_create(&post_ops), "post-ops");
        TRY(dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f), "Relu post-op");
        TRY(dnnl_primitive_attr_set_post_ops(attr, post_ops), "post-ops");
    }
    TRY(dnnl_primitive_desc_create(&conv->pd, &desc, attr, engine, NULL), "primitive descriptor");
    TRY(dnnl_primitive_create(&conv->primitive, conv->pd), "primitive");
    conv->scratchpad_size = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(conv->pd, dnnl_query_scratchpad_md, 0));
    conv->has_bias = has_bias;
    conv->conv_src_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_src_md, 0);
    conv->conv_weights_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_weights_md, 0);
    conv->conv_dst_md = dnnl_primitive_desc_query_md(conv->pd, dnnl_query_dst_md, 0);
    if (!same_layout(&conv->src_md, conv->conv_src_md)) {
        TRY(make_reorder(&conv->src_md, conv->conv_src_md, &conv->src_reorder), "source reorder");
    }
    if (!same_layout(&conv->dst_md, conv->conv_dst_md)) {
        TRY(make_reorder(conv->conv_dst_md, &conv->dst_md, &conv->dst_reorder), "destination reorder");
    }
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

/* Reorders the weights into the convolution's layout, once per plan. */
static int prepare_weights(cdnnl_conv *conv, const float *weights, char *error, size_t error_size) {
    int result = 0;
    pthread_mutex_lock(&conv->weights_lock);
    if (conv->weights == NULL) {
        dnnl_memory_t from = NULL, to = NULL;
        dnnl_primitive_t reorder = NULL;
        void *buffer = malloc(dnnl_memory_desc_get_size(conv->conv_weights_md));
        result = -1;
        if (buffer == NULL) {
            snprintf(error, error_size, "out of memory for the reordered weights");
            goto fail;
        }
        TRY(dnnl_memory_create(&from, &conv->weights_md, engine, (void *)weights), "weights memory");
        TRY(dnnl_memory_create(&to, conv->conv_weights_md, engine, buffer), "weights memory");
        TRY(make_reorder(&conv->weights_md, conv->conv_weights_md, &reorder), "weights reorder");
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        TRY(execute(reorder, 2, args), "weights reorder");
        conv->weights = buffer;
        buffer = NULL;
        result = 0;
    fail:
        free(buffer);
        if (reorder) dnnl_primitive_destroy(reorder);
        if (from) dnnl_memory_destroy(from);
        if (to) dnnl_memory_destroy(to);
    }
    pthread_mutex_unlock(&conv->weights_lock);
    return result;
}

int cdnnl_conv_run(const cdnnl_conv *plan, const float *src, const float *weights, const float *bias,
                   float *dst, char *error, size_t error_size) {
    cdnnl_conv *conv = (cdnnl_conv *)plan;
    dnnl_memory_t user_src = NULL, user_dst = NULL, src_mem = NULL, weights_mem = NULL, bias_mem = NULL;
    dnnl_memory_t dst_mem = NULL, scratch_mem = NULL;
    void *src_buffer = NULL, *dst_buffer = NULL, *scratchpad = NULL;
    int result = -1;
    if (prepare_weights(conv, weights, error, error_size) != 0) return -1;
    TRY(dnnl_memory_create(&user_src, &conv->src_md, engine, (void *)src), "source memory");
    TRY(dnnl_memory_create(&user_dst, &conv->dst_md, engine, dst), "destination memory");
    if (conv->src_reorder) {
        src_buffer = malloc(dnnl_memory_desc_get_size(conv->conv_src_md));
        if (src_buffer == NULL) goto oom;
        TRY(dnnl_memory_create(&src_mem, conv->conv_src_md, engine, src_buffer), "source memory");
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user_src}, {DNNL_ARG_TO, src_mem}};
        TRY(execute(conv->src_reorder, 2, args), "source reorder");
    }
    if (conv->dst_reorder) {
        dst_buffer = malloc(dnnl_memory_desc_get_size(conv->conv_dst_md));
        if (dst_buffer == NULL) goto oom;
        TRY(dnnl_memory_create(&dst_mem, conv->conv_dst_md, engine, dst_buffer), "destination memory");
    }
    TRY(dnnl_memory_create(&weights_mem, conv->conv_weights_md, engine, conv->weights), "weights memory");
    dnnl_exec_arg_t args[5];
    int count = 0;
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, src_mem ? src_mem : user_src};
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, weights_mem};
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_DST, dst_mem ? dst_mem : user_dst};
    if (conv->has_bias) {
        TRY(dnnl_memory_create(&bias_mem, &conv->bias_md, engine, (void *)bias), "bias memory");
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bias_mem};
    }
    if (conv->scratchpad_size > 0) {
        scratchpad = malloc(conv->scratchpad_size);
        if (scratchpad == NULL) goto oom;
        TRY(dnnl_memory_create(&scratch_mem, dnnl_primitive_desc_query_md(conv->pd, dnnl_query_scratchpad_md, 0),
                               engine, scratchpad), "scratchpad memory");
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch_mem};
    }
    TRY(execute(conv->primitive, count, args), "convolution");
    if (conv->dst_reorder) {
        dnnl_exec_arg_t back[2] = {{DNNL_ARG_FROM, dst_mem}, {DNNL_ARG_TO, user_dst}};
        TRY(execute(conv->dst_reorder, 2, back), "destination reorder");
    }
    result = 0;
    goto fail;
oom:
    snprintf(error, error_size, "out of memory for a convolution buffer");
fail:
    if (scratch_mem) dnnl_memory_destroy(scratch_mem);
    if (bias_mem) dnnl_memory_destroy(bias_mem);
    if (weights_mem) dnnl_memory_destroy(weights_mem);
    if (dst_mem) dnnl_memory_destroy(dst_mem);
    if (src_mem) dnnl_memory_destroy(src_mem);
    if (user_dst) dnnl_memory_destroy(user_dst);
    if (user_src) dnnl_memory_destroy(user_src);
    free(scratchpad);
    free(dst_buffer);
    free(src_buffer);
    return result;
}

const char *cdnnl_conv_implementation(const cdnnl_conv *conv) {
    const char *name = NULL;
    if (dnnl_primitive_desc_query(conv->pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success) return "?";
    return name;
}

void cdnnl_conv_destroy(cdnnl_conv *conv) {
    if (conv == NULL) return;
    if (conv->src_reorder) dnnl_primitive_destroy(conv->src_reorder);
    if (conv->dst_reorder) dnnl_primitive_destroy(conv->dst_reorder);
    free(conv->weights);
    if (conv->weights_lock_ready) pthread_mutex_destroy(&conv->weights_lock);
    if (conv->primitive) dnnl_primitive_destroy(conv->primitive);
    if (conv->pd) dnnl_primitive_desc_destroy(conv->pd);
    free(conv);
}

void cdnnl_set_threads(int threads) {
    omp_set_num_threads(threads > 0 ? threads : 1);
}
