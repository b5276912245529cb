// SPDX-License-Identifier: MIT-0
/* echo-client: calls "echo" and prints what the handler saw from inside the server. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hop.h>

int main(int argc, char **argv)
{
	const char *msg = argc > 1 ? argv[1] : "hello from the client";
	const char *name = argc > 2 ? argv[2] : "echo";
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	struct hop_conn *conn;
	char reply[4096];
	ssize_t n;
	int err, tries;

	/* The server may still be starting. */
	for (tries = 0; (err = hop_connect(&conn, name)) == -ENOENT && tries < 100; tries++)
		nanosleep(&nap, NULL);
	if (err) {
		fprintf(stderr, "echo-client: hop_connect(%s): %s\n", name, strerror(-err));
		return 1;
	}
	printf("echo-client: pid %d tid %d calls \"%s\"\n", getpid(), gettid(), name);
	n = hop_call(conn, msg, strlen(msg), reply, sizeof(reply) - 1);
	if (n < 0) {
		fprintf(stderr, "echo-client: hop_call: %s\n", strerror((int)-n));
		return 1;
	}
	reply[n] = '\0';
	fputs(reply, stdout);
	hop_disconnect(conn);
	return 0;
}
