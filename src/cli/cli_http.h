/* SPDX-License-Identifier: Apache-2.0
 *
 * cli_http.h: what the commands that drive a running service share (sync,
 * reconcile, dead-letters, providers): a small client of the service's REST
 * API over libcurl (the approach of cmd_exceptions.c), and waiting for a job
 * with a progress display. The API key comes from the environment
 * (ASSETBRIDGE_API_KEY) so it never shows in a process listing, and it is
 * never printed. TLS certificates are verified.
 *
 * Not thread-safe (one command, one thread).
 */
#ifndef AB_CLI_CLI_HTTP_H
#define AB_CLI_CLI_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CLI_URL_MAX 2048

struct cli_api {
    const char *prog; /* "assetbridge sync", for messages */
    char base[CLI_URL_MAX];
    const char *key;
    bool open; /* libcurl initialised (cli_api_close undoes it) */
};

/* Check url (--url, else $ASSETBRIDGE_URL) and the key in
 * ASSETBRIDGE_API_KEY, and initialise libcurl. Returns CLI_OK, or CLI_USAGE
 * (after printing why) / CLI_FAILURE. Pair with cli_api_close. */
int cli_api_open(struct cli_api *api /* OUT */, const char *prog, const char *url);
void cli_api_close(struct cli_api *api);

/* One request to base + path (path starts with "/", query included). body
 * (may be NULL) is sent as JSON. *status gets the HTTP status and *out the
 * parsed answer (NULL when it is not JSON; the caller json_decref()s it).
 * false after printing why the service could not be reached. */
bool cli_api_call(struct cli_api *api, const char *method, const char *path, const json_t *body,
                  long *status /* OUT */, json_t **out /* OUT */);

/* Print the API's error for a failed call to stderr. */
void cli_api_print_error(const struct cli_api *api, long status, const json_t *body);

/* s percent-encoded for a path segment or query value: everything but
 * RFC 3986's unreserved characters (free() it). */
char *cli_escape(const char *s);

/* The same (the session is not needed; kept for the commands' symmetry). */
char *cli_api_escape(struct cli_api *api, const char *s);

/* A string member of o, or def. */
const char *cli_str(const json_t *o, const char *key, const char *def);

/* An integer member of o, or def. */
long long cli_int(const json_t *o, const char *key, long long def);

/* Wait for the job `job` (the answer of its submission) to end, polling
 * GET /v1/jobs/{id}: on a terminal (stderr is a TTY, unless quiet) a
 * progress bar (records, pages, rate, ETA when the total is known),
 * otherwise a progress line when it changes (unless quiet). *final gets the
 * last job JSON (the caller json_decref()s it). false after printing why
 * polling failed. */
bool cli_job_wait(struct cli_api *api, const json_t *job, bool quiet, json_t **final /* OUT */);

/* The exit code for an ended job: CLI_OK when it succeeded, else
 * CLI_FAILURE (after printing the job's state and error to stderr). */
int cli_job_exit(const struct cli_api *api, const json_t *job);

/* How cli_job_run shows a job. */
struct cli_job_opts {
    bool no_wait;                         /* print the job id and return once it is queued */
    bool json;                            /* print the final job JSON instead of the summary */
    bool quiet;                           /* no progress */
    void (*summary)(const json_t *final); /* the human summary of an ended job */
};

/* Submit a job (POST path with body; 202 expected), then, unless no_wait,
 * wait for it with progress and print its summary or JSON. Opens and closes
 * its own API session (prog for messages, url or the environment's).
 * Returns the command's exit code (cli_job_exit, CLI_FAILURE on a refused
 * submission, the open's usage/failure code). body may be NULL. */
int cli_job_run(const char *prog, const char *url, const char *method, const char *path,
                const json_t *body, const struct cli_job_opts *o);

#endif
