// Gradeline's shim over libjpeg-turbo's libjpeg API.
//
// libjpeg reports errors by calling error_exit, which must not return. Every function here
// that calls into libjpeg owns its own setjmp, turns a libjpeg error (and any warning, see
// below) into a return code plus a message, and never lets a longjmp cross into Swift.
// Nothing is printed: libjpeg's messages are kept for the caller.
#ifndef GRADELINE_CJPEG_H
#define GRADELINE_CJPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The colour spaces a JPEG may declare, as libjpeg's J_COLOR_SPACE numbers them.
enum {
    CJPEG_COLOR_UNKNOWN = 0,
    CJPEG_COLOR_GRAYSCALE = 1,
    CJPEG_COLOR_RGB = 2,
    CJPEG_COLOR_YCBCR = 3,
    CJPEG_COLOR_CMYK = 4,
    CJPEG_COLOR_YCCK = 5,
};

/// What a JPEG's header (the markers up to the first scan) says, before any pixel buffer.
typedef struct cjpeg_info {
    uint32_t width;
    uint32_t height;
    int components;     // 1 gray, 3 YCbCr or RGB, 4 CMYK or YCCK
    int color_space;    // CJPEG_COLOR_*
    int progressive;    // 1 for a progressive JPEG
    /// Bytes of memory the decode may take: the coefficient buffer a progressive or
    /// multi-scan image keeps for all its blocks (0 for a single-scan image), plus working room.
    size_t memory_needed;
} cjpeg_info;

typedef struct cjpeg_decoder cjpeg_decoder;

/// Creates a decoder over `size` bytes at `data`; the bytes must outlive the decoder.
/// `max_scans` bounds the scans (SOS markers) a file may have. Returns NULL only when memory
/// is exhausted.
cjpeg_decoder *cjpeg_decoder_create(const uint8_t *data, size_t size, int max_scans);

/// Reads the markers up to the first scan. Returns 0, or -1 with a message.
int cjpeg_decoder_read_header(cjpeg_decoder *decoder, cjpeg_info *info);

/// Decodes every pixel into `out` as 8-bit RGB (width * height * 3 bytes), with libjpeg's
/// defaults (the accurate integer IDCT, fancy upsampling); gray is replicated into R, G and B.
/// CMYK, YCCK and unknown colour spaces are refused. libjpeg may take at most `max_memory`
/// bytes. Any libjpeg warning (corrupt data, premature end of the file, a bad Huffman code) is
/// an error, and so is a file with more than the decoder's `max_scans` scans. Returns 0, or -1
/// with a message.
int cjpeg_decoder_read_rgb8(cjpeg_decoder *decoder, uint8_t *out, size_t out_size,
                            size_t max_memory);

/// The scans libjpeg has started so far: tests of scan bombs use it.
int cjpeg_decoder_scans(const cjpeg_decoder *decoder);

/// The message of the last error, or "" when there was none.
const char *cjpeg_decoder_error(const cjpeg_decoder *decoder);

void cjpeg_decoder_destroy(cjpeg_decoder *decoder);

#ifdef __cplusplus
}
#endif

#endif
