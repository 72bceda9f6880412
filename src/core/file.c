/* SPDX-License-Identifier: Apache-2.0
 *
 * file.c: whole-file reads with a ceiling. See file.h.
 */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum ab_rc file_read_all(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return AB_EIO;
    enum ab_rc rc = AB_OK;
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = AB_EIO;
            break;
        }
        if (n == 0)
            break;
        rc = buf_append(out, chunk, (size_t)n);
        if (rc)
            break;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int file_mkdir_p(const char *path)
{
    char tmp[4096];
    if (strlen(path) >= sizeof(tmp))
        return ENAMETOOLONG;
    memcpy(tmp, path, strlen(path) + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return errno;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}
