/* pgembed.h — the embedded PostgreSQL cluster used when DATABASE_URL is unset. */
#ifndef SUANLI_PGEMBED_H
#define SUANLI_PGEMBED_H

/* Starts the private cluster for data_dir, or joins it when another suanlid runs it; creates it
 * with initdb on first use. Writes a malloc'd libpq connection string. 0 on success; on failure
 * a message is logged and -1 returned. */
int pgembed_start(const char *data_dir, char **conninfo_out);

/* Leaves the cluster: stops it when no other suanlid process uses it (stop_if_last), or just
 * releases this process's hold on it. */
void pgembed_release(int stop_if_last);

/* Stops the cluster of data_dir unless a suanlid process is using it; 0 when stopped or not
 * running, 1 when it is in use. */
int pgembed_stop_idle(const char *data_dir);

#endif
