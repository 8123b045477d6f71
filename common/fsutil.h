/* Small filesystem helpers with err_t errors. */
#ifndef COMMON_FSUTIL_H
#define COMMON_FSUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"
#include "strbuf.h"

/* Append everything readable from fd to sb, refusing more than max bytes
 * (EXIT_USAGE). what names the source in errors. */
err_t *fs_read_fd(int fd, size_t max, const char *what, struct strbuf *sb);
err_t *fs_read_file(const char *path, size_t max, struct strbuf *sb);
/* write(2) until all of data is out (EINTR and short writes handled);
 * what names the destination in errors. */
err_t *fs_write_all(int fd, const void *data, size_t len, const char *what);
/* Write data to dir/name through a temp file + fsync + rename, so readers
 * see the old file or the whole new one, never a part. */
err_t *fs_write_atomic(const char *dir, const char *name, const void *data, size_t len, mode_t mode);
/* fs_write_atomic to a path (its directory, or the current one). */
err_t *fs_write_path_atomic(const char *path, const void *data, size_t len, mode_t mode);
err_t *fs_mkdir_p(const char *path, mode_t mode);
/* Remove dir and everything under it, best effort: directories made
 * writable first (a build step may leave them 0555), symbolic links
 * removed, never followed, and no other filesystem mounted below entered. */
void fs_remove_tree(const char *dir);

#endif
