/* SPDX-License-Identifier: Apache-2.0
 *
 * id.h: sortable unique identifiers (ULID) and secure random bytes.
 *
 * A ULID is 26 Crockford base32 characters: 48 bits of milliseconds from
 * clock_now_ms() followed by 80 random bits. Within one process ids are
 * strictly increasing, also within one millisecond and when the clock steps
 * back: the generator then increments the previous id. Thread-safe.
 */
#ifndef AB_CORE_ID_H
#define AB_CORE_ID_H

#include <stddef.h>
#include <stdint.h>

#define ID_ULID_LEN 26

/* Write a new ULID and its terminator into out. */
void id_ulid_new(char out[ID_ULID_LEN + 1]);

/* Milliseconds encoded in a ULID, or -1 when s is not a ULID. */
int64_t id_ulid_time_ms(const char *s);

/* Fill buf with n bytes from the kernel's CSPRNG (getrandom). Aborts when the
 * kernel cannot provide them: no silent fallback to weak randomness. */
void id_random_bytes(void *buf, size_t n);

#endif
