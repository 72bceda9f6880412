/* SPDX-License-Identifier: Apache-2.0
 *
 * bench_floor.c: the floor under the single-reading POST (a server for
 * bench/bench_api.sh to load; prints figures, not a test).
 *
 * A libmicrohttpd server with the service's daemon flags (internal thread
 * pool of 4, epoll, suspend and resume, a 16 KiB connection pool) that
 * answers every request with a static 202 and, before answering, hands the
 * request to one writer thread and waits for it, as the service does:
 *
 *   --mode none    the writer resumes the request at once: no I/O;
 *   --mode fsync   the writer appends 64 bytes per request to a file and
 *                  calls fdatasync once per group of waiting requests;
 *   --mode sqlite  the writer inserts one row per request, keyed by its
 *                  Idempotency-Key under a UNIQUE constraint (a replayed
 *                  key changes nothing, as the service's key claim), one
 *                  transaction per group, WAL and synchronous=FULL.
 *
 * Nothing else is done: no parsing, authentication, validation, logging or
 * metrics. Under the same load, the rate of `sqlite` is what this machine
 * can acknowledge durably through libmicrohttpd with group commit and no
 * application logic at all; the service can only be slower.
 *
 *   bench_floor --mode none|fsync|sqlite --dir DIR
 *
 * Prints "listening on 127.0.0.1:PORT" once it accepts connections, and on
 * SIGTERM or SIGINT (requests still arriving then are answered 503)
 * "floor: mode=M requests=N groups=G per_group=X failures=F"; exits 1 if a
 * write, sync or statement failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum mode { MODE_NONE, MODE_FSYNC, MODE_SQLITE };

enum req_state { REQ_NEW, REQ_WAITING, REQ_DONE };

struct req {
    struct MHD_Connection *conn;
    _Atomic int state; /* enum req_state; REQ_DONE is set by the writer */
    char key[128];
    struct req *next;
};

static const char body_accepted[] = "{\"status\":\"accepted\"}";
static const char body_stopping[] = "{\"status\":\"stopping\"}";

static enum mode mode;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct req *queue_head, *queue_tail;
static bool stopping;
static unsigned long requests, groups, failures;

static int log_fd = -1;
static sqlite3 *db;
static sqlite3_stmt *st_begin, *st_insert, *st_commit;

/* One group: the mode's durable work for every request in the list. */
static void write_group(struct req *list)
{
    static const char record[64] = "reading";
    if (mode == MODE_FSYNC) {
        for (struct req *r = list; r; r = r->next)
            if (write(log_fd, record, sizeof(record)) != (ssize_t)sizeof(record))
                failures++;
        if (fdatasync(log_fd) != 0)
            failures++;
    } else if (mode == MODE_SQLITE) {
        if (sqlite3_step(st_begin) != SQLITE_DONE)
            failures++;
        sqlite3_reset(st_begin);
        for (struct req *r = list; r; r = r->next) {
            sqlite3_bind_text(st_insert, 1, r->key, -1, SQLITE_STATIC);
            if (sqlite3_step(st_insert) != SQLITE_DONE)
                failures++;
            sqlite3_reset(st_insert);
        }
        if (sqlite3_step(st_commit) != SQLITE_DONE)
            failures++;
        sqlite3_reset(st_commit);
    }
}

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&queue_lock);
    for (;;) {
        while (!queue_head && !stopping)
            pthread_cond_wait(&queue_cond, &queue_lock);
        if (!queue_head)
            break;
        struct req *list = queue_head;
        queue_head = queue_tail = NULL;
        pthread_mutex_unlock(&queue_lock);

        write_group(list);
        groups++;
        for (struct req *r = list, *next; r; r = next) {
            next = r->next;
            requests++;
            atomic_store(&r->state, REQ_DONE);
            MHD_resume_connection(r->conn);
        }
        pthread_mutex_lock(&queue_lock);
    }
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    struct req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->conn = conn;
        const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
        snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* the body is not looked at */
        return MHD_YES;
    }
    int state = atomic_load(&r->state);
    unsigned status = 202;
    if (state == REQ_NEW) {
        pthread_mutex_lock(&queue_lock);
        if (stopping) {
            /* the writer may be gone: a suspended request would never resume */
            pthread_mutex_unlock(&queue_lock);
            status = 503;
            goto answer;
        }
        atomic_store(&r->state, REQ_WAITING);
        MHD_suspend_connection(conn);
        if (queue_tail)
            queue_tail->next = r;
        else
            queue_head = r;
        queue_tail = r;
        pthread_cond_signal(&queue_cond);
        pthread_mutex_unlock(&queue_lock);
        return MHD_YES;
    }
    if (state == REQ_WAITING)
        return MHD_YES;
answer:;
    const char *body = status == 202 ? body_accepted : body_stopping;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    free(*con_cls);
    *con_cls = NULL;
}

static bool open_sqlite(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/floor.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return false;
    const char *setup = "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                        " PRAGMA mmap_size=0;"
                        " CREATE TABLE IF NOT EXISTS readings(id INTEGER PRIMARY KEY,"
                        " key TEXT NOT NULL UNIQUE, amount INTEGER NOT NULL)";
    return sqlite3_exec(db, setup, NULL, NULL, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &st_begin, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(db,
                              "INSERT INTO readings(key, amount) VALUES (?, 1)"
                              " ON CONFLICT (key) DO NOTHING",
                              -1, &st_insert, NULL) == SQLITE_OK &&
           sqlite3_prepare_v2(db, "COMMIT", -1, &st_commit, NULL) == SQLITE_OK;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_floor --mode none|fsync|sqlite --dir DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *mode_name = NULL, *dir = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mode") == 0)
            mode_name = argv[i + 1];
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else
            return usage();
    }
    if (!mode_name || !dir || argc % 2 == 0)
        return usage();
    if (strcmp(mode_name, "none") == 0)
        mode = MODE_NONE;
    else if (strcmp(mode_name, "fsync") == 0)
        mode = MODE_FSYNC;
    else if (strcmp(mode_name, "sqlite") == 0)
        mode = MODE_SQLITE;
    else
        return usage();

    if (mode == MODE_FSYNC) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/floor.log", dir);
        log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) {
            fprintf(stderr, "bench_floor: %s: %s\n", path, strerror(errno));
            return 1;
        }
    } else if (mode == MODE_SQLITE && !open_sqlite(dir)) {
        fprintf(stderr, "bench_floor: sqlite: %s\n", db ? sqlite3_errmsg(db) : "cannot open");
        return 1;
    }

    /* the listening socket is ours, so that the port can be printed */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        fprintf(stderr, "bench_floor: cannot listen: %s\n", strerror(errno));
        return 1;
    }

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread started below inherits it */

    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
        fprintf(stderr, "bench_floor: cannot start the writer\n");
        return 1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, access_cb, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
                         MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_LIMIT, 256u,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench_floor: cannot start the HTTP server\n");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);

    /* stop: requests from now on are refused, the writer resumes every
     * request already queued and ends, then the daemon can stop (it refuses
     * to stop while a connection is suspended) */
    int sig = 0;
    sigwait(&sigs, &sig);
    pthread_mutex_lock(&queue_lock);
    stopping = true;
    pthread_cond_signal(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
    pthread_join(writer, NULL);
    MHD_stop_daemon(d);
    printf("floor: mode=%s requests=%lu groups=%lu per_group=%.1f failures=%lu\n", mode_name,
           requests, groups, groups ? (double)requests / (double)groups : 0.0, failures);
    if (db) {
        sqlite3_finalize(st_begin);
        sqlite3_finalize(st_insert);
        sqlite3_finalize(st_commit);
        sqlite3_close(db);
    }
    if (log_fd >= 0)
        close(log_fd);
    return failures ? 1 : 0;
}
