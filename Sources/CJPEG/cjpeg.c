#include "cjpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/// libjpeg's error manager, with the jump back into the shim function that called libjpeg.
typedef struct cjpeg_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *message;  // the decoder's message buffer
    size_t message_size;
} cjpeg_error_mgr;

/// libjpeg's progress hook, with the scan limit it enforces.
typedef struct cjpeg_progress_mgr {
    struct jpeg_progress_mgr pub;
    int max_scans;
} cjpeg_progress_mgr;

struct cjpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    cjpeg_error_mgr error;
    cjpeg_progress_mgr progress;
    const uint8_t *data;
    size_t size;
    int header_read;
    char message[256];
};

/// Keeps libjpeg's message for the current error or warning, in the shim's words where the
/// shim has better ones.
static void cjpeg_keep_message(j_common_ptr cinfo) {
    cjpeg_error_mgr *error = (cjpeg_error_mgr *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        snprintf(error->message, error->message_size,
                 "truncated: the file ends before its image data does (libjpeg: %s)", text);
        break;
    case JERR_NO_BACKING_STORE:
        snprintf(error->message, error->message_size,
                 "the image needs more decoder memory than its size allows (%ld bytes; libjpeg: %s)",
                 cinfo->mem->max_memory_to_use, text);
        break;
    default:
        snprintf(error->message, error->message_size, "%s", text);
    }
}

/// Replaces libjpeg's error_exit, which prints and exits: keep the message, jump back.
static void cjpeg_error_exit(j_common_ptr cinfo) {
    cjpeg_keep_message(cinfo);
    longjmp(((cjpeg_error_mgr *)cinfo->err)->jump, 1);
}

/// Replaces libjpeg's emit_message. Level -1 is a warning: libjpeg would go on with made-up
/// data (gray blocks after a premature end, a resynchronised scan after a bad Huffman code),
/// but a photo to be graded must be whole, so every warning ends the decode as an error.
/// Trace messages (levels 0 and up) are dropped.
static void cjpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0) {
        cjpeg_error_exit(cinfo);
    }
}

/// Replaces libjpeg's output_message, which writes to stderr: nothing is printed.
static void cjpeg_output_message(j_common_ptr cinfo) {
    cjpeg_keep_message(cinfo);
}

/// Called by libjpeg at least once per scan while it reads a multi-scan file: a progressive
/// JPEG of a few KB can hold thousands of scans, each of which costs a pass over every block.
static void cjpeg_progress_monitor(j_common_ptr cinfo) {
    j_decompress_ptr decompress = (j_decompress_ptr)cinfo;
    cjpeg_progress_mgr *progress = (cjpeg_progress_mgr *)cinfo->progress;
    if (decompress->input_scan_number > progress->max_scans) {
        cjpeg_error_mgr *error = (cjpeg_error_mgr *)cinfo->err;
        snprintf(error->message, error->message_size,
                 "the file has more than %d scans; progressive encoders write about 10, so it "
                 "is refused (each scan costs a pass over the whole image)", progress->max_scans);
        longjmp(error->jump, 1);
    }
}

cjpeg_decoder *cjpeg_decoder_create(const uint8_t *data, size_t size, int max_scans) {
    cjpeg_decoder *decoder = calloc(1, sizeof(cjpeg_decoder));
    if (decoder == NULL) {
        return NULL;
    }
    decoder->cinfo.err = jpeg_std_error(&decoder->error.pub);
    decoder->error.pub.error_exit = cjpeg_error_exit;
    decoder->error.pub.emit_message = cjpeg_emit_message;
    decoder->error.pub.output_message = cjpeg_output_message;
    decoder->error.message = decoder->message;
    decoder->error.message_size = sizeof decoder->message;
    if (setjmp(decoder->error.jump)) {
        // jpeg_create_decompress fails only when its first allocation does.
        jpeg_destroy_decompress(&decoder->cinfo);
        free(decoder);
        return NULL;
    }
    jpeg_create_decompress(&decoder->cinfo);
    decoder->progress.pub.progress_monitor = cjpeg_progress_monitor;
    decoder->progress.max_scans = max_scans;
    decoder->cinfo.progress = &decoder->progress.pub;
    decoder->data = data;
    decoder->size = size;
    return decoder;
}

/// Bytes that a multi-scan image's coefficient buffer takes: 128 bytes per 8x8 block of every
/// component, padded as libjpeg pads them to whole sampling units. Valid after the header.
static size_t cjpeg_coefficient_bytes(j_decompress_ptr cinfo) {
    size_t bytes = 0;
    for (int i = 0; i < cinfo->num_components; i++) {
        const jpeg_component_info *component = &cinfo->comp_info[i];
        const size_t h = (size_t)component->h_samp_factor;
        const size_t v = (size_t)component->v_samp_factor;
        const size_t columns = ((size_t)component->width_in_blocks + h - 1) / h * h;
        const size_t rows = ((size_t)component->height_in_blocks + v - 1) / v * v;
        bytes += columns * rows * sizeof(JBLOCK);
    }
    return bytes;
}

/// Room for everything but the coefficient buffer: tables, row buffers, upsampling context.
enum { cjpeg_working_memory = 32 << 20 };

int cjpeg_decoder_read_header(cjpeg_decoder *decoder, cjpeg_info *info) {
    j_decompress_ptr cinfo = &decoder->cinfo;
    if (setjmp(decoder->error.jump)) {
        return -1;
    }
    // Here rather than at creation: libjpeg refuses an empty source by error_exit.
    jpeg_mem_src(cinfo, decoder->data, (unsigned long)decoder->size);
    jpeg_read_header(cinfo, TRUE);
    decoder->header_read = 1;
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->components = cinfo->num_components;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: info->color_space = CJPEG_COLOR_GRAYSCALE; break;
    case JCS_RGB: info->color_space = CJPEG_COLOR_RGB; break;
    case JCS_YCbCr: info->color_space = CJPEG_COLOR_YCBCR; break;
    case JCS_CMYK: info->color_space = CJPEG_COLOR_CMYK; break;
    case JCS_YCCK: info->color_space = CJPEG_COLOR_YCCK; break;
    default: info->color_space = CJPEG_COLOR_UNKNOWN; break;
    }
    info->progressive = cinfo->progressive_mode ? 1 : 0;
    const int multi_scan = cinfo->progressive_mode || cinfo->comps_in_scan < cinfo->num_components;
    info->memory_needed = (multi_scan ? cjpeg_coefficient_bytes(cinfo) : 0) + cjpeg_working_memory;
    return 0;
}

int cjpeg_decoder_read_rgb8(cjpeg_decoder *decoder, uint8_t *out, size_t out_size,
                            size_t max_memory) {
    j_decompress_ptr cinfo = &decoder->cinfo;
    if (!decoder->header_read) {
        snprintf(decoder->message, sizeof decoder->message, "the JPEG header was not read");
        return -1;
    }
    if (setjmp(decoder->error.jump)) {
        return -1;
    }
    const J_COLOR_SPACE space = cinfo->jpeg_color_space;
    if (space == JCS_CMYK || space == JCS_YCCK) {
        snprintf(decoder->message, sizeof decoder->message,
                 "the JPEG is %s (4 components, for print); only gray, YCbCr and RGB JPEGs are "
                 "accepted", space == JCS_CMYK ? "CMYK" : "YCCK");
        return -1;
    }
    if (space != JCS_GRAYSCALE && space != JCS_YCbCr && space != JCS_RGB) {
        snprintf(decoder->message, sizeof decoder->message,
                 "the JPEG has %d components in an unknown colour space; only gray, YCbCr and "
                 "RGB JPEGs are accepted", cinfo->num_components);
        return -1;
    }
    const size_t needed = (size_t)cinfo->image_width * cinfo->image_height * 3;
    if (out_size < needed) {
        snprintf(decoder->message, sizeof decoder->message,
                 "output buffer holds %zu bytes, the image needs %zu", out_size, needed);
        return -1;
    }
    // libjpeg's defaults are what Pillow decodes with: JDCT_ISLOW, fancy upsampling, no scaling.
    cinfo->out_color_space = JCS_RGB;
    cinfo->mem->max_memory_to_use = (long)max_memory;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_width != cinfo->image_width || cinfo->output_height != cinfo->image_height ||
        cinfo->output_components != 3) {
        snprintf(decoder->message, sizeof decoder->message,
                 "libjpeg would output %ux%u pixels of %d components, not the %ux%u RGB of the header",
                 cinfo->output_width, cinfo->output_height, cinfo->output_components,
                 cinfo->image_width, cinfo->image_height);
        jpeg_abort_decompress(cinfo);
        return -1;
    }
    const size_t stride = (size_t)cinfo->output_width * 3;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out + (size_t)cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

int cjpeg_decoder_scans(const cjpeg_decoder *decoder) {
    return decoder->cinfo.input_scan_number;
}

const char *cjpeg_decoder_error(const cjpeg_decoder *decoder) {
    return decoder->message;
}

void cjpeg_decoder_destroy(cjpeg_decoder *decoder) {
    if (decoder == NULL) {
        return;
    }
    jpeg_destroy_decompress(&decoder->cinfo);
    free(decoder);
}
