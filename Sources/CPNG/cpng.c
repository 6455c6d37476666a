#include "cpng.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Ancillary chunks whose handlers in libpng 1.6 allocate what the length field says before
/// reading (or inflate text of their own); Gradeline reads none of them, so libpng skips them.
static const png_byte cpng_skipped_chunks[] = "tEXt\0zTXt\0iTXt\0sPLT\0pCAL\0sCAL\0eXIf\0iCCP";
enum { cpng_skipped_chunk_count = 8 };

/// The most memory libpng may take for any one ancillary chunk, or for its inflated text.
enum { cpng_chunk_malloc_max = 4 << 20 };
/// The most text, sPLT and unknown chunks libpng keeps per image.
enum { cpng_chunk_cache_max = 128 };
/// Image data allowed after the last row's own bytes: the zlib trailer and empty blocks.
enum { cpng_idat_slack = 4096 };
/// The most chunks a file may have. Encoders write one IDAT per 8 KiB to 1 MiB, or at most one
/// per row; 64 MiB of empty chunks (5.6 million) would cost libpng over a second.
enum { cpng_max_chunks = 100000 };

struct cpng_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    int info_read;
    /// Bytes of one filtered row as stored, filter byte included.
    size_t stored_row_bytes;
    /// Once the last row starts, image data read from the file is counted against a budget,
    /// so that data after the rows is refused instead of inflated (a zlib bomb).
    int tail_armed;
    size_t tail_budget;
    size_t tail_idat_bytes;
    /// The chunk that holds `offset`, followed as the reads move on: [start, end) is the whole
    /// chunk, header and CRC included.
    size_t chunk_start;
    size_t chunk_end;
    int chunk_is_idat;
    /// The largest single block libpng asked for, so tests can show that none was huge.
    size_t largest_allocation;
    char message[256];
};

static uint32_t cpng_be32(const uint8_t *bytes) {
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

/// Writes a chunk type for a message: its four letters, or its bytes in hex when not letters.
static void cpng_chunk_name(const uint8_t *type, char out[16]) {
    int letters = 1;
    for (int i = 0; i < 4; i++) {
        uint8_t c = type[i];
        letters &= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }
    if (letters) {
        snprintf(out, 16, "'%c%c%c%c'", type[0], type[1], type[2], type[3]);
    } else {
        snprintf(out, 16, "0x%02x%02x%02x%02x", type[0], type[1], type[2], type[3]);
    }
}

/// Checks that every chunk up to IEND lies within the file, before libpng sees any of them.
///
/// libpng 1.6 allocates a chunk's stated length before it reads the chunk (tEXt, eXIf, ...),
/// so a 100-byte file that claims a 2 GB chunk would cost 2 GB. Here no chunk can claim more
/// than the bytes that are really there. Returns 0, or -1 with a message.
static int cpng_scan_chunks(cpng_decoder *decoder) {
    size_t offset = 8;
    size_t chunks = 0;
    while (offset < decoder->size) {
        char name[16];
        if (++chunks > cpng_max_chunks) {
            snprintf(decoder->message, sizeof decoder->message,
                     "the file has more than %d chunks (the next at byte %zu); no encoder writes "
                     "that many, so it is refused", cpng_max_chunks, offset);
            return -1;
        }
        if (decoder->size - offset < 8) {
            snprintf(decoder->message, sizeof decoder->message,
                     "truncated: the file ends inside a chunk header at byte %zu", offset);
            return -1;
        }
        const uint8_t *header = decoder->data + offset;
        const uint32_t length = cpng_be32(header);
        cpng_chunk_name(header + 4, name);
        if (length > PNG_UINT_31_MAX) {
            snprintf(decoder->message, sizeof decoder->message,
                     "the %s chunk at byte %zu has a length of %u, above the PNG limit of 2^31 - 1",
                     name, offset, length);
            return -1;
        }
        const size_t remaining = decoder->size - offset - 8;
        if ((size_t)length + 4 > remaining) {
            snprintf(decoder->message, sizeof decoder->message,
                     "truncated: the %s chunk at byte %zu says it holds %u bytes, but only %zu "
                     "bytes follow its header", name, offset, length, remaining);
            return -1;
        }
        offset += 12 + (size_t)length;
        if (memcmp(header + 4, "IEND", 4) == 0) {
            break;
        }
    }
    return 0;
}

/// Moves the chunk cursor to the chunk after the current one. Returns 0 past the last chunk.
static int cpng_next_chunk(cpng_decoder *decoder) {
    const size_t start = decoder->chunk_end;
    if (start > decoder->size || decoder->size - start < 12) {
        return 0;
    }
    decoder->chunk_start = start;
    decoder->chunk_end = start + 12 + (size_t)cpng_be32(decoder->data + start);
    decoder->chunk_is_idat = memcmp(decoder->data + start + 4, "IDAT", 4) == 0;
    return 1;
}

/// Counts the bytes of IDAT payload in [from, to). Reads move forward only, so the cursor does.
static size_t cpng_idat_bytes(cpng_decoder *decoder, size_t from, size_t to) {
    size_t count = 0;
    while (from < to) {
        while (from >= decoder->chunk_end) {
            if (!cpng_next_chunk(decoder)) {
                return count;
            }
        }
        const size_t stop = to < decoder->chunk_end ? to : decoder->chunk_end;
        if (decoder->chunk_is_idat) {
            const size_t payload_start = decoder->chunk_start + 8;
            const size_t payload_end = decoder->chunk_end - 4;
            const size_t a = from > payload_start ? from : payload_start;
            const size_t b = stop < payload_end ? stop : payload_end;
            if (b > a) {
                count += b - a;
            }
        }
        from = stop;
    }
    return count;
}

static void cpng_error_fn(png_structp png, png_const_charp message) {
    char *buffer = (char *)png_get_error_ptr(png);
    if (buffer != NULL) {
        snprintf(buffer, 256, "%s", message);
    }
    png_longjmp(png, 1);
}

static void cpng_warning_fn(png_structp png, png_const_charp message) {
    // Warnings (an unknown ancillary chunk, say) do not make an image unusable.
    (void)png;
    (void)message;
}

static png_voidp cpng_malloc_fn(png_structp png, png_alloc_size_t size) {
    cpng_decoder *decoder = (cpng_decoder *)png_get_mem_ptr(png);
    if (size > decoder->largest_allocation) {
        decoder->largest_allocation = size;
    }
    return malloc(size);
}

static void cpng_free_fn(png_structp png, png_voidp pointer) {
    (void)png;
    free(pointer);
}

static void cpng_read_fn(png_structp png, png_bytep out, size_t length) {
    cpng_decoder *decoder = (cpng_decoder *)png_get_io_ptr(png);
    if (length > decoder->size - decoder->offset) {
        png_error(png, "truncated: the file ends before its image data does");
    }
    if (decoder->tail_armed) {
        decoder->tail_idat_bytes +=
            cpng_idat_bytes(decoder, decoder->offset, decoder->offset + length);
        if (decoder->tail_idat_bytes > decoder->tail_budget) {
            char message[200];
            snprintf(message, sizeof message,
                     "image data goes on after the last row (over %zu bytes where only the last "
                     "row and the zlib trailer belong); trailing image data is refused, so "
                     "that a zlib bomb cannot run", decoder->tail_budget);
            png_error(png, message);
        }
    }
    memcpy(out, decoder->data + decoder->offset, length);
    decoder->offset += length;
}

cpng_decoder *cpng_decoder_create(const uint8_t *data, size_t size) {
    cpng_decoder *decoder = calloc(1, sizeof(cpng_decoder));
    if (decoder == NULL) {
        return NULL;
    }
    decoder->data = data;
    decoder->size = size;
    decoder->chunk_end = 8;  // the signature; the cursor's first chunk comes after it
    decoder->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, decoder->message,
                                            cpng_error_fn, cpng_warning_fn, decoder,
                                            cpng_malloc_fn, cpng_free_fn);
    if (decoder->png == NULL) {
        free(decoder);
        return NULL;
    }
    decoder->info = png_create_info_struct(decoder->png);
    if (decoder->info == NULL) {
        png_destroy_read_struct(&decoder->png, NULL, NULL);
        free(decoder);
        return NULL;
    }
    return decoder;
}

int cpng_decoder_read_info(cpng_decoder *decoder, uint32_t max_width, uint32_t max_height,
                           cpng_info *info) {
    if (decoder->size < 8 || png_sig_cmp(decoder->data, 0, 8) != 0) {
        snprintf(decoder->message, sizeof decoder->message,
                 "not a PNG file: the 8-byte PNG signature is missing");
        return -1;
    }
    if (cpng_scan_chunks(decoder) != 0) {
        return -1;
    }
    png_structp png = decoder->png;
    if (setjmp(png_jmpbuf(png))) {
        return -1;
    }
    png_set_read_fn(png, decoder, cpng_read_fn);
    // A bad CRC in any chunk, critical or ancillary, means the file was damaged in transit.
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_user_limits(png, max_width, max_height);
    png_set_chunk_malloc_max(png, cpng_chunk_malloc_max);
    png_set_chunk_cache_max(png, cpng_chunk_cache_max);
    // Skipped chunks are only checked against their CRC, read in small pieces.
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, cpng_skipped_chunks,
                                cpng_skipped_chunk_count);
    png_read_info(png, decoder->info);
    decoder->info_read = 1;

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, decoder->info, &width, &height, &bit_depth, &color_type, &interlace,
                 NULL, NULL);
    info->width = width;
    info->height = height;
    info->bit_depth = bit_depth;
    info->color_type = color_type;
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    info->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 ||
                      png_get_valid(png, decoder->info, PNG_INFO_tRNS) != 0;
    const size_t samples = color_type == PNG_COLOR_TYPE_RGB         ? 3
                           : color_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                           : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                     : 1;
    decoder->stored_row_bytes = ((size_t)width * samples * (size_t)bit_depth + 7) / 8 + 1;
    return 0;
}

/// Composites RGBA over white: out = (c * a + 255 * (255 - a) + 127) / 255, exactly.
static void cpng_composite_over_white(const uint8_t *rgba, uint8_t *rgb, size_t pixels) {
    for (size_t i = 0; i < pixels; i++) {
        unsigned a = rgba[4 * i + 3];
        unsigned background = 255u * (255u - a) + 127u;
        rgb[3 * i + 0] = (uint8_t)((rgba[4 * i + 0] * a + background) / 255u);
        rgb[3 * i + 1] = (uint8_t)((rgba[4 * i + 1] * a + background) / 255u);
        rgb[3 * i + 2] = (uint8_t)((rgba[4 * i + 2] * a + background) / 255u);
    }
}

int cpng_decoder_read_rgb8(cpng_decoder *decoder, uint8_t *out, size_t out_size) {
    if (!decoder->info_read) {
        snprintf(decoder->message, sizeof decoder->message, "the PNG header was not read");
        return -1;
    }
    png_structp png = decoder->png;
    png_infop info = decoder->info;
    const png_uint_32 width = png_get_image_width(png, info);
    const png_uint_32 height = png_get_image_height(png, info);
    const int color_type = png_get_color_type(png, info);
    const int has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 ||
                          png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    const size_t channels = has_alpha ? 4 : 3;
    if (out_size < (size_t)width * height * 3) {
        snprintf(decoder->message, sizeof decoder->message,
                 "output buffer holds %zu bytes, the image needs %zu", out_size,
                 (size_t)width * height * 3);
        return -1;
    }
    // Locals that change after setjmp must be volatile to survive the longjmp.
    png_bytep *volatile rows = NULL;
    uint8_t *volatile rgba = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(rgba);
        return -1;
    }
    png_set_expand(png);
    if (png_get_bit_depth(png, info) == 16) {
        png_set_scale_16(png);
    }
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0) {
        png_set_gray_to_rgb(png);
    }
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * channels) {
        png_error(png, "unexpected row size after the RGB transforms");
    }

    uint8_t *target = out;
    if (has_alpha) {
        rgba = malloc((size_t)width * height * 4);
        if (rgba == NULL) {
            png_error(png, "out of memory for the RGBA rows");
        }
        target = rgba;
    }
    rows = malloc(sizeof(png_bytep) * height);
    if (rows == NULL) {
        png_error(png, "out of memory for the row table");
    }
    for (png_uint_32 y = 0; y < height; y++) {
        rows[y] = target + (size_t)y * width * channels;
    }
    // Row by row rather than png_read_image, to know when the last row starts: libpng inflates
    // whatever follows it to the end of the zlib stream, so from there on the image data read
    // is held to what one row can need plus a little slack. With interlace handling every
    // pass visits every row, and the stream is finished in the very last call.
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) {
            if (pass == passes - 1 && y == height - 1) {
                decoder->tail_armed = 1;
                decoder->tail_budget = decoder->stored_row_bytes + decoder->stored_row_bytes / 4 +
                                       cpng_idat_slack;
            }
            png_read_row(png, rows[y], NULL);
        }
    }
    png_read_end(png, NULL);
    if (has_alpha) {
        cpng_composite_over_white(rgba, out, (size_t)width * height);
    }
    free(rows);
    free(rgba);
    return 0;
}

size_t cpng_decoder_largest_allocation(const cpng_decoder *decoder) {
    return decoder->largest_allocation;
}

const char *cpng_decoder_error(const cpng_decoder *decoder) {
    return decoder->message;
}

void cpng_decoder_destroy(cpng_decoder *decoder) {
    if (decoder == NULL) {
        return;
    }
    png_destroy_read_struct(&decoder->png, &decoder->info, NULL);
    free(decoder);
}

typedef struct cpng_sink {
    uint8_t *bytes;
    size_t size;
    size_t capacity;
} cpng_sink;

static void cpng_write_fn(png_structp png, png_bytep data, size_t length) {
    cpng_sink *sink = (cpng_sink *)png_get_io_ptr(png);
    if (sink->size + length > sink->capacity) {
        size_t capacity = sink->capacity * 2;
        while (capacity < sink->size + length) {
            capacity *= 2;
        }
        uint8_t *grown = realloc(sink->bytes, capacity);
        if (grown == NULL) {
            png_error(png, "out of memory for the encoded PNG");
        }
        sink->bytes = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->bytes + sink->size, data, length);
    sink->size += length;
}

static void cpng_flush_fn(png_structp png) {
    (void)png;
}

int cpng_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                int compression_level, uint8_t **out, size_t *out_size,
                char *error, size_t error_size) {
    char message[256] = "";
    if (channels != 1 && channels != 3) {
        snprintf(error, error_size, "channels must be 1 or 3, not %d", channels);
        return -1;
    }
    if (width == 0 || height == 0) {
        snprintf(error, error_size, "an image of %ux%u pixels cannot be encoded", width, height);
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, cpng_error_fn,
                                              cpng_warning_fn);
    png_infop info = png == NULL ? NULL : png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        snprintf(error, error_size, "out of memory for the PNG writer");
        return -1;
    }
    // The sink lives on the heap and its pointer is set before setjmp, so nothing that
    // changes after setjmp lives in a non-volatile local.
    cpng_sink *sink = calloc(1, sizeof(cpng_sink));
    if (sink == NULL) {
        png_destroy_write_struct(&png, &info);
        snprintf(error, error_size, "out of memory for the PNG writer");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(sink->bytes);
        free(sink);
        png_destroy_write_struct(&png, &info);
        snprintf(error, error_size, "%s", message);
        return -1;
    }
    sink->capacity = 4096 + (size_t)width * height * (size_t)channels / 4;
    sink->bytes = malloc(sink->capacity);
    if (sink->bytes == NULL) {
        png_error(png, "out of memory for the encoded PNG");
    }
    png_set_write_fn(png, sink, cpng_write_fn, cpng_flush_fn);
    png_set_compression_level(png, compression_level);
    png_set_IHDR(png, info, width, height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) {
        png_write_row(png, pixels + (size_t)y * width * (size_t)channels);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = sink->bytes;
    *out_size = sink->size;
    free(sink);
    return 0;
}

void cpng_free(void *pointer) {
    free(pointer);
}
