/* SPDX-License-Identifier: Apache-2.0
 *
 * result.c: names of the result codes declared in result.h.
 */
#include "core/result.h"

const char *ab_rc_name(enum ab_rc rc)
{
    switch (rc) {
    case AB_OK: return "ok";
    case AB_EINVAL: return "invalid";
    case AB_EPARSE: return "parse_error";
    case AB_ENOTFOUND: return "not_found";
    case AB_ECONFLICT: return "conflict";
    case AB_ETOOLARGE: return "too_large";
    case AB_EAUTH: return "authentication";
    case AB_EFORBIDDEN: return "authorization";
    case AB_EIDENTITY: return "identity";
    case AB_EUNSUPPORTED: return "unsupported";
    case AB_ECONFIG: return "config_error";
    case AB_EIO: return "io_error";
    case AB_EINTERNAL: return "internal";
    case AB_EAGAIN: return "busy";
    case AB_ETIMEOUT: return "timeout";
    case AB_ERATELIMIT: return "rate_limited";
    case AB_EUNAVAILABLE: return "unavailable";
    case AB_ENETWORK: return "network";
    case AB_EUNKNOWN: return "unknown_outcome";
    }
    return "unknown_code";
}
