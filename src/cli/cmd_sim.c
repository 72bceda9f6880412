/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_sim.c: `assetbridge sim PROVIDER`: run a local imitation of a
 * provider's API (src/sim/, docs/sim/) until SIGTERM or SIGINT. The first
 * line on stdout is `listening on HOST:PORT`; the accepted credentials
 * follow on stderr.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "http/http.h"
#include "sim/sim.h"

#define FAULTS_MAX (1024 * 1024)

static const char sim_usage[] =
    "usage: assetbridge sim PROVIDER --listen HOST:PORT [--seed S] [--assets N]\n"
    "                       [--faults FILE] [--state FILE] [--fake-clock RFC3339]\n"
    "                       [--token T] [--user U] [--password P] [--rate-limit N]\n"
    "                       [--server-version V] [--set NAME=VALUE ...]\n"
    "       assetbridge sim --list\n"
    "\n"
    "Runs a local, faithful imitation of a provider's API for tests and rehearsals\n"
    "(docs/sim/README.md). The first line printed is 'listening on HOST:PORT'.\n"
    "\n"
    "  --listen HOST:PORT   address to serve (port 0 picks a free port; default\n"
    "                       127.0.0.1:0)\n"
    "  --seed S             seed of the generated data and of fault draws (default 1)\n"
    "  --assets N           assets to generate in a new state (provider default)\n"
    "  --faults FILE        JSON array of fault rules to start with\n"
    "  --state FILE         keep the state in this SQLite file (survives restarts);\n"
    "                       default: in memory\n"
    "  --fake-clock TIME    start a frozen clock at TIME, moved with\n"
    "                       POST /_test/clock {\"advance\":\"P30D\"}\n"
    "  --token T            Bearer token accepted (generic default: sim-token)\n"
    "  --user U, --password P  Basic credentials accepted (providers that use them)\n"
    "  --rate-limit N       requests per second before 429 (0: off; provider default)\n"
    "  --server-version V   the server version to imitate (wats: docs/sim/wats.md)\n"
    "  --set NAME=VALUE     a provider option, repeatable (docs/sim/wats.md,\n"
    "                       docs/sim/sap_pm.md)\n"
    "  --list               list the providers\n"
    "\n"
    "Stops cleanly on SIGTERM or SIGINT.\n";

static int list_providers(void)
{
    for (size_t i = 0; sim_providers[i]; i++)
        printf("%-10s %s\n", sim_providers[i]->name, sim_providers[i]->summary);
    return CLI_OK;
}

int cmd_sim(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},
        {"assets", required_argument, NULL, 'a'},
        {"faults", required_argument, NULL, 'F'},
        {"state", required_argument, NULL, 'S'},
        {"fake-clock", required_argument, NULL, 'f'},
        {"token", required_argument, NULL, 't'},
        {"user", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"rate-limit", required_argument, NULL, 'r'},
        {"server-version", required_argument, NULL, 'V'},
        {"set", required_argument, NULL, 'O'},
        {"list", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen_addr = "127.0.0.1:0", *faults = NULL, *fake = NULL;
    struct sim_opts so = {.seed = 1, .rate_limit = -1};
    int opt;
    int64_t v;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "l:s:a:F:S:f:t:u:p:r:V:O:Lh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_addr = optarg; break;
        case 's':
            if (str_to_i64(optarg, &v) || v < 0) {
                fprintf(stderr, "assetbridge sim: --seed must be an integer >= 0\n");
                return CLI_USAGE;
            }
            so.seed = (uint64_t)v;
            break;
        case 'a':
            if (str_to_i64(optarg, &v) || v < 1 || v > 1000000) {
                fprintf(stderr, "assetbridge sim: --assets must be an integer 1..1000000\n");
                return CLI_USAGE;
            }
            so.assets = (unsigned)v;
            break;
        case 'F': faults = optarg; break;
        case 'S': so.state_path = optarg; break;
        case 'f': fake = optarg; break;
        case 't': so.token = optarg; break;
        case 'u': so.user = optarg; break;
        case 'p': so.password = optarg; break;
        case 'r':
            if (str_to_i64(optarg, &v) || v < 0 || v > 1000000) {
                fprintf(stderr, "assetbridge sim: --rate-limit must be an integer 0..1000000\n");
                return CLI_USAGE;
            }
            so.rate_limit = (double)v;
            break;
        case 'V': so.server_version = optarg; break;
        case 'O':
            if (so.n_params == SIM_PARAMS_MAX || !strchr(optarg, '=')) {
                fprintf(stderr, "assetbridge sim: --set takes NAME=VALUE (at most %d)\n",
                        SIM_PARAMS_MAX);
                return CLI_USAGE;
            }
            so.params[so.n_params++] = optarg;
            break;
        case 'L': return list_providers();
        case 'h': fputs(sim_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr, "assetbridge sim: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "assetbridge sim: which provider? (assetbridge sim --list)\n");
        return CLI_USAGE;
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "assetbridge sim: unexpected argument '%s' (see --help)\n",
                argv[optind + 1]);
        return CLI_USAGE;
    }
    const struct sim_provider *p = sim_provider_find(argv[optind]);
    if (!p) {
        fprintf(stderr, "assetbridge sim: unknown provider '%s' (assetbridge sim --list)\n",
                argv[optind]);
        return CLI_USAGE;
    }
    int64_t fake_start = 0;
    if (fake && time_parse_rfc3339(fake, &fake_start)) {
        fprintf(stderr,
                "assetbridge sim: --fake-clock '%s' is not an RFC 3339 time "
                "(e.g. 2026-01-01T00:00:00Z)\n",
                fake);
        return CLI_USAGE;
    }
    struct buf fb;
    buf_init(&fb, FAULTS_MAX);
    if (faults && file_read_all(faults, &fb)) {
        fprintf(stderr, "assetbridge sim: cannot read fault rules '%s'\n", faults);
        buf_cleanup(&fb);
        return CLI_USAGE;
    }

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    log_configure(LOG_WARN, LOG_FORMAT_JSON, 2);
    if (fake)
        clock_set_fake(fake_start, true);

    int status = CLI_FAILURE;
    struct sim *s = NULL;
    struct http_server *srv = NULL;
    char bound[300], errbuf[512];
    enum ab_rc why;
    int listen_fd = http_listen(listen_addr, bound, sizeof(bound), errbuf, sizeof(errbuf), &why);
    if (listen_fd < 0) {
        fprintf(stderr, "assetbridge sim: %s\n", errbuf);
        status = why == AB_EINVAL ? CLI_USAGE : CLI_FAILURE;
        goto out;
    }
    enum ab_rc rc = sim_new(p, &so, &s, errbuf, sizeof(errbuf));
    if (rc) {
        fprintf(stderr, "assetbridge sim: %s\n", errbuf);
        status = rc == AB_EINVAL ? CLI_USAGE : CLI_FAILURE;
        goto out;
    }
    if (faults && sim_add_faults(s, buf_str(&fb), fb.len, errbuf, sizeof(errbuf))) {
        fprintf(stderr, "assetbridge sim: %s: %s\n", faults, errbuf);
        status = CLI_USAGE;
        goto out;
    }
    size_t n_routes;
    const struct http_route *routes = sim_http_routes(&n_routes);
    struct http_server_opts opts = {
        .listen = listen_addr,
        .use_listen_fd = true,
        .listen_fd = listen_fd,
        .routes = routes,
        .n_routes = n_routes,
        .ctx = s,
        .max_body = 1024 * 1024,
        .max_connections = 512,
        .threads = 4,
        .idle_timeout_s = 120,
    };
    rc = http_server_start(&opts, &srv, NULL, 0, errbuf, sizeof(errbuf));
    listen_fd = -1;
    if (rc) {
        fprintf(stderr, "assetbridge sim: %s\n", errbuf);
        goto out;
    }
    printf("listening on %s\n", bound);
    fflush(stdout);
    const struct sim_opts *eff = sim_options(s);
    fprintf(stderr, "assetbridge sim %s: seed %llu, state %s, rate limit %g/s%s\n", p->name,
            (unsigned long long)eff->seed, so.state_path ? so.state_path : "in memory",
            eff->rate_limit, fake ? ", fake clock (frozen)" : "");
    if (eff->token)
        fprintf(stderr, "  accepts token: %s\n", eff->token);
    if (eff->user)
        fprintf(stderr, "  accepts user: %s password: %s\n", eff->user,
                eff->password ? eff->password : "");

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    sim_release_held(s);
    http_server_stop(srv, 5000);
    srv = NULL;
    status = CLI_OK;
out:
    if (listen_fd >= 0)
        close(listen_fd);
    sim_release_held(s);
    http_server_stop(srv, 0);
    sim_free(s);
    buf_cleanup(&fb);
    return status;
}
