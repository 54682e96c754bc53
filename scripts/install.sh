#!/bin/sh
# Installs herald from an unpacked release tarball on a systemd host, with no
# network access: the program, the systemd unit, a configuration skeleton in
# /etc/herald, the `herald` user and /var/lib/herald. Enables the unit; starts
# it only with --start. Running it again upgrades in place (config and state
# are kept); --uninstall reverses it, keeping config and state unless --purge.
#
# Usage: ./install.sh [--start] [--root DIR]
#        ./install.sh --uninstall [--purge] [--root DIR]
#
# --root DIR (or DESTDIR=DIR) installs into DIR as the root of the file
# system, for packaging and tests: nothing is started, and the user is added
# to DIR/etc/passwd (DIR/etc/passwd, group, shadow and gshadow must exist).
set -eu

PROG=install.sh
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=${DESTDIR:-}
action=install
start=no
purge=no

die() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 1
}
say() { printf '%s\n' "$*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --start) start=yes ;;
    --uninstall) action=uninstall ;;
    --purge) purge=yes ;;
    --root) [ $# -ge 2 ] || die "Cannot parse arguments: --root needs a directory"; root=$2; shift ;;
    --root=*) root=${1#--root=} ;;
    -h | --help) printf 'Usage: %s [--start] [--root DIR]\n       %s --uninstall [--purge] [--root DIR]\n' "$0" "$0"; exit 0 ;;
    *) die "Cannot parse arguments: unknown option \"$1\" (see --help)" ;;
  esac
  shift
done
[ "$purge" = no ] || [ "$action" = uninstall ] || die "Cannot purge: --purge goes with --uninstall"

# An empty root means the running system; strip trailing slashes otherwise.
if [ -n "$root" ]; then
  [ -d "$root" ] || die "Cannot install into \"$root\": not a directory"
  root=$(CDPATH='' cd -- "$root" && pwd)
  [ "$root" != / ] || root=""
fi
[ -z "$root" ] || [ "$start" = no ] || die "Cannot start herald inside --root \"$root\": start it on the host it boots"

# --- checks: root, systemd, the release files ---------------------------------

[ "$(id -u)" -eq 0 ] || die "Cannot $action herald: run as root (sudo $0 ...)"
command -v systemctl >/dev/null 2>&1 || die "Cannot $action herald: systemd is absent (no systemctl); run herald under your own supervisor, see the README"
if [ -z "$root" ] && [ ! -d /run/systemd/system ]; then
  die "Cannot $action herald: systemd is not running on this host (/run/systemd/system is missing); use --root DIR to prepare a file system instead"
fi

BIN=$root/usr/local/bin/herald
LIBDIR=$root/usr/local/lib/herald
UNIT=$root/etc/systemd/system/herald.service
CONFDIR=$root/etc/herald
STATEDIR=$root/var/lib/herald

# The herald user's numeric ids, read from the target's own files.
user_ids() {
  awk -F: '$1 == "herald" { print $3 ":" $4; found = 1 } END { exit !found }' "$root/etc/passwd"
}
prefix_opt() {
  [ -z "$root" ] || printf '%s\n' "--prefix=$root"
}
systemctl_root() {
  if [ -n "$root" ]; then systemctl --root="$root" "$@"; else systemctl "$@"; fi
}
running() {
  [ -z "$root" ] && systemctl is-active --quiet herald.service
}

install_program() {
  mkdir -p "$root/usr/local/bin"
  if [ -f "$here/deno" ] && [ -f "$here/herald.js" ]; then
    # No compiled binary in this release: the launcher, the bundle and the
    # deno runtime live together in /usr/local/lib/herald.
    mkdir -p "$LIBDIR"
    for f in herald deno herald.js; do
      mode=0755
      [ "$f" != herald.js ] || mode=0644
      install -m "$mode" "$here/$f" "$LIBDIR/.$f.new"
      mv -f "$LIBDIR/.$f.new" "$LIBDIR/$f"
    done
    ln -sfn ../lib/herald/herald "$BIN.new"
    mv -fT "$BIN.new" "$BIN"
  else
    # Replace by rename: the running binary keeps its inode until restarted.
    install -m 0755 "$here/herald" "$BIN.new"
    mv -fT "$BIN.new" "$BIN"
    rm -rf "$LIBDIR"
  fi
}

do_install() {
  [ -f "$here/herald" ] || die "Cannot install herald: \"$here/herald\" is missing (run install.sh from the unpacked release)"
  [ -f "$here/deploy/herald.service" ] || die "Cannot install herald: \"$here/deploy/herald.service\" is missing"
  for f in passwd group; do
    [ -f "$root/etc/$f" ] || die "Cannot add the herald user: \"$root/etc/$f\" is missing"
  done

  if ! user_ids >/dev/null; then
    # shellcheck disable=SC2046 # prefix_opt prints nothing or one word
    grep -q '^herald:' "$root/etc/group" || groupadd $(prefix_opt) --system herald
    # shellcheck disable=SC2046
    useradd $(prefix_opt) --system --gid herald --home-dir /var/lib/herald --no-create-home \
      --shell /usr/sbin/nologin --comment "herald BGP agent" herald
    say "added system user herald"
  fi
  ids=$(user_ids)
  gid=${ids#*:}

  install_program
  say "installed $BIN ($("$BIN" version 2>/dev/null || echo "version unknown"))"

  mkdir -p "$root/etc/systemd/system"
  install -m 0644 "$here/deploy/herald.service" "$UNIT.new"
  mv -f "$UNIT.new" "$UNIT"

  # Configuration: root:herald 0750, files 0640; never overwrite the admin's.
  mkdir -p "$CONFDIR"
  chown "0:$gid" "$CONFDIR"
  chmod 0750 "$CONFDIR"
  if [ -d "$here/deploy/config" ]; then
    for f in "$here"/deploy/config/*; do
      [ -f "$f" ] || continue
      dest=$CONFDIR/$(basename "$f")
      if [ -e "$dest" ]; then
        say "kept $dest"
      else
        install -m 0640 -o 0 -g "$gid" "$f" "$dest"
        say "installed $dest"
      fi
    done
  fi

  mkdir -p "$STATEDIR"
  chown "$ids" "$STATEDIR"
  chmod 0750 "$STATEDIR"

  [ -n "$root" ] || systemctl daemon-reload
  systemctl_root enable herald.service >/dev/null 2>&1 || die "Cannot enable herald.service: systemctl enable failed"
  say "enabled herald.service"
  if [ "$start" = yes ]; then
    # restart: an upgrade is a graceful restart (routes stay with the peers).
    systemctl restart herald.service
    say "started herald.service"
  elif running; then
    say "herald.service is running the previous version: systemctl restart herald (graceful restart keeps the routes)"
  else
    say "start it with: systemctl start herald"
  fi
}

do_uninstall() {
  if [ -z "$root" ]; then
    systemctl disable --now herald.service >/dev/null 2>&1 || true
  elif [ -f "$UNIT" ]; then
    systemctl_root disable herald.service >/dev/null 2>&1 || true
  fi
  rm -f "$UNIT" "$root/etc/systemd/system/multi-user.target.wants/herald.service"
  [ -n "$root" ] || systemctl daemon-reload
  rm -f "$BIN"
  rm -rf "$LIBDIR"
  say "removed the herald program and herald.service"
  if [ "$purge" = yes ]; then
    rm -rf "$CONFDIR" "$STATEDIR" "$UNIT.d"
    # shellcheck disable=SC2046
    if user_ids >/dev/null; then userdel $(prefix_opt) herald; fi
    # shellcheck disable=SC2046
    if grep -q '^herald:' "$root/etc/group"; then groupdel $(prefix_opt) herald; fi
    say "removed $CONFDIR, $STATEDIR and the herald user"
  else
    say "kept $CONFDIR, $STATEDIR and the herald user (--purge removes them)"
  fi
}

if [ "$action" = install ]; then do_install; else do_uninstall; fi
