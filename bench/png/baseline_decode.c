/*
 * The baseline for bench/png_decode.sh: libpng called directly from C, with the same work
 * Gradeline's decoder asks of it (expand palettes and low depths, scale 16-bit to 8, gray to
 * RGB), from a file already in memory.
 *
 *   baseline_decode ITERATIONS FILE...
 *
 * Prints one line per file: the file, its megapixels, then the milliseconds of each decode.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct source {
    const unsigned char *bytes;
    size_t size;
    size_t offset;
};

static void read_memory(png_structp png, png_bytep out, png_size_t length) {
    struct source *source = png_get_io_ptr(png);
    if (source->offset + length > source->size) {
        png_error(png, "truncated");
    }
    memcpy(out, source->bytes + source->offset, length);
    source->offset += length;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Decodes into `pixels` (width * height * 3 bytes, allocated here) and returns 0 on success. */
static int decode(const unsigned char *bytes, size_t size, unsigned char **pixels,
                  png_uint_32 *width, png_uint_32 *height) {
    struct source source = {bytes, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return -1;
    }
    png_set_read_fn(png, &source, read_memory);
    png_read_info(png, info);
    png_set_expand(png);
    png_set_scale_16(png);
    png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    *width = png_get_image_width(png, info);
    *height = png_get_image_height(png, info);
    *pixels = malloc((size_t)*width * *height * 3);
    rows = malloc(sizeof(png_bytep) * *height);
    for (png_uint_32 y = 0; y < *height; y++) {
        rows[y] = *pixels + (size_t)y * *width * 3;
    }
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s ITERATIONS FILE...\n", argv[0]);
        return 2;
    }
    int iterations = atoi(argv[1]);
    for (int f = 2; f < argc; f++) {
        FILE *file = fopen(argv[f], "rb");
        if (file == NULL) {
            perror(argv[f]);
            return 1;
        }
        fseek(file, 0, SEEK_END);
        size_t size = (size_t)ftell(file);
        fseek(file, 0, SEEK_SET);
        unsigned char *bytes = malloc(size);
        if (fread(bytes, 1, size, file) != size) {
            perror(argv[f]);
            return 1;
        }
        fclose(file);
        png_uint_32 width = 0, height = 0;
        printf("%s %.6f", argv[f], 0.0);
        double megapixels = 0;
        for (int i = 0; i < iterations; i++) {
            unsigned char *pixels = NULL;
            double start = now_ms();
            if (decode(bytes, size, &pixels, &width, &height) != 0) {
                fprintf(stderr, "%s: decode failed\n", argv[f]);
                return 1;
            }
            double elapsed = now_ms() - start;
            megapixels = (double)width * height / 1e6;
            printf(" %.4f", elapsed);
            free(pixels);
        }
        printf(" mp=%.6f\n", megapixels);
        free(bytes);
    }
    return 0;
}
