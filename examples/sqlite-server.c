// SPDX-License-Identifier: MIT-0
/*
 * sqlite-server: an SQLite database served over hop.
 *
 * The database lives in this process (in memory here; a file would do the
 * same), and this process has no thread that serves: each client's thread
 * hops in, runs handle() below against our connection and prepared
 * statements, and hops back out with the reply.  Nothing is copied through a
 * socket and no server thread is woken.
 *
 * One connection and its statements are shared by every slot, so a mutex
 * keeps two hopped-in clients from stepping the same statement at once, as
 * it would keep two server threads apart.  (A server that wants reads to run
 * in parallel could open one connection per slot instead: each slot has its
 * own TLS, so a __thread pointer is a per-slot variable.)
 *
 * What it does not survive: a handler stopped in the middle of a statement
 * (the client killed mid-call, a deadline, a fault).  SQLite's recovery is for
 * a process that died, through its journal; a thread stopped inside the
 * library of a live process leaves its structures, and perhaps a malloc
 * arena lock, half-way, and db_lock held.  kv-server shows what a handler
 * that must survive that looks like (robust locks, changes published by one
 * store, no malloc); with a library like SQLite, clients that may be killed
 * belong behind a server thread of its own.
 *
 * Requests are one line of text, replies too:
 *   "get ID"          -> "ID VALUE HITS"   (hits: how often it was updated)
 *   "set ID VALUE"    -> "ID HITS"
 *   "count"           -> "ROWS"
 * A missing row is -ENOENT, a malformed request -EINVAL.
 *
 *   sqlite-server [ROWS [SERVICE]]     (default 100000 rows, service "sqlite")
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hop.h>

static sqlite3 *db;
static sqlite3_stmt *get_stmt, *set_stmt, *count_stmt;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;

static int prepare(const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

/* A table of ROWS rows, "value of row N", built in one transaction. */
static int open_db(int rows)
{
	sqlite3_stmt *ins;
	char val[64];
	int id;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE TABLE kv (id INTEGER PRIMARY KEY, val TEXT NOT NULL,"
			 " hits INTEGER NOT NULL DEFAULT 0); BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    prepare("INSERT INTO kv (id, val) VALUES (?1, ?2)", &ins))
		return -1;
	for (id = 1; id <= rows; id++) {
		snprintf(val, sizeof(val), "value-of-row-%d", id);
		sqlite3_bind_int(ins, 1, id);
		sqlite3_bind_text(ins, 2, val, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			return -1;
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	/* Prepared once, run by every hop: the parsing is not paid per call. */
	return prepare("SELECT val, hits FROM kv WHERE id = ?1", &get_stmt) ||
	       prepare("UPDATE kv SET val = ?2, hits = hits + 1 WHERE id = ?1 RETURNING hits",
		       &set_stmt) ||
	       prepare("SELECT count(*) FROM kv", &count_stmt) ? -1 : 0;
}

/* Runs one statement; the caller holds db_lock. */
static ssize_t run(const char *cmd, char *resp, size_t cap)
{
	char value[256];
	ssize_t n = -EINVAL;
	int id, rc;

	if (sscanf(cmd, "get %d", &id) == 1) {
		sqlite3_bind_int(get_stmt, 1, id);
		rc = sqlite3_step(get_stmt);
		if (rc == SQLITE_ROW)
			n = snprintf(resp, cap, "%d %s %lld", id,
				     (const char *)sqlite3_column_text(get_stmt, 0),
				     sqlite3_column_int64(get_stmt, 1));
		else
			n = rc == SQLITE_DONE ? -ENOENT : -EIO;
		sqlite3_reset(get_stmt);
	} else if (sscanf(cmd, "set %d %255s", &id, value) == 2) {
		sqlite3_bind_int(set_stmt, 1, id);
		sqlite3_bind_text(set_stmt, 2, value, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(set_stmt);
		if (rc == SQLITE_ROW)
			n = snprintf(resp, cap, "%d %lld", id, sqlite3_column_int64(set_stmt, 0));
		else
			n = rc == SQLITE_DONE ? -ENOENT : -EIO;
		/* Stepping a RETURNING statement to its end commits the update. */
		if (rc == SQLITE_ROW && sqlite3_step(set_stmt) != SQLITE_DONE)
			n = -EIO;
		sqlite3_reset(set_stmt);
	} else if (!strcmp(cmd, "count")) {
		if (sqlite3_step(count_stmt) == SQLITE_ROW)
			n = snprintf(resp, cap, "%lld", sqlite3_column_int64(count_stmt, 0));
		else
			n = -EIO;
		sqlite3_reset(count_stmt);
	}
	if (n >= 0 && (size_t)n >= cap)
		n = -ENOSPC;
	return n;
}

/* The handler: on the client's thread, in this process. */
static ssize_t handle(void *ctx, const void *req, size_t len, void *resp, size_t cap)
{
	char cmd[512];
	ssize_t n;

	(void)ctx;
	if (len == 0 || len >= sizeof(cmd))
		return -EINVAL;
	memcpy(cmd, req, len);
	cmd[len] = '\0';
	pthread_mutex_lock(&db_lock);
	n = run(cmd, resp, cap);
	pthread_mutex_unlock(&db_lock);
	return n;
}

int main(int argc, char **argv)
{
	struct hop_serve_opts opts = { .size = sizeof(opts), .slots = 8 };
	int rows = argc > 1 ? atoi(argv[1]) : 100000;
	const char *name = argc > 2 ? argv[2] : "sqlite";
	struct hop_service *svc;
	int err;

	if (rows < 1 || open_db(rows)) {
		fprintf(stderr, "sqlite-server: cannot build the table: %s\n",
			db ? sqlite3_errmsg(db) : "no rows");
		return 1;
	}
	err = hop_serve(&svc, name, handle, NULL, &opts);
	if (err) {
		fprintf(stderr, "sqlite-server: hop_serve: %s\n", strerror(-err));
		return 1;
	}
	printf("sqlite-server: pid %d serves \"%s\": %d rows, SQLite %s, %u slots, no worker threads\n",
	       getpid(), name, rows, sqlite3_libversion(), opts.slots);
	fflush(stdout);
	pause();
	return 0;
}
