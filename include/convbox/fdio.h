/* Small descriptor helpers shared by the host's writers. */
#ifndef CONVBOX_FDIO_H
#define CONVBOX_FDIO_H

#include <stddef.h>

/* Write all len bytes to a blocking fd, retrying on EINTR. 0, or -1 with errno set. */
int cvb_write_all(int fd, const void *buf, size_t len);

#endif
