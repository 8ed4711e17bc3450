/* idx.c: IDX files (MNIST, Fashion-MNIST), gzipped or raw, into float tensors.
 *
 * Format (big-endian throughout): two zero bytes, a type byte (0x08 ubyte, 0x09 sbyte, 0x0B
 * int16, 0x0C int32, 0x0D float32, 0x0E float64), a dimension count byte, that many uint32
 * dimensions, then the values in row-major order. zlib's gzread reads gzip and raw files alike
 * (a raw file passes through unchanged). The data is inflated in 1 MiB blocks and converted to
 * float as it arrives (or, for ubyte images, kept as bytes: glia__idx_load_bytes). Every problem (bad header, truncated data, data after the end, a corrupt
 * gzip stream) is an error whose message starts with the file's path. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#endif
#include "../core/internal.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <zlib.h>

#define IDX_BLOCK ((size_t)1 << 20)         /* bytes inflated per gzread call */
#define GZ_MAX_RATIO 1032                   /* deflate cannot expand more than this */

typedef struct {
    unsigned char code;
    int size;
    const char *name;
} idx_type;

static const idx_type idx_types[] = {
    {0x08, 1, "ubyte"}, {0x09, 1, "sbyte"}, {0x0B, 2, "short"},
    {0x0C, 4, "int"},   {0x0D, 4, "float"}, {0x0E, 8, "double"},
};

/* Asks for transparent huge pages on a large fresh buffer before it is first written: faulting
 * in Fashion-MNIST's 188 MB of floats 4 KiB at a time costs about 0.45 s on these machines,
 * 2 MiB at a time about 0.04 s. Only advice: failure changes nothing. */
static void advise_huge_pages(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (bytes < 2 * huge) return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* Reads up to n bytes, looping over short reads; returns the count read (< n at the end of the
 * data or on an error, which gzerror() then reports). */
static size_t read_full(gzFile gz, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (size_t)INT_MAX) want = (size_t)INT_MAX;
        int r = gzread(gz, (unsigned char *)buf + got, (unsigned)want);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* zlib's message without the "<fd:N>: " it puts first (the file was opened with gzdopen) */
static const char *zlib_message(gzFile gz, int *zerr) {
    const char *m = gzerror(gz, zerr);
    if (!m) return "unknown error";
    if (!strncmp(m, "<fd:", 4)) {
        const char *c = strstr(m, ": ");
        if (c) return c + 2;
    }
    return m;
}

/* After a short read: GLIA_EIO with either zlib's error or "truncated: <what>". */
static glia_status short_read(gzFile gz, const char *path, const char *what, long long want,
                              long long got) {
    int zerr = Z_OK;
    const char *msg = zlib_message(gz, &zerr);
    if (zerr == Z_ERRNO)
        return glia__err(GLIA_EIO, "%s: read error: %s", path, strerror(errno));
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return glia__err(GLIA_EIO, "%s: corrupt gzip data: %s", path, msg);
    return glia__err(GLIA_EIO, "%s: truncated: expected %lld %s, got %lld%s", path, want, what,
                     got, zerr == Z_BUF_ERROR ? " (the gzip stream ends early)" : "");
}

static inline uint16_t be16(const unsigned char *p) {
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const unsigned char *p) {
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}
/* IEEE floats, big-endian: their bits read as integers, then reinterpreted */
static inline float be_f32(const unsigned char *p) {
    uint32_t u = be32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline double be_f64(const unsigned char *p) {
    uint64_t u = be64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Converts n elements of type `code` from big-endian bytes to float times scale. */
static void convert(unsigned char code, const unsigned char *in, float *out, size_t n,
                    float scale) {
    switch (code) {
    case 0x08:
        for (size_t i = 0; i < n; i++) out[i] = (float)in[i] * scale;
        break;
    case 0x09:
        for (size_t i = 0; i < n; i++) out[i] = (float)(signed char)in[i] * scale;
        break;
    case 0x0B:
        for (size_t i = 0; i < n; i++) out[i] = (float)(int16_t)be16(in + 2 * i) * scale;
        break;
    case 0x0C:
        for (size_t i = 0; i < n; i++)
            out[i] = (float)((double)(int32_t)be32(in + 4 * i) * scale);
        break;
    case 0x0D:
        for (size_t i = 0; i < n; i++) out[i] = be_f32(in + 4 * i) * scale;
        break;
    case 0x0E:
        for (size_t i = 0; i < n; i++) out[i] = (float)(be_f64(in + 8 * i) * scale);
        break;
    }
}

/* the file's values into a new float tensor (*out), or, for a ubyte file when bytes is not NULL,
 * into new bytes (*bytes, shape in *out's place: *shape) as they are: a quarter of the memory */
static glia_status idx_load(const char *path, float scale, glia_tensor **out, uint8_t **bytes,
                            glia_shape *shape) {

    int fd = open(path, O_RDONLY);
    if (fd < 0) return glia__err(GLIA_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return glia__err(GLIA_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return glia__err(GLIA_EIO, "%s: is a directory, not an IDX file", path);
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return glia__err(GLIA_ENOMEM, "%s: cannot open: out of memory for the zlib reader", path);
    }
    gzbuffer(gz, 1u << 17);

    glia_status s = GLIA_OK;
    glia_tensor *t = NULL;
    unsigned char *buf = NULL;
    unsigned char head[4 + 4 * GLIA_MAX_DIMS];

    /* magic: 0, 0, type, ndim */
    size_t got = read_full(gz, head, 4);
    if (got < 4) {
        if (got == 0 && st.st_size == 0 && S_ISREG(st.st_mode)) {
            s = glia__err(GLIA_EIO, "%s: empty file, not an IDX file", path);
        } else {
            s = short_read(gz, path, "header bytes", 4, (long long)got);
        }
        goto done;
    }
    if (head[0] != 0 || head[1] != 0) {
        s = glia__err(GLIA_EIO, "%s: not an IDX file: bad magic 0x%02x%02x%02x%02x (an IDX file "
                      "starts with two zero bytes, then the type and the dimension count)",
                      path, head[0], head[1], head[2], head[3]);
        goto done;
    }
    const idx_type *ty = NULL;
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if (idx_types[i].code == head[2]) ty = &idx_types[i];
    if (!ty) {
        s = glia__err(GLIA_EIO, "%s: unknown IDX type 0x%02x (0x08 ubyte, 0x09 sbyte, 0x0B short, "
                      "0x0C int, 0x0D float, 0x0E double)", path, head[2]);
        goto done;
    }
    int ndim = head[3];
    if (ndim < 1 || ndim > GLIA_MAX_DIMS) {
        s = glia__err(GLIA_EIO, "%s: %d dimensions in the header (1..%d supported)", path, ndim,
                      GLIA_MAX_DIMS);
        goto done;
    }

    /* dimensions */
    size_t dim_bytes = 4 * (size_t)ndim;
    got = read_full(gz, head + 4, dim_bytes);
    if (got < dim_bytes) {
        s = short_read(gz, path, "dimension bytes", (long long)dim_bytes, (long long)got);
        goto done;
    }
    int64_t dims[GLIA_MAX_DIMS];
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(head + 4 + 4 * i);
        if (d == 0) {
            s = glia__err(GLIA_EIO, "%s: dimension %d is 0", path, i);
            goto done;
        }
        if (d > (uint32_t)INT32_MAX) {
            s = glia__err(GLIA_EIO, "%s: dimension %d is %lu (over 2^31 - 1: not a valid IDX size)",
                          path, i, (unsigned long)d);
            goto done;
        }
        dims[i] = (int64_t)d;
        /* checked before multiplying: 2^40 * 2^31 would overflow int64 */
        if (!glia__mul_within(numel, dims[i], GLIA_MAX_ELEMENTS, &numel)) {
            s = glia__err(GLIA_EIO, "%s: dimensions up to %d make more than 2^40 elements "
                          "(too large)", path, i);
            goto done;
        }
    }
    long long data_bytes = (long long)numel * ty->size;
    long long header_bytes = 4 + (long long)dim_bytes;

    /* Before allocating, check that the file can hold the data: a raw file must be exactly
     * header + data; a gzip file cannot inflate to more than ~1032 times its size. */
    if (S_ISREG(st.st_mode)) {
        long long size = (long long)st.st_size;
        if (gzdirect(gz)) {
            long long have = size - header_bytes;
            if (have < data_bytes) {
                s = glia__err(GLIA_EIO, "%s: truncated: expected %lld data bytes, got %lld", path,
                              data_bytes, have);
                goto done;
            }
            if (have > data_bytes) {
                s = glia__err(GLIA_EIO, "%s: %lld bytes of trailing garbage after the %lld data "
                              "bytes", path, have - data_bytes, data_bytes);
                goto done;
            }
        } else if (data_bytes / GZ_MAX_RATIO > size) {
            s = glia__err(GLIA_EIO, "%s: truncated: expected %lld data bytes, more than a %lld-byte "
                          "gzip file can hold", path, data_bytes, size);
            goto done;
        }
    }

    uint8_t *raw = NULL; /* ubyte data kept as bytes */
    if (bytes && ty->code == 0x08) {
        if (!(raw = glia__malloc((size_t)numel))) {
            s = glia__err(GLIA_ENOMEM, "%s: cannot allocate %lld bytes", path, (long long)numel);
            goto done;
        }
        shape->ndim = ndim;
        for (int i = 0; i < ndim; i++) shape->dim[i] = dims[i];
        *bytes = raw;
        s = GLIA_OK;
    } else
        s = glia_tensor_new(&t, ndim, dims);
    if (s != GLIA_OK) {
        s = glia__err(s == GLIA_ENOMEM ? GLIA_ENOMEM : GLIA_EIO,
                      "%s: cannot allocate a tensor of %lld floats", path, (long long)numel);
        t = NULL;
        goto done;
    }
    if (t) advise_huge_pages(t->data, (size_t)numel * sizeof *t->data);
    size_t block = (size_t)data_bytes < IDX_BLOCK ? (size_t)data_bytes : IDX_BLOCK;
    buf = glia__malloc(block);
    if (!buf) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory for a %zu-byte read buffer", path, block);
        goto done;
    }

    /* data, block by block (blocks are whole elements: IDX_BLOCK is a multiple of 8) */
    long long done_bytes = 0;
    float *dst = t ? t->data : NULL;
    uint8_t *dst8 = raw;
    while (done_bytes < data_bytes) {
        size_t want = (size_t)(data_bytes - done_bytes) < block ? (size_t)(data_bytes - done_bytes)
                                                                 : block;
        got = read_full(gz, buf, want);
        if (got < want) {
            s = short_read(gz, path, "data bytes", data_bytes, done_bytes + (long long)got);
            goto done;
        }
        size_t n = want / (size_t)ty->size;
        if (dst8) {
            memcpy(dst8, buf, n);
            dst8 += n;
        } else {
            convert(ty->code, buf, dst, n, scale);
            dst += n;
        }
        done_bytes += (long long)want;
    }

    /* nothing may follow the data (reading on also checks the gzip trailer's CRC and length) */
    got = read_full(gz, buf, block);
    if (got > 0) {
        long long extra = (long long)got;
        while ((got = read_full(gz, buf, block)) > 0) extra += (long long)got;
        s = glia__err(GLIA_EIO, "%s: %lld%s bytes of trailing garbage after the %lld data bytes",
                      path, extra, gzeof(gz) ? "" : " or more", data_bytes);
        goto done;
    }
    int zerr = Z_OK;
    const char *zmsg = zlib_message(gz, &zerr);
    if (zerr == Z_ERRNO) {
        s = glia__err(GLIA_EIO, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    if (zerr == Z_BUF_ERROR) {
        s = glia__err(GLIA_EIO, "%s: truncated: the gzip stream ends early (after the %lld data "
                      "bytes)", path, data_bytes);
        goto done;
    }
    if (zerr != Z_OK) {
        s = glia__err(GLIA_EIO, "%s: corrupt gzip data after the %lld data bytes: %s", path,
                      data_bytes, zmsg);
        goto done;
    }

done:
    free(buf);
    gzclose(gz); /* closes fd */
    if (s != GLIA_OK) {
        glia_tensor_free(t);
        if (bytes && *bytes) {
            free(*bytes);
            *bytes = NULL;
        }
        return s;
    }
    if (t) *out = t;
    return GLIA_OK;
}

glia_status glia_idx_load(const char *path, float scale, glia_tensor **out) {
    if (!path || !out) return glia__err(GLIA_EINVAL, "glia_idx_load: NULL argument");
    return idx_load(path, scale, out, NULL, NULL);
}

glia_status glia__idx_load_bytes(const char *path, glia_tensor **out, uint8_t **bytes, glia_shape *shape) {
    if (!path || !out || !bytes || !shape) return glia__err(GLIA_EINVAL, "glia__idx_load_bytes: NULL argument");
    *out = NULL;
    *bytes = NULL;
    return idx_load(path, 1.0f / 255, out, bytes, shape);
}
