#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# modinfo-check.sh: check that modinfo shows what a user reads about hop.ko: description, author, license, version, vermagic, every parameter with its description.
#
#   modinfo-check.sh MODULE RELEASE   (MODULE: a .ko path, or "hop" for the one depmod knows)
#
# The parameters are taken from module/*.c (module_param*(NAME, ...)), so a
# new parameter without MODULE_PARM_DESC fails here.  Prints modinfo's output
# and what is missing; exit 0 only when nothing is.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
module=$1 release=$2
version=$(sed -n 's/^MODULE_VERSION("\(.*\)");$/\1/p' "$repo/module/main.c")
info=$(modinfo "$module") || exit 1
echo "$info" | grep -v '^sig\|^[[:space:]]'
bad=0
need() { grep -q "$1" <<<"$info" || { echo "missing: $2"; bad=1; }; }
need '^description: *hop: process hopping' description
need '^author: *[^ ]' author
need '^license: *GPL$' license
need "^version: *$version\$" "version $version"
need "^vermagic: *$release " "vermagic $release"
for p in $(sed -n 's/^module_param[a-z_]*(\([a-z_0-9]*\),.*/\1/p' "$repo"/module/*.c); do
	need "^parm: *$p:[^ ]" "parameter $p with a description"
done
exit $bad
