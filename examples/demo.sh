#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# demo.sh: a guided tour of hop inside the test VM (`make demo` runs it there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n== %s\n' "$*"; }

say "What this is"
cat <<'TXT'
hop lets a thread "hop" into another process to run a service's handler
there, instead of waking a server thread and sleeping until it answers.  It
is a kernel module, hop.ko, which provides the device /dev/hop.  You are
looking at a virtual machine (QEMU) running a Debian kernel; the test VM
loaded hop.ko before starting this script, and will unload it afterwards.
TXT

say "The kernel we run on"
uname -r

say "The module is loaded (lsmod) and its device exists (/dev/hop)"
lsmod | awk 'NR == 1 || $1 == "hop"'
ls -l /dev/hop
modinfo -F description "$HOP_KO" 2>/dev/null || true

say "Asking the module for its ABI version (build/examples/hop-version, the HOP_IOC_VERSION ioctl)"
build/examples/hop-version

say "echo: a client's thread hops into the echo server and back"
cat <<'TXT'
echo-server registers the service "echo" and then just sleeps: it has no
thread that serves.  echo-client calls it; its own thread switches into the
server's address space, file table, cwd and credentials, runs the handler,
and switches back with the reply.  Look at what the handler could see:
TXT
build/examples/echo-server echo >/tmp/echo-server.log &
echo_pid=$!
build/examples/echo-client "hello from the client" echo
cat /tmp/echo-server.log
cat <<'TXT'
The global, the file and the cwd are the server's; getpid() and gettid() are
the client's, because it is the client's thread, switched, that ran the code.
TXT
kill "$echo_pid"
wait "$echo_pid" 2>/dev/null || true

# NAME-server SERVER_ARGS in the background, NAME-client CLIENT_ARGS against
# it (the clients wait for the service to appear), then the server's log and
# how many threads it had while it served, and stop it.
threadless_pair() {
	local name=$1 server_args=$2 client_args=$3 pid
	# shellcheck disable=SC2086 # the argument lists are split on purpose
	build/examples/$name-server $server_args >"/tmp/$name-server.log" &
	pid=$!
	# shellcheck disable=SC2086
	build/examples/$name-client $client_args
	cat "/tmp/$name-server.log"
	echo "Server threads while it served: $(ls /proc/$pid/task | wc -l) (its main thread, asleep)"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

say "kv: a key-value server with no worker threads, 4 client threads hammering it"
threadless_pair kv "kv" "4 100 kv"

say "sqlite: real work per call, an SQLite table served over hop"
cat <<'TXT'
sqlite-server builds a 100,000-row table in an in-memory SQLite database and
registers "sqlite"; again no thread of its serves.  sqlite-client's threads
hop in, and each runs a prepared SELECT or UPDATE on the server's connection
(a mutex keeps two of them off one statement), then checks every reply.
TXT
threadless_pair sqlite "100000 sqlite" "4 100 sqlite"

say "slowdev: the interrupt path, a slow device and a thread that never waits for it"
cat <<'TXT'
slowdev-server serves reads from QEMU's edu PCI device, with a cache in its
memory.  slowdev-client has one thread: it submits reads through io_uring,
each of which hops into the server's handler, starts a DMA transfer and
comes straight back.  When the device's interrupt fires, the kernel spawns a
thread that enters the server, writes the block into its cache, and posts
the reply as a completion.  Cached blocks complete first: out of order.
TXT
build/examples/slowdev-server slowdev &
slowdev_pid=$!
build/examples/slowdev-client slowdev
kill "$slowdev_pid"
wait "$slowdev_pid" 2>/dev/null || true

if [ -x bench/demo-bench.sh ] && [ -x build/bench/hopbench ]; then
	say "How fast? hop against a pipe and a futex, same request and reply, same guest"
	echo "(Under QEMU software emulation absolute times mean little: read the ratios.)"
	bench/demo-bench.sh
fi

say "Done: the VM will now unload hop.ko, check the kernel log and power off"
