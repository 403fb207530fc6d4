#!/bin/sh
# Stands in for ptxas (MVC_PTXAS): rejects its input the way ptxas does, at line 30.
for a in "$@"; do case "$a" in *.ptx) ptx="$a";; esac; done
echo "ptxas $ptx, line 30; error   : Illegal operand type to instruction 'mma'" >&2
echo "ptxas fatal   : Ptx assembly aborted due to errors" >&2
exit 255
