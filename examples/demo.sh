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

say "Done: the VM will now unload hop.ko, check the kernel log and power off"
