/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_serve.c: `assetbridge serve`: load the configuration, open the store,
 * start the sync engine and the HTTP listener, and run until SIGTERM or
 * SIGINT, then shut down cleanly (stop accepting, let requests in flight
 * finish, stop the sync engine, close the store).
 *
 * Signals are blocked in every thread and taken synchronously with
 * sigwait() here, so no handler runs inside library code.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/crash.h"
#include "core/config.h"
#include "core/file.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "http/http.h"
#include "model/meter.h"
#include "store/retention.h"
#include "store/store.h"
#include "sync/engine.h"
#include "rules/rules.h"
#include "sync/webhooks.h"

#define SHUTDOWN_GRACE_MS 10000
#define RETENTION_INTERVAL_MS (60 * 60 * 1000)
#define PEM_MAX (256 * 1024)

static const char serve_usage[] =
    "usage: assetbridge serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n"
    "                         [--fake-clock RFC3339]\n"
    "\n"
    "Runs the service. The first line printed is 'listening on HOST:PORT'.\n"
    "\n"
    "  --config FILE        configuration file (default: built-in, 127.0.0.1:8440)\n"
    "  --listen HOST:PORT   overrides server.listen; port 0 picks a free port\n"
    "  --data-dir DIR       overrides store.data_dir\n"
    "  --fake-clock TIME    start with a controllable clock at TIME (RFC 3339) and\n"
    "                       expose POST /_test/clock {\"advance\":\"P30D\"}; for tests only\n"
    "\n"
    "Stops cleanly on SIGTERM or SIGINT: no new connections, requests in flight\n"
    "finish (up to 10 s), then the store closes.\n";

/* Read a PEM file into a malloc'd string; prints the reason on failure. */
static char *read_pem(const char *what, const char *path)
{
    struct buf b;
    buf_init(&b, PEM_MAX);
    enum ab_rc rc = file_read_all(path, &b);
    if (rc) {
        fprintf(stderr, "assetbridge: cannot read %s '%s': %s\n", what, path,
                rc == AB_ETOOLARGE ? "file too large" : strerror(errno));
        buf_cleanup(&b);
        return NULL;
    }
    return buf_take(&b, NULL);
}

static int configure_logging(const struct config *cfg, int *log_fd /* OUT */)
{
    enum log_level level = LOG_INFO;
    if (cfg->log.level && !log_level_parse(cfg->log.level, &level)) {
        fprintf(stderr, "assetbridge: log.level '%s' is not one of debug, info, warn, error\n",
                cfg->log.level);
        return CLI_USAGE;
    }
    enum log_format fmt =
        cfg->log.format && strcmp(cfg->log.format, "text") == 0 ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
    int fd = 2;
    if (cfg->log.file) {
        fd = open(cfg->log.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) {
            fprintf(stderr, "assetbridge: cannot open log file '%s': %s\n", cfg->log.file,
                    strerror(errno));
            return CLI_FAILURE;
        }
    }
    *log_fd = fd;
    log_configure(level, fmt, fd);
    return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'}, {"fake-clock", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *listen_addr = NULL, *data_dir = NULL, *fake = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+c:l:d:f:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'f': fake = optarg; break;
        case 'h': fputs(serve_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr, "assetbridge serve: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "assetbridge serve: unexpected argument '%s' (see --help)\n", argv[optind]);
        return CLI_USAGE;
    }

    int64_t fake_start = 0;
    if (fake && time_parse_rfc3339(fake, &fake_start)) {
        fprintf(stderr,
                "assetbridge serve: --fake-clock '%s' is not an RFC 3339 time "
                "(e.g. 2026-01-01T00:00:00Z)\n",
                fake);
        return CLI_USAGE;
    }

    struct config *cfg = NULL;
    if (cli_config_load(config_path, data_dir, &cfg) != CLI_OK)
        return CLI_USAGE;
    if (listen_addr)
        cfg->server.listen = listen_addr;

    int status = CLI_FAILURE;
    int log_fd = 2;
    char *cert = NULL, *key = NULL;
    struct http_route *routes = NULL;
    struct http_server *srv = NULL;
    struct store *store = NULL;
    struct store_retention *retention = NULL;
    struct sync_engine *sync = NULL;
    struct webhooks *hooks = NULL;
    struct rules *rules = NULL;
    int listen_fd = -1;

    status = configure_logging(cfg, &log_fd);
    if (status != CLI_OK)
        goto out;
    status = CLI_USAGE;
    if (cfg->server.tls.cert_file) {
        cert = read_pem("TLS certificate", cfg->server.tls.cert_file);
        key = cert ? read_pem("TLS key", cfg->server.tls.key_file) : NULL;
        if (!cert || !key)
            goto out;
        log_add_secret(key);
    }
    status = CLI_FAILURE;
    int err = file_mkdir_p(cfg->store.data_dir);
    if (err) {
        fprintf(stderr, "assetbridge: cannot create data directory '%s': %s\n", cfg->store.data_dir,
                strerror(err));
        goto out;
    }

    status = CLI_USAGE;
    for (size_t i = 0; i < cfg->meters.n_types; i++) {
        const struct config_meter_type *mt = &cfg->meters.types[i];
        enum model_meter_kind kind =
            strcmp(mt->kind, "gauge") == 0 ? MODEL_METER_GAUGE : MODEL_METER_COUNTER;
        if (model_meter_type_register(mt->name, kind, mt->unit ? mt->unit : "") != AB_OK) {
            fprintf(stderr,
                    "assetbridge: meters.types.%s: conflicts with a built-in or earlier type\n",
                    mt->name);
            goto out;
        }
    }
    status = CLI_FAILURE;
    crash_init();

    /* Block the shutdown signals before any thread starts, so they are
     * delivered only to sigwait() below. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (fake) {
        clock_set_fake(fake_start, false);
        log_warn(NULL,
                 "FAKE CLOCK in force: time can be moved with POST /_test/clock; never use "
                 "this in production",
                 LOG_STR("start", fake));
    }

    /* claim the port first: a port in use must not leave anything half-started */
    char bound[300], errbuf[512];
    enum ab_rc why;
    listen_fd = http_listen(cfg->server.listen, bound, sizeof(bound), errbuf, sizeof(errbuf), &why);
    if (listen_fd < 0) {
        fprintf(stderr, "assetbridge: %s\n", errbuf);
        status = why == AB_EINVAL ? CLI_USAGE : CLI_FAILURE;
        goto out;
    }

    char err_store[512];
    if (store_open(&cfg->store, &store, err_store, sizeof(err_store)) != AB_OK) {
        fprintf(stderr, "assetbridge: %s\n", err_store);
        goto out;
    }
    store_set_config(store, cfg); /* outbox priorities follow the providers' severities */
    if (store_retention_start(store, &cfg->store.retention, RETENTION_INTERVAL_MS, &retention) !=
        AB_OK) {
        fprintf(stderr, "assetbridge: cannot start the retention thread\n");
        goto out;
    }
    if (webhooks_start(cfg, store, &hooks) != AB_OK) {
        fprintf(stderr, "assetbridge: cannot start the webhook deliverer\n");
        goto out;
    }
    if (sync_engine_start(cfg, store, &sync) != AB_OK) {
        fprintf(stderr, "assetbridge: cannot start the sync engine\n");
        goto out;
    }
    if (rules_start(cfg, store, &rules) != AB_OK) {
        fprintf(stderr, "assetbridge: cannot start the rules engine\n");
        goto out;
    }

    struct api_ctx ctx = {.cfg = cfg,
                          .store = store,
                          .fake_clock = fake != NULL,
                          .started_mono_ms = clock_mono_ms(),
                          .sync = sync};
    size_t n_routes;
    routes = api_routes_new(&ctx, &n_routes);
    struct http_server_opts opts = {
        .listen = cfg->server.listen,
        .use_listen_fd = true,
        .listen_fd = listen_fd,
        .routes = routes,
        .n_routes = n_routes,
        .ctx = &ctx,
        .max_body = (size_t)cfg->server.limits.max_body,
        .max_connections = (unsigned)cfg->server.limits.max_connections,
        .max_header_bytes = (size_t)cfg->server.limits.max_header,
        .threads = (unsigned)cfg->server.threads,
        .idle_timeout_s = (unsigned)((cfg->server.limits.idle_timeout_ms + 999) / 1000),
        .header_timeout_s = (unsigned)((cfg->server.limits.header_timeout_ms + 999) / 1000),
        .tls_cert_pem = cert,
        .tls_key_pem = key,
    };
    api_hooks(&opts.before, &opts.after);
    enum ab_rc rc = http_server_start(&opts, &srv, NULL, 0, errbuf, sizeof(errbuf));
    listen_fd = -1; /* the server owns the socket now, and closed it if it failed */
    if (rc) {
        fprintf(stderr, "assetbridge: %s\n", errbuf);
        status = rc == AB_EINVAL ? CLI_USAGE : CLI_FAILURE;
        goto out;
    }
    printf("listening on %s\n", bound);
    fflush(stdout);
    log_info(NULL, "assetbridge started", LOG_STR("version", AB_VERSION), LOG_STR("listen", bound),
             LOG_STR("config", cfg->source), LOG_STR("data_dir", cfg->store.data_dir),
             LOG_BOOL("tls", cert != NULL));

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    log_info(NULL, "shutting down", LOG_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"),
             LOG_INT("in_flight", http_server_in_flight(srv)));
    api_shutdown_begin(); /* long polls give up instead of holding the grace period */
    http_server_stop(srv, SHUTDOWN_GRACE_MS);
    srv = NULL;
    api_shutdown_end();
    rules_stop(rules); /* before the store closes */
    rules = NULL;
    sync_engine_stop(sync); /* in-flight provider calls finish; before the store closes */
    sync = NULL;
    webhooks_stop(hooks); /* a delivery under way finishes */
    hooks = NULL;
    store_retention_stop(retention);
    retention = NULL;
    store_close(store);
    store = NULL;
    log_info(NULL, "stopped");
    status = CLI_OK;

out:
    if (listen_fd >= 0)
        close(listen_fd);
    http_server_stop(srv, 0);
    rules_stop(rules);
    sync_engine_stop(sync);
    webhooks_stop(hooks);
    store_retention_stop(retention);
    store_close(store); /* after the server: no handler uses it any more */
    free(routes);
    free(cert);
    free(key);
    config_free(cfg);
    if (log_fd > 2) {
        log_configure(LOG_INFO, LOG_FORMAT_JSON, 2);
        close(log_fd);
    }
    return status;
}
