/* pgembed.c — a private PostgreSQL cluster under the data directory.
 *
 * PostgreSQL refuses to run as root, so when suanlid runs as root the cluster belongs to the
 * `postgres` user and every PostgreSQL program is run in a child that has dropped to it. If
 * that user cannot reach the data directory (a checkout under root's 0700 home), the cluster
 * lives under /var/tmp instead, at a path derived from the data directory, and the data
 * directory records where.
 *
 * Several suanlid processes may share one cluster: each holds a shared flock on pg.users for
 * as long as it uses the cluster. Starting and stopping happen under an exclusive flock on
 * pg.start; the one leaving stops the cluster only when it can take pg.users exclusively, i.e.
 * when nobody else uses it. A killed process loses its locks automatically. */
#include "pgembed.h"

#include "config.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG_DBNAME "suanli"

static int users_fd = -1; /* shared while this process uses the cluster */
static int start_fd = -1; /* exclusive while starting or stopping */
static char start_path[PATH_MAX];
static char cluster[PATH_MAX];
static char bindir[PATH_MAX];
static uid_t run_uid;
static gid_t run_gid;
static bool drop_privileges;

/* Finds the directory of initdb/pg_ctl: SUANLI_PG_BINDIR, the newest Debian
 * /usr/lib/postgresql/N/bin, or the directory of pg_ctl on PATH. */
static int find_bindir(void) {
    const char *env = getenv("SUANLI_PG_BINDIR");
    if (env && *env) {
        snprintf(bindir, sizeof bindir, "%s", env);
        return 0;
    }
    int best = -1;
    DIR *d = opendir("/usr/lib/postgresql");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            int v = atoi(e->d_name);
            char probe[PATH_MAX];
            snprintf(probe, sizeof probe, "/usr/lib/postgresql/%s/bin/pg_ctl", e->d_name);
            if (v > best && access(probe, X_OK) == 0) {
                best = v;
                snprintf(bindir, sizeof bindir, "/usr/lib/postgresql/%d/bin", v);
            }
        }
        closedir(d);
    }
    if (best >= 0)
        return 0;
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char probe[PATH_MAX];
        util_path(probe, sizeof probe, dir, "/pg_ctl");
        if (access(probe, X_OK) == 0) {
            snprintf(bindir, sizeof bindir, "%s", dir);
            free(copy);
            return 0;
        }
    }
    free(copy);
    log_error("no PostgreSQL server binaries found (install postgresql, or set SUANLI_PG_BINDIR)");
    return -1;
}

static void become_runner(void) {
    if (!drop_privileges)
        return;
    if (setgroups(0, NULL) != 0 || setgid(run_gid) != 0 || setuid(run_uid) != 0) {
        perror("suanlid: cannot drop to the postgres user");
        _exit(126);
    }
}

/* Runs argv (argv[0] is a program name in bindir) as the cluster's owner, output appended to
 * the cluster's log; returns the exit status, or -1. */
static int run_pg(char *const argv[], const char *logfile) {
    char prog[PATH_MAX];
    if (snprintf(prog, sizeof prog, "%s/%s", bindir, argv[0]) >= (int)sizeof prog)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        become_runner();
        int fd = open(logfile ? logfile : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        if (chdir("/") != 0)
            _exit(126);
        execv(prog, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* True when the cluster owner can reach dir (the cluster directory inside it is created by
 * us and handed over). */
static bool runner_can_use(const char *dir) {
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        become_runner();
        _exit(access(dir, X_OK) == 0 ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Chooses the cluster directory for the absolute data directory abs. */
static int choose_cluster_dir(const char *abs) {
    char preferred[PATH_MAX];
    util_path(preferred, sizeof preferred, abs, "/pg");
    /* The Unix socket lives in the cluster directory: its path must fit sun_path (108). */
    bool short_enough = strlen(preferred) + strlen("/.s.PGSQL.5432") < 100;
    if (short_enough && (!drop_privileges || runner_can_use(abs))) {
        snprintf(cluster, sizeof cluster, "%s", preferred);
        return 0;
    }
    unsigned char h[8];
    char hex[17];
    crypto_generichash(h, sizeof h, (const unsigned char *)abs, strlen(abs), NULL, 0);
    util_hex(h, sizeof h, hex);
    snprintf(cluster, sizeof cluster, "/var/tmp/suanli-pg-%s", hex);
    char note[PATH_MAX + 64];
    int n = snprintf(note, sizeof note, "%s\n", cluster);
    char notefile[PATH_MAX];
    util_path(notefile, sizeof notefile, abs, "/pg.location");
    if (util_write_file_atomic(notefile, note, (size_t)n, 0644) != 0)
        log_warn("cannot write %s", notefile);
    log_info("the postgres user cannot use %s; the embedded cluster lives in %s", abs, cluster);
    return 0;
}

static int prepare_identity(void) {
    drop_privileges = geteuid() == 0;
    if (!drop_privileges)
        return 0;
    struct passwd *pw = getpwnam("postgres");
    if (pw == NULL) {
        log_error("running as root, but there is no 'postgres' user to run PostgreSQL as");
        return -1;
    }
    run_uid = pw->pw_uid;
    run_gid = pw->pw_gid;
    return 0;
}

/* Creates the cluster directory dir for the cluster owner, or takes an existing one only when
 * it is a real directory (no symbolic link is followed) that the owner already owns: under
 * /var/tmp another local user could have prepared it, to read or replace the cluster. */
static int make_owned_dir(const char *dir) {
    uid_t owner = drop_privileges ? run_uid : geteuid();
    bool created = mkdir(dir, 0700) == 0;
    if (!created && errno != EEXIST) {
        log_error("cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        log_error("%s: %s; refusing to use it for the embedded cluster (remove it)", dir,
                  errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a directory"
                                                     : strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        log_error("cannot inspect %s: %s", dir, strerror(errno));
    } else if (created && drop_privileges && fchown(fd, run_uid, run_gid) != 0) {
        log_error("cannot give %s to the postgres user: %s", dir, strerror(errno));
    } else if (!created && st.st_uid != owner) {
        log_error("%s already exists and belongs to uid %u, not to the cluster's user (uid %u): "
                  "someone else may have prepared it; refusing to start (remove it, or choose "
                  "another SUANLI_DATA_DIR)",
                  dir, (unsigned)st.st_uid, (unsigned)owner);
    } else if (fchmod(fd, 0700) != 0) {
        log_error("cannot restrict %s to mode 0700: %s", dir, strerror(errno));
    } else {
        rc = 0;
    }
    close(fd);
    return rc;
}

static bool cluster_running(void) {
    char *argv[] = {"pg_ctl", "-D", cluster, "status", NULL};
    return run_pg(argv, NULL) == 0;
}

static int cluster_init(void) {
    char logfile[PATH_MAX], conf[PATH_MAX], version[PATH_MAX];
    util_path(version, sizeof version, cluster, "/PG_VERSION");
    if (access(version, F_OK) == 0)
        return 0;
    util_path(logfile, sizeof logfile, cluster, ".initdb.log");
    log_info("creating the embedded PostgreSQL cluster in %s", cluster);
    char *argv[] = {"initdb", "-D", cluster, "-U",          "postgres",          "-A",
                    "trust",  "-E", "UTF8",  "--no-locale", "--no-instructions", NULL};
    if (run_pg(argv, drop_privileges ? "/dev/null" : logfile) != 0) {
        log_error("initdb failed for %s", cluster);
        return -1;
    }
    util_path(conf, sizeof conf, cluster, "/postgresql.conf");
    FILE *f = fopen(conf, "a");
    if (f == NULL)
        return -1;
    /* Unix socket only, inside the private directory; durable commits (I7). */
    fprintf(f,
            "\n# suanli embedded cluster\nlisten_addresses = ''\nunix_socket_directories = '%s'\n"
            "unix_socket_permissions = 0700\nmax_connections = 300\nfsync = on\n"
            "synchronous_commit = on\nshared_buffers = 256MB\nlogging_collector = off\n",
            cluster);
    fclose(f);
    return 0;
}

static int cluster_start(void) {
    char logfile[PATH_MAX];
    util_path(logfile, sizeof logfile, cluster, "/server.log");
    char *argv[] = {"pg_ctl", "-D", cluster, "-l", logfile, "-w", "-t", "60", "start", NULL};
    if (run_pg(argv, "/dev/null") != 0) {
        log_error("PostgreSQL did not start; see %s", logfile);
        return -1;
    }
    return 0;
}

/* The owner role of a database created by this code; a cluster made before the role split has
 * its database owned by postgres, which then stays the owner connection's user. */
#define PG_OWNER_ROLE "suanli_owner"

/* As postgres: the owner role and the runtime role (cfg.db_runtime_role), both able to log in
 * over the private socket (trust), neither superuser; the database, owned by the owner role.
 * Writes the user the owner connection uses (the database's owner). Runs under pg.start, so
 * no other suanlid process does this at the same moment. */
static int ensure_database(const char *base_conninfo, char owner[64]) {
    char *err = NULL;
    PGconn *pg = db_connect_tool(base_conninfo, &err);
    if (pg == NULL) {
        log_error("cannot connect to the embedded cluster: %s", err ? err : "?");
        free(err);
        return -1;
    }
    const char *role = cfg.db_runtime_role ? cfg.db_runtime_role : "suanli_app";
    char *ident = PQescapeIdentifier(pg, role, strlen(role));
    char *lit = PQescapeLiteral(pg, role, strlen(role));
    char *roles = NULL;
    int rc = -1;
    if (ident && lit &&
        asprintf(&roles,
                 "DO $$ BEGIN"
                 " IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" PG_OWNER_ROLE "')"
                 " THEN CREATE ROLE " PG_OWNER_ROLE " LOGIN; END IF;"
                 " IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) THEN"
                 " CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                 " NOREPLICATION NOBYPASSRLS; END IF; END $$",
                 lit, ident) > 0)
        rc = 0;
    PQfreemem(ident);
    PQfreemem(lit);
    if (rc == 0 && db_run_script(pg, roles, &err, NULL) != 0) {
        log_error("cannot create the database roles: %s", err ? err : "?");
        free(err);
        err = NULL;
        rc = -1;
    }
    free(roles);
    PGresult *r = PQexec(pg, "SELECT 1 FROM pg_database WHERE datname = '" PG_DBNAME "'");
    bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    if (rc == 0 && !exists &&
        db_run_script(pg, "CREATE DATABASE " PG_DBNAME " OWNER " PG_OWNER_ROLE, &err, NULL) != 0) {
        log_error("cannot create database: %s", err ? err : "?");
        free(err);
        rc = -1;
    }
    if (rc == 0) {
        r = PQexec(pg, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '" PG_DBNAME
                       "'");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            snprintf(owner, 64, "%s", PQgetvalue(r, 0, 0));
        else
            rc = -1;
        PQclear(r);
        if (rc == 0 && strcmp(owner, PG_OWNER_ROLE) != 0)
            log_warn("the embedded database predates the owner/runtime role split: it is owned by "
                     "%s, which migrates it; serve still connects as %s",
                     owner, role);
    }
    PQfinish(pg);
    return rc;
}

static int open_lock(const char *dir, const char *name, char *path_out) {
    char path[PATH_MAX];
    if (!util_path(path, sizeof path, dir, name))
        return -1;
    if (path_out)
        snprintf(path_out, PATH_MAX, "%s", path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        log_error("cannot open %s: %s", path, strerror(errno));
    return fd;
}

static void close_fd(int *fd) {
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void pgembed_urls_free(struct pgembed_urls *u) {
    free(u->admin);
    free(u->owner);
    free(u->runtime);
    memset(u, 0, sizeof *u);
}

int pgembed_start(const char *data_dir, struct pgembed_urls *out) {
    memset(out, 0, sizeof *out);
    char abs[PATH_MAX];
    if (prepare_identity() != 0 || find_bindir() != 0)
        return -1;
    if (util_mkdir_p(data_dir, 0755) != 0 || realpath(data_dir, abs) == NULL) {
        log_error("SUANLI_DATA_DIR=%s: cannot create or resolve: %s", data_dir, strerror(errno));
        return -1;
    }
    start_fd = open_lock(abs, "/pg.start", start_path);
    users_fd = open_lock(abs, "/pg.users", NULL);
    if (start_fd < 0 || users_fd < 0 || flock(start_fd, LOCK_EX) != 0 ||
        flock(users_fd, LOCK_SH) != 0) {
        log_error("cannot lock the embedded cluster of %s", abs);
        goto fail;
    }
    if (choose_cluster_dir(abs) != 0 || make_owned_dir(cluster) != 0 || cluster_init() != 0)
        goto fail;
    if (cluster_running()) {
        log_info("joining the embedded PostgreSQL already running in %s", cluster);
    } else if (cluster_start() != 0) {
        goto fail;
    }
    char base[PATH_MAX + 64];
    snprintf(base, sizeof base, "host=%s user=postgres dbname=postgres", cluster);
    char owner[64];
    if (ensure_database(base, owner) != 0)
        goto fail;
    close_fd(&start_fd);
    const char *role = cfg.db_runtime_role ? cfg.db_runtime_role : "suanli_app";
    if (asprintf(&out->admin, "host=%s user=postgres dbname=" PG_DBNAME, cluster) < 0 ||
        asprintf(&out->owner, "host=%s user=%s dbname=" PG_DBNAME, cluster, owner) < 0 ||
        asprintf(&out->runtime, "host=%s user=%s dbname=" PG_DBNAME, cluster, role) < 0) {
        pgembed_urls_free(out);
        goto fail;
    }
    return 0;
fail:
    close_fd(&start_fd);
    close_fd(&users_fd);
    return -1;
}

void pgembed_release(int stop_if_last) {
    if (users_fd < 0)
        return;
    if (stop_if_last) {
        start_fd = open(start_path, O_RDWR | O_CLOEXEC);
        if (start_fd >= 0 && flock(start_fd, LOCK_EX) == 0 &&
            flock(users_fd, LOCK_EX | LOCK_NB) == 0) {
            char *argv[] = {"pg_ctl", "-D", cluster, "-m", "fast", "-w", "stop", NULL};
            if (run_pg(argv, "/dev/null") == 0)
                log_info("stopped the embedded PostgreSQL");
            else
                log_warn("could not stop the embedded PostgreSQL in %s", cluster);
        }
        close_fd(&start_fd);
    }
    close_fd(&users_fd);
}

int pgembed_stop_idle(const char *data_dir) {
    struct pgembed_urls urls;
    if (pgembed_start(data_dir, &urls) != 0)
        return -1;
    pgembed_urls_free(&urls);
    start_fd = open(start_path, O_RDWR | O_CLOEXEC);
    int rc = 1;
    if (start_fd >= 0 && flock(start_fd, LOCK_EX) == 0 && flock(users_fd, LOCK_EX | LOCK_NB) == 0) {
        char *argv[] = {"pg_ctl", "-D", cluster, "-m", "fast", "-w", "stop", NULL};
        rc = run_pg(argv, "/dev/null") == 0 ? 0 : -1;
    }
    close_fd(&start_fd);
    close_fd(&users_fd);
    return rc;
}
