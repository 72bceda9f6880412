/* SPDX-License-Identifier: Apache-2.0
 *
 * result.h: the one result code every assetbridge function returns.
 *
 * Codes are split into permanent failures (retrying the same call cannot
 * help) and retryable ones (the same call may succeed later). The retry
 * policy of the sync engine keys off ab_rc_retryable(); the API maps codes to
 * HTTP statuses and error classes. Any layer may include this header.
 */
#ifndef AB_CORE_RESULT_H
#define AB_CORE_RESULT_H

#include <stdbool.h>

#define AB_MUST_CHECK __attribute__((warn_unused_result))
#define AB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define AB_NORETURN _Noreturn

enum ab_rc {
    AB_OK = 0,

    /* permanent failures: 1..99 */
    AB_EINVAL = 1,   /* a value is invalid (validation) */
    AB_EPARSE,       /* input is not well-formed (syntax) */
    AB_ENOTFOUND,    /* the subject does not exist */
    AB_ECONFLICT,    /* stale revision, invalid transition, duplicate */
    AB_ETOOLARGE,    /* a bounded buffer or limit would be exceeded */
    AB_EAUTH,        /* authentication failed */
    AB_EFORBIDDEN,   /* authenticated, but not allowed */
    AB_EIDENTITY,    /* unknown or ambiguous asset reference */
    AB_EUNSUPPORTED, /* the operation is not supported here */
    AB_ECONFIG,      /* the configuration is invalid */
    AB_EIO,          /* a local file or socket operation failed */
    AB_EINTERNAL,    /* a bug or an impossible state */

    /* retryable failures: 100.. */
    AB_EAGAIN = 100, /* busy; try again (lock held, queue full) */
    AB_ETIMEOUT,     /* no answer in time; outcome may be unknown */
    AB_ERATELIMIT,   /* throttled by a rate limit */
    AB_EUNAVAILABLE, /* the peer or store is down */
    AB_ENETWORK,     /* connection refused, reset, DNS */
    AB_EUNKNOWN,     /* the request may or may not have taken effect */
};

/* True when a failure with this code may succeed if tried again later.
 * AB_OK is not retryable. Thread-safe. */
static inline bool ab_rc_retryable(enum ab_rc rc)
{
    return rc >= AB_EAGAIN;
}

/* A short, stable, lower-case name of the code ("ok", "not_found", ...),
 * used in logs and error bodies. Never NULL. Thread-safe. */
const char *ab_rc_name(enum ab_rc rc);

#endif
