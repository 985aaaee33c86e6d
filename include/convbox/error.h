/* Error reporting for library code: a message naming what failed, never printed by the library. */
#ifndef CONVBOX_ERROR_H
#define CONVBOX_ERROR_H

struct cvb_error {
	char msg[1024];
};

/* Set the message (printf-style). Returns -1 so callers can `return cvb_error_set(...)`. */
int cvb_error_set(struct cvb_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, appending ": strerror(errnum)". */
int cvb_error_errno(struct cvb_error *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
