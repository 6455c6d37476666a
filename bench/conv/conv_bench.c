/*
 * Which library should run Gradeline's convolutions? One representative layer of the damage
 * model (batch 2, 32 -> 32 channels, 3x3, pad 1, 256x128), three ways:
 *   1. im2col + OpenBLAS cblas_sgemm, as the Swift executor does;
 *   2. oneDNN's convolution on plain NCHW / OIHW memory;
 *   3. oneDNN's convolution on the blocked layouts it prefers (reorders not timed).
 *
 *   cc -O2 bench/conv/conv_bench.c -o bench/out/conv_bench -lopenblas -ldnnl
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 bench/out/conv_bench
 */
#include <cblas.h>
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

enum { N = 2, C = 32, K = 32, H = 256, W = 128, R = 3, RUNS = 15 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values) {
    qsort(values, RUNS, sizeof(double), compare);
    return values[RUNS / 2];
}

static void check(dnnl_status_t status, const char *what) {
    if (status != dnnl_success) {
        fprintf(stderr, "%s failed: %d\n", what, (int)status);
        exit(1);
    }
}

static double gemm_path(const float *src, const float *weights, float *dst) {
    float *column = malloc(sizeof(float) * C * R * R * H * W);
    double times[RUNS];
    for (int run = 0; run < RUNS; run++) {
        double start = now_ms();
        for (int n = 0; n < N; n++) {
            const float *x = src + (size_t)n * C * H * W;
            float *line = column;
            for (int c = 0; c < C; c++)
                for (int ki = 0; ki < R; ki++)
                    for (int kj = 0; kj < R; kj++) {
                        for (int y = 0; y < H; y++) {
                            int sy = y - 1 + ki;
                            for (int xo = 0; xo < W; xo++) {
                                int sx = xo - 1 + kj;
                                line[y * W + xo] = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? x[(c * H + sy) * W + sx] : 0;
                            }
                        }
                        line += H * W;
                    }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, H * W, C * R * R, 1, weights, C * R * R,
                        column, H * W, 0, dst + (size_t)n * K * H * W, H * W);
        }
        times[run] = now_ms() - start;
    }
    free(column);
    return median(times);
}

static double dnnl_path(const float *src, const float *weights, float *dst, int blocked) {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine");
    check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
    dnnl_dims_t src_dims = {N, C, H, W}, w_dims = {K, C, R, R}, dst_dims = {N, K, H, W};
    dnnl_dims_t strides = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t src_plain, w_plain, dst_plain, src_any, w_any, dst_any;
    check(dnnl_memory_desc_init_by_tag(&src_plain, 4, src_dims, dnnl_f32, dnnl_nchw), "md");
    check(dnnl_memory_desc_init_by_tag(&w_plain, 4, w_dims, dnnl_f32, dnnl_oihw), "md");
    check(dnnl_memory_desc_init_by_tag(&dst_plain, 4, dst_dims, dnnl_f32, dnnl_nchw), "md");
    check(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw), "md");
    check(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_oihw), "md");
    check(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw), "md");
    dnnl_convolution_desc_t desc;
    check(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &src_any, &w_any,
                                             NULL, &dst_any, strides, pad, pad), "conv desc");
    dnnl_primitive_desc_t pd;
    check(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL), "conv pd");
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t src_mem, w_mem, dst_mem, src_user, w_user;
    check(dnnl_memory_create(&src_mem, src_md, engine, DNNL_MEMORY_ALLOCATE), "mem");
    check(dnnl_memory_create(&w_mem, w_md, engine, DNNL_MEMORY_ALLOCATE), "mem");
    check(dnnl_memory_create(&dst_mem, dst_md, engine, DNNL_MEMORY_ALLOCATE), "mem");
    check(dnnl_memory_create(&src_user, &src_plain, engine, (void *)src), "mem");
    check(dnnl_memory_create(&w_user, &w_plain, engine, (void *)weights), "mem");
    /* Move the data into the primitive's layouts once; a real graph would keep them there. */
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t reorder;
    check(dnnl_reorder_primitive_desc_create(&rpd, &src_plain, engine, src_md, engine, NULL), "reorder");
    check(dnnl_primitive_create(&reorder, rpd), "reorder");
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, src_user}, {DNNL_ARG_TO, src_mem}};
    check(dnnl_primitive_execute(reorder, stream, 2, rargs), "reorder");
    check(dnnl_reorder_primitive_desc_create(&rpd, &w_plain, engine, w_md, engine, NULL), "reorder");
    check(dnnl_primitive_create(&reorder, rpd), "reorder");
    dnnl_exec_arg_t wargs[2] = {{DNNL_ARG_FROM, w_user}, {DNNL_ARG_TO, w_mem}};
    check(dnnl_primitive_execute(reorder, stream, 2, wargs), "reorder");
    dnnl_stream_wait(stream);
    dnnl_primitive_t conv;
    check(dnnl_primitive_create(&conv, pd), "conv");
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst_mem}};
    double times[RUNS];
    for (int run = 0; run < RUNS; run++) {
        double start = now_ms();
        check(dnnl_primitive_execute(conv, stream, 3, args), "execute");
        dnnl_stream_wait(stream);
        times[run] = now_ms() - start;
    }
    if (!blocked) {
        void *out;
        dnnl_memory_get_data_handle(dst_mem, &out);
        memcpy(dst, out, sizeof(float) * N * K * H * W);
    }
    printf("  (oneDNN implementation: %s)\n", impl ? impl : "?");
    return median(times);
}

int main(void) {
    size_t src_n = (size_t)N * C * H * W, w_n = (size_t)K * C * R * R, dst_n = (size_t)N * K * H * W;
    float *src = malloc(sizeof(float) * src_n), *weights = malloc(sizeof(float) * w_n);
    float *a = malloc(sizeof(float) * dst_n), *b = malloc(sizeof(float) * dst_n);
    srand(1);
    for (size_t i = 0; i < src_n; i++) src[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < w_n; i++) weights[i] = rand() / (float)RAND_MAX - 0.5f;
    double flops = 2.0 * N * K * H * W * C * R * R;
    double gemm = gemm_path(src, weights, a);
    double plain = dnnl_path(src, weights, b, 0);
    double worst = 0;
    for (size_t i = 0; i < dst_n; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    double blocked = dnnl_path(src, weights, b, 1);
    printf("im2col + OpenBLAS sgemm: %7.2f ms  %6.1f GFLOP/s\n", gemm, flops / gemm / 1e6);
    printf("oneDNN, NCHW:            %7.2f ms  %6.1f GFLOP/s  (max difference from the sgemm path %.2g)\n", plain,
           flops / plain / 1e6, worst);
    printf("oneDNN, blocked layouts: %7.2f ms  %6.1f GFLOP/s\n", blocked, flops / blocked / 1e6);
    return 0;
}
