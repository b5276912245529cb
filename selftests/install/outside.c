// SPDX-License-Identifier: GPL-2.0
/*
 * outside.c: a program written as if outside this repository, built by
 * install_test.sh with only `pkg-config --cflags --libs hop` against an
 * installed libhop: it serves a service, forks a client that calls it, and
 * reads the service's counters through <linux/hop.h>.  Exit 0 when all of
 * that worked, 1 otherwise, 77 when /dev/hop is missing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <hop.h>
#include <linux/hop.h>

static ssize_t pong(void *ctx, const void *req, size_t req_len, void *resp, size_t cap)
{
	int n = snprintf(resp, cap, "pong:%.*s", (int)req_len, (const char *)req);

	(void)ctx;
	return n < 0 || (size_t)n >= cap ? -EMSGSIZE : n;
}

static int client(const char *name)
{
	struct hop_service_info info;
	struct hop_conn *conn;
	char reply[64] = "";
	ssize_t n;
	int err;

	err = hop_connect(&conn, name);
	if (err) {
		fprintf(stderr, "outside: hop_connect: %s\n", strerror(-err));
		return 1;
	}
	n = hop_call(conn, "ping", 4, reply, sizeof(reply) - 1);
	if (n != 9 || memcmp(reply, "pong:ping", 9)) {
		fprintf(stderr, "outside: hop_call returned %zd (%s)\n", n,
			n < 0 ? strerror((int)-n) : reply);
		return 1;
	}
	err = hop_fd_info(hop_conn_fd(conn), &info);
	if (err || info.calls != 1) {
		fprintf(stderr, "outside: hop_fd_info: %d, calls %llu\n", err,
			(unsigned long long)info.calls);
		return 1;
	}
	return hop_disconnect(conn) ? 1 : 0;
}

int main(void)
{
	struct hop_service *svc;
	char name[32];
	int abi, err, status;
	pid_t pid;

	abi = hop_abi_version();
	if (abi == -ENOENT)
		return 77;
	if (abi != HOP_ABI_VERSION) {
		fprintf(stderr, "outside: hop_abi_version: %d, header says %d\n", abi, HOP_ABI_VERSION);
		return 1;
	}
	snprintf(name, sizeof(name), "outside-%d", (int)getpid());
	err = hop_serve(&svc, name, pong, NULL, NULL);
	if (err) {
		fprintf(stderr, "outside: hop_serve: %s\n", strerror(-err));
		return 1;
	}
	/* The client is another process: the handler still runs in this one. */
	pid = fork();
	if (pid == 0)
		_exit(client(name));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	err = hop_unserve(svc);
	if (err) {
		fprintf(stderr, "outside: hop_unserve: %s\n", strerror(-err));
		return 1;
	}
	printf("outside: served and called \"%s\" through libhop from pkg-config\n", name);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
