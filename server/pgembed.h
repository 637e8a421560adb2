/* pgembed.h — the embedded PostgreSQL cluster used when DATABASE_URL is unset. */
#ifndef SUANLI_PGEMBED_H
#define SUANLI_PGEMBED_H

/* libpq connection strings of the embedded database, malloc'd: the superuser (postgres), the
 * owner role that migrates (suanli_owner), and the runtime role that serves
 * (SUANLI_DB_RUNTIME_ROLE). */
struct pgembed_urls {
    char *admin;
    char *owner;
    char *runtime;
};

void pgembed_urls_free(struct pgembed_urls *u);

/* Starts the private cluster for data_dir, or joins it when another suanlid runs it; creates it
 * with initdb on first use, and the owner and runtime roles and the database when missing.
 * Writes the connection strings. 0 on success; on failure a message is logged and -1
 * returned. */
int pgembed_start(const char *data_dir, struct pgembed_urls *out);

/* Leaves the cluster: stops it when no other suanlid process uses it (stop_if_last), or just
 * releases this process's hold on it. */
void pgembed_release(int stop_if_last);

/* Stops the cluster of data_dir unless a suanlid process is using it; 0 when stopped or not
 * running, 1 when it is in use. */
int pgembed_stop_idle(const char *data_dir);

#endif
