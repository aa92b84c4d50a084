#!/usr/bin/env bash
# The packaging test `make test` runs:
#  1. (anyone) `make install` into a scratch DESTDIR with another PREFIX: the
#     unit names the installed binary, a second install keeps an edited
#     config, the man pages and completions are there, and so is jails.d,
#     which the installed config includes.
#  2. (root with dpkg) the .deb on this machine: dpkg -i, peerjail version and
#     check with the installed config, systemd-analyze verify and security
#     (exposure at most 2.0) on the installed unit, a jail dropped into
#     /etc/peerjail/jails.d seen by check, an edited conffile kept on
#     reinstall, dpkg -r keeps only the conffiles, dpkg --purge leaves nothing.
# It never starts peerjail: the maintainer scripts only daemon-reload,
# try-restart on upgrade (a no-op for a stopped service), stop and disable;
# this script checks that, and that the service is not running after install.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "packaging test: FAIL: $*" >&2; exit 1; }
MAKE=${MAKE:-make}

# --- 1. make install into a DESTDIR ---------------------------------------
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
"$MAKE" --no-print-directory -s install DESTDIR="$dest" PREFIX=/opt/pj >/dev/null
unit=$dest/opt/pj/lib/systemd/system/peerjail.service
grep -q '^ExecStartPre=/opt/pj/bin/peerjail check -c /etc/peerjail/peerjail.yaml$' "$unit" || fail "unit ExecStartPre: $(grep ^ExecStartPre "$unit")"
grep -q '^ExecStart=/opt/pj/bin/peerjail run -c /etc/peerjail/peerjail.yaml \$PEERJAIL_OPTS$' "$unit" || fail "unit ExecStart: $(grep ^ExecStart= "$unit")"
! grep -q /usr/local/bin "$unit" || fail "installed unit still names /usr/local/bin"
for f in opt/pj/bin/peerjail opt/pj/share/man/man1/peerjail.1 opt/pj/share/man/man1/peerjail-run.1 \
	opt/pj/share/bash-completion/completions/peerjail opt/pj/share/zsh/site-functions/_peerjail \
	opt/pj/share/fish/vendor_completions.d/peerjail.fish opt/pj/share/doc/peerjail/peerjail.yaml \
	opt/pj/share/doc/peerjail/prometheus/peerjail.rules.yml opt/pj/share/doc/peerjail/grafana/peerjail.json \
	opt/pj/share/doc/peerjail/alertmanager/alertmanager.yml \
	etc/peerjail/peerjail.yaml etc/default/peerjail; do
	[ -s "$dest/$f" ] || fail "make install did not install $f"
done
"$dest/opt/pj/bin/peerjail" check -c "$dest/etc/peerjail/peerjail.yaml" >/dev/null || fail "installed default config does not check"
[ -d "$dest/etc/peerjail/jails.d" ] || fail "make install did not create etc/peerjail/jails.d"
grep -qx 'include: \[/etc/peerjail/jails.d/\*.yaml\]' "$dest/etc/peerjail/peerjail.yaml" || fail "installed config does not include jails.d"
# The installed config names /etc; point a copy at the staged jails.d.
sed "s|/etc/peerjail/jails.d/|$dest/etc/peerjail/jails.d/|" "$dest/etc/peerjail/peerjail.yaml" >"$dest/staged.yaml"
printf 'jails:\n  dropin:\n    filter: sshd\n    source: {journal: {match: [SYSLOG_IDENTIFIER=dropin]}}\n' >"$dest/etc/peerjail/jails.d/dropin.yaml"
out=$("$dest/opt/pj/bin/peerjail" check -c "$dest/staged.yaml") || fail "check with a drop-in in the staged jails.d"
grep -qx "include $dest/etc/peerjail/jails.d/dropin.yaml: jails dropin" <<<"$out" || fail "check did not list the drop-in: $out"
grep -q '^dropin: filter sshd, journal SYSLOG_IDENTIFIER=dropin, maxretry 5 in 10m' <<<"$out" || fail "check did not run the dropped-in jail: $out"
rm "$dest/etc/peerjail/jails.d/dropin.yaml" "$dest/staged.yaml"
echo "# mine" >>"$dest/etc/peerjail/peerjail.yaml"
echo "PEERJAIL_OPTS=--log-level=debug" >>"$dest/etc/default/peerjail"
"$MAKE" --no-print-directory -s install DESTDIR="$dest" PREFIX=/opt/pj >/dev/null
tail -1 "$dest/etc/peerjail/peerjail.yaml" | grep -qx '# mine' || fail "make install overwrote peerjail.yaml"
tail -1 "$dest/etc/default/peerjail" | grep -qx 'PEERJAIL_OPTS=--log-level=debug' || fail "make install overwrote default/peerjail"
echo "packaging test: make install into DESTDIR: ok"

# --- 2. the .deb on this machine --------------------------------------------
skip() { echo "packaging test: .deb: SKIP: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "not root (dpkg -i needs root)"
command -v dpkg >/dev/null 2>&1 || skip "no dpkg here"
command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze missing (apt-get install systemd)"
# Never touch an installation that is not this test's: purging would delete
# an operator's configuration.
if dpkg-query -W -f='${db:Status-Abbrev}' peerjail 2>/dev/null | grep -q '^.[^n]'; then
	skip "a peerjail package is installed here; not replacing it"
fi
for f in /usr/bin/peerjail /etc/peerjail /etc/default/peerjail /usr/lib/systemd/system/peerjail.service \
	/lib/systemd/system/peerjail.service /etc/systemd/system/peerjail.service /var/lib/peerjail; do
	[ ! -e "$f" ] || skip "$f exists: a peerjail is installed here; not replacing it"
done

"$MAKE" --no-print-directory -s deb >/dev/null
deb=dist/peerjail_$(packaging/version.sh --deb)_$(${GO:-go} env GOARCH).deb
[ -f "$deb" ] || fail "make deb did not make $deb"

ctl=$(mktemp -d)
trap 'rm -rf "$dest" "$ctl"; dpkg-query -W peerjail >/dev/null 2>&1 && dpkg --purge peerjail >/dev/null 2>&1 || true' EXIT
dpkg-deb -e "$deb" "$ctl"
# Nothing in the maintainer scripts starts the service.
if grep -nE '^[^#]*(systemctl +(--[a-z-]+ +)*(start|restart|reload-or-restart|enable +--now)|deb-systemd-invoke|invoke-rc\.d)' \
	"$ctl"/postinst "$ctl"/prerm "$ctl"/postrm; then
	fail "a maintainer script may start peerjail"
fi
grep -qx /etc/peerjail/peerjail.yaml "$ctl/conffiles" || fail "peerjail.yaml is not a conffile"
grep -qx /etc/default/peerjail "$ctl/conffiles" || fail "/etc/default/peerjail is not a conffile"
mapfile -t shipped < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./|/|; /[^/]$/p')
[ ${#shipped[@]} -ge 10 ] || fail "the .deb holds only: ${shipped[*]}"

dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
if [ -d /run/systemd/system ] && systemctl is-active --quiet peerjail.service; then
	fail "peerjail.service is running after dpkg -i"
fi
want="peerjail $(packaging/version.sh) (commit $(git rev-parse HEAD), go"
got=$(peerjail version) || fail "peerjail version"
[[ $got == "$want"* ]] || fail "peerjail version: $got; want $want..."
[ "$(peerjail --version)" = "$got" ] || fail "peerjail --version differs from peerjail version"
[ "$(command -v peerjail)" = /usr/bin/peerjail ] || fail "peerjail on PATH is $(command -v peerjail)"
peerjail check -c /etc/peerjail/peerjail.yaml >/dev/null || fail "peerjail check with the installed config"
[ -d /etc/peerjail/jails.d ] || fail "the .deb did not create /etc/peerjail/jails.d"
dropin=/etc/peerjail/jails.d/packaging-test.yaml
printf 'jails:\n  dropin:\n    filter: sshd\n    source: {journal: {match: [SYSLOG_IDENTIFIER=dropin]}}\n' >$dropin
out=$(peerjail check -c /etc/peerjail/peerjail.yaml) || { rm -f $dropin; fail "peerjail check with a jail in jails.d"; }
rm $dropin
grep -qx "include $dropin: jails dropin" <<<"$out" || fail "check did not list $dropin: $out"
grep -q '^dropin: filter sshd, journal SYSLOG_IDENTIFIER=dropin, maxretry 5 in 10m' <<<"$out" || fail "check did not run the jail in $dropin: $out"
installed=/usr/lib/systemd/system/peerjail.service
grep -q '^ExecStart=/usr/bin/peerjail run ' $installed || fail "installed unit: $(grep ^ExecStart= $installed)"
out=$(systemd-analyze verify $installed 2>&1) || fail "systemd-analyze verify: $out"
out=$(systemd-analyze security --offline=true $installed 2>&1) || fail "systemd-analyze security: $out"
level=$(sed -n 's/.*Overall exposure level for peerjail.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$level" ] || fail "no exposure level in: $out"
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level, want at most 2.0"
zcat /usr/share/man/man1/peerjail-run.1.gz | grep -q '^\.TH "PEERJAIL-RUN" "1"' || fail "no man page for peerjail run"
bash -c '. /usr/share/bash-completion/completions/peerjail && complete -p peerjail' >/dev/null || fail "bash completion does not load"

# A reinstall keeps the operator's edits to the conffiles.
echo "# mine" >>/etc/peerjail/peerjail.yaml
dpkg -i "$deb" >/dev/null || fail "dpkg -i again"
tail -1 /etc/peerjail/peerjail.yaml | grep -qx '# mine' || fail "reinstall overwrote /etc/peerjail/peerjail.yaml"

dpkg -r peerjail >/dev/null || fail "dpkg -r"
dpkg-query -W -f='${db:Status-Abbrev}' peerjail | grep -q '^rc' || fail "after dpkg -r: $(dpkg-query -W -f='${db:Status-Abbrev}' peerjail)"
for f in "${shipped[@]}"; do
	case $f in
	/etc/peerjail/peerjail.yaml | /etc/default/peerjail) [ -e "$f" ] || fail "dpkg -r removed conffile $f" ;;
	*) [ ! -e "$f" ] || fail "dpkg -r left $f" ;;
	esac
done
dpkg --purge peerjail >/dev/null || fail "dpkg --purge"
for f in "${shipped[@]}" /etc/peerjail /usr/share/doc/peerjail; do
	[ ! -e "$f" ] || fail "dpkg --purge left $f"
done
! dpkg-query -W peerjail >/dev/null 2>&1 || fail "dpkg still knows peerjail after purge"
echo "packaging test: .deb ($deb, exposure $level): installed, checked, removed, purged: ok"
