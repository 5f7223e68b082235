# botctl's look at a server: what the local scan reads, printed NUL-separated for botctl to
# match (the rules live in botctl, not here). POSIX sh: dash and busybox sh run it too.
# Fixed text: nothing of botctl's environment or of a token is in it.
export LC_ALL=C
f() { printf '%s\0' "$@"; }
if ! [ -r /proc/self/stat ]; then
  echo "no /proc on this host: botctl reads processes from /proc" >&2
  exit 3
fi
btime=0
while read -r k v; do
  if [ "$k" = btime ]; then btime=$v; break; fi
done </proc/stat
tck=$(getconf CLK_TCK 2>/dev/null) || tck=100
f botctl-host-1 "$(id -u)" "${HOME:-}" "$btime" "${tck:-100}"
# One section: name, exit status, what the command printed (127: not installed).
section() {
  name=$1
  shift
  if command -v "$1" >/dev/null 2>&1; then
    out=$("$@" 2>&1 </dev/null)
    f s "$name" "$?" "$out"
  else
    f s "$name" 127 "$1 is not installed"
  fi
}
section passwd cat /etc/passwd
# Every process: pid, stat line, uid, working folder, cgroup (shell builtins only: no fork per
# process).
for d in /proc/[0-9]*; do
  read -r stat 2>/dev/null <"$d/stat" || continue
  uid=
  while read -r k a rest; do
    if [ "$k" = Uid: ]; then uid=$a; break; fi
  done 2>/dev/null <"$d/status"
  cwd=
  if cd -P "$d/cwd" 2>/dev/null; then cwd=$PWD; fi
  cd /
  cg=
  while IFS= read -r l; do cg="$cg$l
"; done 2>/dev/null <"$d/cgroup"
  f p "${d#/proc/}" "$stat" "$uid" "$cwd" "$cg"
done
section crontab crontab -l
section systemd systemctl show --no-pager --property=Id,ExecStart,ActiveState,UnitFileState '*.service'
section systemd-user systemctl --user show --no-pager --property=Id,ExecStart,ActiveState,UnitFileState '*.service'
if [ -S "$HOME/.pm2/rpc.sock" ]; then
  section pm2 pm2 jlist
fi
if [ -r "$HOME/.pm2/dump.pm2" ]; then
  section pm2-dump cat "$HOME/.pm2/dump.pm2"
fi
section supervisorctl supervisorctl status
# supervisord's config files: their [program:…] entries with autostart start a bot at boot.
for c in /etc/supervisor/supervisord.conf /etc/supervisord.conf /etc/supervisor/conf.d/*.conf \
  /etc/supervisord.d/*.ini; do
  if [ -f "$c" ] && [ -r "$c" ]; then
    f s "supervisord-conf:$c" 0
    cat "$c" 2>/dev/null
    printf '\0'
  fi
done
# Last, every argv as /proc has it (NUL-separated), in one `head` for all processes: it names
# each file in a `==> /proc/PID/cmdline <==` line. /dev/null makes sure there are two files.
f argv
head -c 1048576 /proc/[0-9]*/cmdline /dev/null 2>/dev/null
printf '\0\036botctl-end\036\0'
