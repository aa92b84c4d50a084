#!/bin/sh
# Prints peerjail's version from git: the closest tag vX.Y.Z (without its v),
# then commits since it and the commit, then -dirty for uncommitted changes,
# e.g. 0.4.0, 0.4.0-3-gabc1234, or with no tag yet 0.0.0-<n>-g<commit>.
# With --deb, the same as a Debian version that sorts by it:
# 0.4.0, 0.4.0+3.gabc1234, 0.0.0+<n>.gabc1234 (+dirty appended).
# Outside a git checkout: 0.0.0-unknown (and 0.0.0+unknown).
set -eu
cd "$(dirname "$0")/.."
if d=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
	v=${d#v}
elif n=$(git rev-list --count HEAD 2>/dev/null); then
	v=0.0.0-$n-g$(git rev-parse --short=7 HEAD)
	if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then v=$v-dirty; fi
else
	v=0.0.0-unknown
fi
if [ "${1:-}" = --deb ]; then
	# 0.4.0-3-gabc1234-dirty -> 0.4.0+3.gabc1234+dirty: a Debian upstream
	# version has no hyphen (that would start the revision).
	base=${v%%-*}
	rest=${v#"$base"}
	rest=$(printf '%s' "$rest" | sed -e 's/^-\([0-9][0-9]*\)-/+\1./' -e 's/-dirty$/+dirty/' -e 's/^-/+/')
	v=$base$rest
fi
printf '%s\n' "$v"
