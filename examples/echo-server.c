// SPDX-License-Identifier: MIT-0
/*
 * echo-server: serves "echo".  The handler answers with the request and with
 * what it can see: a global of this process, a file only this process opened,
 * this process's cwd, and the ids the kernel reports (which are the client's:
 * the client's own thread is what runs this handler).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hop.h>

static long server_calls;		/* lives in the server's memory */
static int secret_fd = -1;		/* open only in the server's file table */
static pid_t server_pid;

static ssize_t echo(void *ctx, const void *req, size_t req_len, void *resp, size_t cap)
{
	char secret[64] = "", cwd[256] = "?";
	ssize_t n;
	int len;

	(void)ctx;
	server_calls++;
	n = pread(secret_fd, secret, sizeof(secret) - 1, 0);
	if (n < 0)
		snprintf(secret, sizeof(secret), "(pread: %s)", strerror(errno));
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "?");
	len = snprintf(resp, cap,
		       "echo: %.*s\n"
		       "  server global: call number %ld of server pid %d\n"
		       "  server-only fd %d reads: %s\n"
		       "  cwd: %s\n"
		       "  getpid()=%d gettid()=%d (the caller's ids: its thread runs this)\n",
		       (int)req_len, (const char *)req, server_calls, server_pid,
		       secret_fd, secret, cwd, getpid(), gettid());
	return len < 0 ? -EIO : (len >= (int)cap ? (ssize_t)cap - 1 : len);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "echo";
	char dir[] = "/tmp/hop-echo-XXXXXX";
	struct hop_service *svc;
	int err;

	server_pid = getpid();
	if (!mkdtemp(dir) || chdir(dir)) {
		perror("echo-server: workdir");
		return 1;
	}
	secret_fd = open("secret", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (secret_fd < 0 || write(secret_fd, "only the server opened this", 27) != 27) {
		perror("echo-server: secret");
		return 1;
	}
	unlink("secret");
	err = hop_serve(&svc, name, echo, NULL, NULL);
	if (err) {
		fprintf(stderr, "echo-server: hop_serve: %s\n", strerror(-err));
		return 1;
	}
	printf("echo-server: pid %d serves \"%s\" from %s, with no serving threads\n",
	       server_pid, name, dir);
	fflush(stdout);
	/* Nothing to do: clients' threads run the handler.  SIGTERM ends us. */
	pause();
	return 0;
}
