/* SPDX-License-Identifier: Apache-2.0
 *
 * crash.h: named crash points for crash tests.
 *
 * Code marks the moments where a crash is most interesting
 * (crash_point("ingest.mid_commit")). When the environment variable
 * ASSETBRIDGE_CRASH_AT names that point (optionally "NAME:N" for the N-th
 * time it is reached), the process kills itself with SIGKILL right there, as
 * a power cut would. Unset, a crash point costs one load and a compare.
 * Thread-safe.
 */
#ifndef AB_CORE_CRASH_H
#define AB_CORE_CRASH_H

/* Read ASSETBRIDGE_CRASH_AT (call once at start; tests may call it again). */
void crash_init(void);

/* Die here if this is the configured point. */
void crash_point(const char *name);

#endif
