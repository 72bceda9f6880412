/* SPDX-License-Identifier: Apache-2.0
 *
 * file.h: whole-file reads with a ceiling, for configuration, secrets and
 * certificates. Thread-safe.
 */
#ifndef AB_CORE_FILE_H
#define AB_CORE_FILE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/result.h"

/* Append the contents of path to out (whose ceiling bounds the size).
 * AB_EIO when the file cannot be opened or read (errno is kept for the
 * caller's message), AB_ETOOLARGE when it does not fit. */
enum ab_rc file_read_all(const char *path, struct buf *out) AB_MUST_CHECK;

/* Create directory path and its parents (mode 0750) like mkdir -p.
 * Returns 0, or an errno value (ENOTDIR when path exists as a file). */
int file_mkdir_p(const char *path);

#endif
