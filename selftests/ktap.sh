# SPDX-License-Identifier: GPL-2.0
# ktap.sh: the one KTAP case runner that the shell tests source (not a test itself), on top of the kernel's own ktap_helpers.sh.
#
# The sourcing script sets n=0 pass=0 fail=0 and $tmp (a scratch directory),
# then calls:  t DESCRIPTION COMMAND...
# which runs COMMAND and prints "ok N DESCRIPTION", or the command's output
# as KTAP comments and "not ok N DESCRIPTION".
#
# The result lines come from kselftest's ktap_helpers.sh
# (tools/testing/selftests/kselftest/ in the linux-source-6.12 tree that
# selftests/vm/linux-source.sh unpacks into the cache for the kernel's
# selftests and the debug kernel): ktap_test_pass and ktap_test_fail, whose
# numbering ($KTAP_TESTNO) this keeps in step with $n.  What ktap_helpers.sh
# lacks stays here: its ktap_test_result runs "$@" unquoted (an argument with
# a blank would split) and lets the command's output through uncommented,
# which a KTAP parser reads as garbage; t quotes the command and prints its
# output as "# " comments only when it failed.  The scripts print their own
# plan and totals (some count skips of their own).  The kernel's runner.sh is
# not used by selftests/vm/run-tests.sh: see the reason there.
#
# The file is found in $HOP_KTAP_HELPERS, else in the cache ($HOP_CACHE; in
# the guest, which gets no HOP_CACHE, the cache that holds its kernel,
# $HOP_HEADERS; else /var/cache/hop), else by unpacking the tree on the host.

hop_ktap_helpers() {
	local cache f
	[ -n "${HOP_KTAP_HELPERS:-}" ] && { echo "$HOP_KTAP_HELPERS"; return; }
	cache=${HOP_CACHE:-}
	# In the guest: its kernel's headers were unpacked into the cache.
	if [ -z "$cache" ]; then
		case ${HOP_HEADERS:-} in
		*/headers/*) cache=${HOP_HEADERS%/headers/*} ;;
		esac
	fi
	cache=${cache:-/var/cache/hop}
	for f in "$cache"/debug/src-*/tools/testing/selftests/kselftest/ktap_helpers.sh; do
		[ -f "$f" ] && { echo "$f"; return; }
	done
	# The host, before anything unpacked the tree (the guests see the host's
	# cache read-only and never get here once make has built).
	f=$("$(dirname "${BASH_SOURCE[0]}")/vm/linux-source.sh" 2>/dev/null)/tools/testing/selftests/kselftest/ktap_helpers.sh
	[ -f "$f" ] && echo "$f"
}

_hop_ktap=$(hop_ktap_helpers)
if [ -z "$_hop_ktap" ]; then
	echo "Bail out! ktap.sh: kselftest's ktap_helpers.sh not found (selftests/vm/linux-source.sh unpacks it; or set HOP_KTAP_HELPERS)"
	exit 1
fi
# shellcheck source=/dev/null
. "$_hop_ktap"
unset _hop_ktap

t() {
	local desc=$1
	shift
	n=$((n + 1))
	KTAP_TESTNO=$n
	if "$@" >"$tmp/out" 2>&1; then
		ktap_test_pass "$desc"; pass=$((pass + 1))
	else
		sed 's/^/# /' "$tmp/out"
		ktap_test_fail "$desc"; fail=$((fail + 1))
	fi
}
