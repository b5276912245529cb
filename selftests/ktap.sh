# SPDX-License-Identifier: GPL-2.0
# ktap.sh: the one KTAP case runner that the shell tests source (not a test itself).
#
# The sourcing script sets n=0 pass=0 fail=0 and $tmp (a scratch directory),
# then calls:  t DESCRIPTION COMMAND...
# which runs COMMAND and prints "ok N DESCRIPTION", or the command's output
# as KTAP comments and "not ok N DESCRIPTION".

t() {
	local desc=$1
	shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok $n $desc"; pass=$((pass + 1))
	else
		sed 's/^/# /' "$tmp/out"
		echo "not ok $n $desc"; fail=$((fail + 1))
	fi
}
