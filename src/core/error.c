/* error.c: the thread-local last-error message every failing call sets. */
#include "internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *glia_last_error(void) { return last_error; }

/* Formats into a scratch buffer first: callers may pass glia_last_error() itself as an
 * argument, to add context to a message (overlapping vsnprintf buffers are undefined). */
glia_status glia__err(glia_status s, const char *fmt, ...) {
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return s;
}

const char *glia_status_name(glia_status s) {
    switch (s) {
    case GLIA_OK: return "ok";
    case GLIA_EINVAL: return "invalid argument";
    case GLIA_ESHAPE: return "shape error";
    case GLIA_ENOMEM: return "out of memory";
    case GLIA_EIO: return "i/o error";
    case GLIA_ERANGE: return "value out of range";
    case GLIA_ESTATE: return "bad state";
    case GLIA_EINTR: return "interrupted";
    }
    return "unknown status";
}

const char *glia_version(void) { return GLIA_VERSION; }
