/* image.c: reading pictures into float tensors and writing float pictures as PNG.
 *
 * Decoding and encoding are Debian's stb (libstb: stb_image reads PNG, JPEG, BMP, GIF, TGA, PSD,
 * HDR, PIC; stb_image_write writes PNG); glia adds what a network needs around them:
 * conversion to 1, 3 or 4 float channels in [0, 1], planar CHW layout, resizing, and errors
 * that name the file.
 *
 * Channel conversion. Alpha is composited over white for 1 and 3 channels (a transparent
 * background reads as paper, as a browser shows it); 4 channels keep alpha as it is. Grey from
 * colour is luminance 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, what PIL's convert("L") uses),
 * computed in float without rounding to 8 bits; a grey file stays exact. Colour from grey
 * replicates it. 16-bit PNG and PNM files keep their 16 bits (values v / 65535; PNM: v / maxval).
 * Binary PGM/PPM are read here (see decode_pnm for why), everything else by stb_image.
 *
 * Resizing is separable, one axis after the other. An axis that shrinks uses area averaging:
 * output pixel o covers input interval [o s, (o+1) s), s = in / out, and is the mean of the
 * input over it (partial pixels weighted by their overlap), so an exact 2x shrink gives 2x2
 * means and thin detail is averaged rather than aliased. An axis that grows uses bilinear interpolation with pixel centres
 * aligned (PyTorch's align_corners=False), clamped at the borders; equal sizes copy. */
#include "../core/internal.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#define IMG_MAX_SIDE 65536 /* output sides; stb_image's own input limit is 2^24 */

/* ------------------------------------------------------------------ the pixel limit
 * A file is refused before it is decoded when its header declares more pixels than this: a
 * 20000x20000 PNG of 389 KB decodes to 2 GB (10 s) only to be shrunk to 28x28. */
static int64_t max_pixels = GLIA_IMAGE_MAX_PIXELS;

int64_t glia_image_set_max_pixels(int64_t n) {
    int64_t old = max_pixels;
    max_pixels = n > 0 ? n : GLIA_IMAGE_MAX_PIXELS;
    return old;
}

static glia_status check_pixels(const char *path, long long w, long long h) {
    if (w * h <= max_pixels) return GLIA_OK; /* both < 2^25 (stb_image's and our headers' limits) */
    return glia__err(GLIA_ERANGE, "%s: a %lldx%lld image (%lld pixels) is over the limit of %lld "
                     "pixels, so it was not decoded; glia_image_set_max_pixels (--max-pixels N on "
                     "the command line) raises the limit", path, w, h, w * h, (long long)max_pixels);
}

/* ------------------------------------------------------------------ decoding */

/* A decoded file: interleaved samples (8 or 16 bits) of n native channels (1 grey, 2 grey +
 * alpha, 3 RGB, 4 RGBA), each divided by maxval for [0, 1]. */
typedef struct {
    int w, h, n, is16, from_stb;
    float maxval;
    void *px;
} decoded;

static float sample(const decoded *d, size_t i) {
    return (d->is16 ? (float)((const uint16_t *)d->px)[i] : (float)((const uint8_t *)d->px)[i]) /
           d->maxval;
}

static void decoded_free(decoded *d) {
    if (d->from_stb) stbi_image_free(d->px);
    else free(d->px);
    d->px = NULL;
}

/* ------------------------------------------------------------------ binary PGM/PPM
 * Read here rather than by stb_image 2.27 (Debian's), which reads 16-bit samples in host
 * byte order instead of the format's big-endian order, and ignores maxval (a PGM with maxval
 * 15 would come out 17 times too dark). P5 (grey) and P6 (RGB), maxval 1..65535 (two bytes
 * per sample above 255), '#' comments in the header. */

/* Skips whitespace and comments, then reads a decimal number (at most max); -1 on error. */
static long pnm_number(FILE *f, long max) {
    int ch = fgetc(f);
    for (;;) {
        while (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f')
            ch = fgetc(f);
        if (ch != '#') break;
        while (ch != '\n' && ch != '\r' && ch != EOF) ch = fgetc(f);
    }
    if (ch < '0' || ch > '9') return -1;
    long v = 0;
    for (; ch >= '0' && ch <= '9'; ch = fgetc(f)) {
        v = v * 10 + (ch - '0');
        if (v > max) return -1;
    }
    /* the single whitespace character after the number is consumed with it */
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f' ? v : -1;
}

static glia_status decode_pnm(FILE *f, const char *path, int channels, decoded *d) {
    long w = pnm_number(f, 1 << 24), h = w > 0 ? pnm_number(f, 1 << 24) : -1;
    long maxval = h > 0 ? pnm_number(f, 65535) : -1;
    if (w < 1 || h < 1 || maxval < 1)
        return glia__err(GLIA_EIO, "%s: bad P%c header (width, height and maxval 1..65535 "
                         "expected)", path, channels == 1 ? '5' : '6');
    glia_status ps = check_pixels(path, w, h);
    if (ps) return ps;
    size_t count = (size_t)w * (size_t)h * (size_t)channels, bytes = maxval > 255 ? 2 : 1;
    if (count > ((size_t)1 << 31))
        return glia__err(GLIA_EIO, "%s: a %ldx%ld image is too large", path, w, h);
    uint8_t *raw = glia__malloc(count * bytes);
    uint16_t *v = glia__malloc(count * sizeof *v);
    size_t got = raw && v ? fread(raw, 1, count * bytes, f) : 0;
    glia_status s = GLIA_OK;
    if (!raw || !v) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory for a %ldx%ld image", path, w, h);
    } else if (got != count * bytes) {
        s = glia__err(GLIA_EIO, "%s: truncated: the %ldx%ld pixels need %zu bytes, the file "
                      "has %zu", path, w, h, count * bytes, got);
    } else {
        /* 16-bit samples are big-endian; samples above maxval are invalid and count as maxval */
        for (size_t i = 0; i < count; i++) {
            long x = bytes == 2 ? (long)raw[2 * i] << 8 | raw[2 * i + 1] : (long)raw[i];
            v[i] = (uint16_t)(x < maxval ? x : maxval);
        }
        *d = (decoded){.w = (int)w, .h = (int)h, .n = channels, .is16 = 1,
                       .maxval = (float)maxval, .px = v};
        v = NULL;
    }
    free(raw);
    free(v);
    return s;
}

/* ------------------------------------------------------------------ everything else: stb_image */

/* stb's reason for the last failure, never NULL. */
static const char *stb_reason(void) {
    const char *r = stbi_failure_reason();
    return r && *r ? r : "unknown reason";
}

/* The format a file's first bytes announce, NULL if none stb_image knows by its signature (TGA
 * has none). */
static const char *signature(FILE *f) {
    unsigned char b[8] = {0};
    size_t n = fread(b, 1, sizeof b, f);
    rewind(f);
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return "JPEG";
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (n >= 4 && !memcmp(b, "GIF8", 4)) return "GIF";
    if (n >= 2 && !memcmp(b, "BM", 2)) return "BMP";
    if (n >= 4 && !memcmp(b, "8BPS", 4)) return "PSD";
    if (n >= 2 && !memcmp(b, "#?", 2)) return "HDR";
    return NULL;
}

static glia_status decode_stb(FILE *f, const char *path, long long size, decoded *d) {
    /* stbi_info reads the header only: it tells "not an image" from "a broken image", and gives
     * the size to check before decoding. */
    int w, h, n;
    if (!stbi_info_from_file(f, &w, &h, &n)) {
        /* stbi_info tries every format in turn, so its reason is the last one's ("bad png sig"
         * for a truncated JPEG): for a file whose signature names a format, that format's
         * decoder says what is wrong (it stops where the header breaks, before any pixels) */
        const char *type = signature(f);
        if (!type)
            return glia__err(GLIA_EIO, "%s: not an image stb_image can read (%s; %lld bytes); "
                             "PNG, JPEG, BMP, GIF, PGM/PPM, TGA, PSD and HDR are", path,
                             stb_reason(), size);
        int w2, h2, n2;
        stbi_uc *px = stbi_load_from_file(f, &w2, &h2, &n2, 0);
        if (!px)
            return glia__err(GLIA_EIO, "%s: a broken or truncated %s file (%lld bytes): "
                             "stb_image: %s", path, type, size, stb_reason());
        *d = (decoded){.w = w2, .h = h2, .n = n2, .from_stb = 1, .maxval = 255.0f, .px = px};
        glia_status s = check_pixels(path, w2, h2);
        if (s) decoded_free(d);
        return s;
    }
    glia_status s = check_pixels(path, w, h);
    if (s) return s;
    int is16 = stbi_is_16_bit_from_file(f), w2, h2, n2;
    void *px = is16 ? (void *)stbi_load_from_file_16(f, &w2, &h2, &n2, 0)
                    : (void *)stbi_load_from_file(f, &w2, &h2, &n2, 0);
    if (!px)
        return glia__err(GLIA_EIO, "%s: cannot decode the %dx%d image: stb_image: %s", path, w,
                         h, stb_reason());
    *d = (decoded){.w = w2, .h = h2, .n = n2, .is16 = is16, .from_stb = 1,
                   .maxval = is16 ? 65535.0f : 255.0f, .px = px};
    return GLIA_OK;
}

static glia_status decode_file(const char *path, decoded *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return glia__err(GLIA_EIO, "%s: cannot open image: %s", path, strerror(errno));
    struct stat st;
    glia_status s;
    if (fstat(fileno(f), &st) != 0) {
        s = glia__err(GLIA_EIO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        s = glia__err(GLIA_EIO, "%s: is a directory, not an image", path);
    } else {
        int c0 = fgetc(f), c1 = fgetc(f);
        if (c0 == 'P' && (c1 == '5' || c1 == '6')) {
            s = decode_pnm(f, path, c1 == '5' ? 1 : 3, d);
        } else {
            rewind(f);
            s = decode_stb(f, path, (long long)st.st_size, d);
        }
    }
    fclose(f);
    return s;
}

/* Pixel i of d as RGBA in [0, 1]. */
static void rgba_at(const decoded *d, size_t i, float v[4]) {
    size_t b = i * (size_t)d->n;
    if (d->n <= 2) v[0] = v[1] = v[2] = sample(d, b);
    else for (int c = 0; c < 3; c++) v[c] = sample(d, b + c);
    v[3] = d->n == 2 ? sample(d, b + 1) : d->n == 4 ? sample(d, b + 3) : 1.0f;
}

/* Native channels -> `channels` planar floats at the file's size (see the top comment). */
static void convert_channels(const decoded *d, int channels, float *out) {
    size_t hw = (size_t)d->w * d->h;
    int has_alpha = d->n == 2 || d->n == 4;
    for (size_t i = 0; i < hw; i++) {
        float v[4];
        rgba_at(d, i, v);
        if (channels == 4) {
            for (int c = 0; c < 4; c++) out[c * hw + i] = v[c];
            continue;
        }
        if (has_alpha) /* over white */
            for (int c = 0; c < 3; c++) v[c] = v[c] * v[3] + (1.0f - v[3]);
        if (channels == 3) {
            for (int c = 0; c < 3; c++) out[c * hw + i] = v[c];
        } else if (d->n <= 2) {
            out[i] = v[0]; /* grey stays exact */
        } else {
            out[i] = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
        }
    }
}

/* ------------------------------------------------------------------ resizing */

/* The weights of one axis: output o reads taps[o * k .. o * k + k - 1] starting at input
 * first[o] (k = most taps any output needs; unused taps have weight 0). */
typedef struct {
    int k;
    int *first;
    float *w;
} axis_taps;

static void taps_free(axis_taps *t) {
    free(t->first);
    free(t->w);
}

static int taps_alloc(axis_taps *t, int out, int k) {
    t->k = k;
    t->first = glia__malloc((size_t)out * sizeof *t->first);
    t->w = glia__calloc((size_t)out * (size_t)k, sizeof *t->w);
    return t->first && t->w;
}

/* Area averaging, out < in: overlap of [i, i+1) with [o s, (o+1) s), divided by s. */
static int taps_area(axis_taps *t, int in, int out) {
    double s = (double)in / out;
    if (!taps_alloc(t, out, (int)ceil(s) + 1)) return 0;
    for (int o = 0; o < out; o++) {
        double lo = o * s, hi = (o + 1) * s;
        int i0 = (int)floor(lo), i1 = (int)ceil(hi);
        if (i1 > in) i1 = in;
        t->first[o] = i0;
        for (int i = i0; i < i1 && i - i0 < t->k; i++) {
            double a = fmax(lo, i), b = fmin(hi, i + 1.0);
            t->w[(size_t)o * t->k + (i - i0)] = (float)((b - a) / s);
        }
    }
    return 1;
}

/* Bilinear, out >= in: centre of output o sits at input coordinate (o + 0.5) in/out - 0.5. */
static int taps_bilinear(axis_taps *t, int in, int out) {
    if (!taps_alloc(t, out, 2)) return 0;
    double s = (double)in / out;
    for (int o = 0; o < out; o++) {
        double x = (o + 0.5) * s - 0.5;
        if (x < 0) x = 0;
        if (x > in - 1) x = in - 1;
        int i0 = (int)floor(x);
        if (i0 > in - 2) i0 = in > 1 ? in - 2 : 0; /* keep both taps inside */
        double a = x - i0;
        t->first[o] = i0;
        t->w[(size_t)o * 2] = (float)(1.0 - a);
        if (in > 1) t->w[(size_t)o * 2 + 1] = (float)a;
    }
    return 1;
}

static int taps_make(axis_taps *t, int in, int out) {
    return out < in ? taps_area(t, in, out) : taps_bilinear(t, in, out);
}

/* dst[o] = sum_j w[o][j] src[(first[o] + j) * stride], for a line of `out` outputs. */
static void apply_taps(const axis_taps *t, int out, const float *src, size_t stride,
                       float *dst, size_t dstride) {
    for (int o = 0; o < out; o++) {
        const float *w = t->w + (size_t)o * t->k;
        const float *p = src + (size_t)t->first[o] * stride;
        double acc = 0;
        for (int j = 0; j < t->k; j++)
            if (w[j] != 0.0f) acc += (double)w[j] * p[(size_t)j * stride];
        dst[(size_t)o * dstride] = (float)acc;
    }
}

/* Resizes `channels` planes of h x w into oh x ow: rows first, then columns. */
static int resize_planes(const float *src, int channels, int h, int w, float *dst, int oh,
                         int ow) {
    axis_taps tx = {0}, ty = {0};
    float *mid = glia__malloc((size_t)h * ow * sizeof *mid);
    int ok = mid && taps_make(&tx, w, ow) && taps_make(&ty, h, oh);
    for (int c = 0; ok && c < channels; c++) {
        const float *sp = src + (size_t)c * h * w;
        float *dp = dst + (size_t)c * oh * ow;
        for (int y = 0; y < h; y++)
            apply_taps(&tx, ow, sp + (size_t)y * w, 1, mid + (size_t)y * ow, 1);
        for (int x = 0; x < ow; x++)
            apply_taps(&ty, oh, mid + x, (size_t)ow, dp + x, (size_t)ow);
    }
    taps_free(&tx);
    taps_free(&ty);
    free(mid);
    return ok;
}

/* ------------------------------------------------------------------ public API */

glia_status glia_image_load(const char *path, int channels, int height, int width,
                            glia_tensor **out) {
    if (!path || !out) return glia__err(GLIA_EINVAL, "glia_image_load: NULL argument");
    *out = NULL;
    if (channels != 1 && channels != 3 && channels != 4)
        return glia__err(GLIA_EINVAL, "%s: cannot load an image as %d channels (1, 3 or 4)",
                         path, channels);
    if (height < 0 || width < 0 || height > IMG_MAX_SIDE || width > IMG_MAX_SIDE)
        return glia__err(GLIA_EINVAL, "%s: bad target size %dx%d (0 keeps the file's size; "
                         "at most %d)", path, height, width, IMG_MAX_SIDE);
    decoded d = {0};
    glia_status s = decode_file(path, &d);
    if (s) return s;
    if (d.w < 1 || d.h < 1) { /* stb_image accepts some headers of 0x0 pictures (found by fuzzing) */
        decoded_free(&d);
        return glia__err(GLIA_EIO, "%s: the image is empty (%dx%d pixels)", path, d.w, d.h);
    }
    int oh = height ? height : d.h, ow = width ? width : d.w;

    float *full = glia__malloc((size_t)channels * d.h * d.w * sizeof *full);
    glia_tensor *t = NULL;
    if (full) s = glia_tensor_new(&t, 3, (int64_t[]){channels, oh, ow});
    if (!full || s) {
        decoded_free(&d);
        free(full);
        return glia__err(GLIA_ENOMEM, "%s: out of memory for a %dx%dx%d image", path, channels,
                         oh, ow);
    }
    convert_channels(&d, channels, full);
    decoded_free(&d);
    if (oh == d.h && ow == d.w) {
        memcpy(t->data, full, (size_t)channels * oh * ow * sizeof *full);
    } else if (!resize_planes(full, channels, d.h, d.w, t->data, oh, ow)) {
        free(full);
        glia_tensor_free(t);
        return glia__err(GLIA_ENOMEM, "%s: out of memory resizing %dx%d to %dx%d", path, d.h,
                         d.w, oh, ow);
    }
    free(full);
    *out = t;
    return GLIA_OK;
}

/* stb_image_write's sink: the atomic writer, which remembers the first failure. */
static void sink_write(void *ctx, void *data, int size) { glia__atomic_write(ctx, data, (size_t)size); }

glia_status glia_image_save_png(const char *path, const float *chw, int channels, int height,
                                int width) {
    if (!path || !chw) return glia__err(GLIA_EINVAL, "glia_image_save_png: NULL argument");
    if (!path[0]) return glia__err(GLIA_EINVAL, "glia_image_save_png: empty path");
    if (channels != 1 && channels != 3 && channels != 4)
        return glia__err(GLIA_EINVAL, "%s: a PNG has 1, 3 or 4 channels, not %d", path,
                         channels);
    if (height < 1 || width < 1 || height > IMG_MAX_SIDE || width > IMG_MAX_SIDE)
        return glia__err(GLIA_EINVAL, "%s: bad image size %dx%d (1 to %d a side)", path,
                         height, width, IMG_MAX_SIDE);
    size_t hw = (size_t)height * width;
    if (hw * (size_t)(channels + 1) > INT_MAX / 2) /* stb_image_write sizes its buffers in int */
        return glia__err(GLIA_EINVAL, "%s: a %dx%d image is too large for a PNG here", path,
                         height, width);
    uint8_t *px = glia__malloc(hw * channels);
    if (!px) return glia__err(GLIA_ENOMEM, "%s: out of memory for a %dx%d PNG", path, height, width);
    /* planar floats -> interleaved bytes; NaN fails both comparisons and becomes 0 */
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < channels; c++) {
            float v = chw[(size_t)c * hw + i];
            v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
            px[i * channels + c] = (uint8_t)(v * 255.0f + 0.5f);
        }
    /* through the atomic writer, so a crash never leaves half a picture */
    glia__atomic *a;
    glia_status s = glia__atomic_open(path, &a);
    if (!s && !stbi_write_png_to_func(sink_write, a, width, height, channels, px, width * channels)) {
        glia__atomic_abort(a);
        s = glia__err(GLIA_ENOMEM, "%s: encoding the %dx%d PNG failed (out of memory)", path,
                      height, width);
    } else if (!s) {
        s = glia__atomic_commit(a);
    }
    free(px);
    return s;
}
