// Gradeline's shim over libpng.
//
// libpng reports errors by longjmp. Every function here that calls into libpng owns its own
// setjmp, turns a libpng error into a return code plus a message, and never lets a longjmp
// cross into Swift.
#ifndef GRADELINE_CPNG_H
#define GRADELINE_CPNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What the header of a PNG says, read before any pixel buffer exists.
typedef struct cpng_info {
    uint32_t width;
    uint32_t height;
    int bit_depth;      // 1, 2, 4, 8 or 16
    int color_type;     // PNG_COLOR_TYPE_*: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
    int interlaced;     // 1 for Adam7
    int has_alpha;      // 1 when the image has an alpha channel or a tRNS chunk
} cpng_info;

typedef struct cpng_decoder cpng_decoder;

/// Creates a decoder over `size` bytes at `data`; the bytes must outlive the decoder.
/// Returns NULL only when memory is exhausted.
cpng_decoder *cpng_decoder_create(const uint8_t *data, size_t size);

/// Reads the signature and the chunks up to the image data. First checks that every chunk
/// lies within the file, so that no length field makes libpng allocate more than the file
/// holds; metadata chunks (text, sPLT, pCAL, sCAL, eXIf, iCCP) are skipped unread. Rejects
/// widths or heights above the limits before libpng allocates anything for rows. Returns 0,
/// or -1 with a message.
int cpng_decoder_read_info(cpng_decoder *decoder, uint32_t max_width, uint32_t max_height,
                           cpng_info *info);

/// Decodes every pixel into `out` as 8-bit RGB (width * height * 3 bytes). Palettes and low
/// bit depths are expanded, 16-bit samples are scaled with rounding, gray is replicated, and
/// alpha is composited over white. Stops inflating at the last row: image data that goes on
/// past it by more than a small slack is refused as corrupt. Returns 0, or -1 with a message.
int cpng_decoder_read_rgb8(cpng_decoder *decoder, uint8_t *out, size_t out_size);

/// The largest single block of memory libpng asked for so far, in bytes: tests of hostile
/// files use it to show that no chunk made libpng allocate what its length field claimed.
size_t cpng_decoder_largest_allocation(const cpng_decoder *decoder);

/// The message of the last error, or "" when there was none.
const char *cpng_decoder_error(const cpng_decoder *decoder);

void cpng_decoder_destroy(cpng_decoder *decoder);

/// Encodes 8-bit gray (channels 1) or RGB (channels 3) pixels as a PNG. On success returns 0
/// and a malloc'd buffer in *out that the caller frees with cpng_free. On failure returns -1
/// and writes a message into `error` (at most error_size bytes).
int cpng_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                int compression_level, uint8_t **out, size_t *out_size,
                char *error, size_t error_size);

void cpng_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
