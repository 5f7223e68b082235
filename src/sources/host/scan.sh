# botctl's look at a server: what the local scan reads, printed NUL-separated for botctl to
# match (the rules live in botctl, not here). POSIX sh: dash and busybox sh run it too.
# Fixed text: nothing of botctl's environment or of a token is in it. Its arguments: N, then N
# token variable names, then the scripts' and modules' names (see "Token variables" below).
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
# Token variables: for each process of the ssh user whose argv mentions a bot's script or
# module, the SHA-256 of each variable, from its environment, else from the .env of its
# working folder. botctl compares it with its own token's; the value never leaves this host
# (nor reaches a command line: printf is a builtin).
nvars=${1:-0}
case $nvars in '' | *[!0-9]*) nvars=0 ;; esac
[ $# -gt 0 ] && shift
vars=
while [ "$nvars" -gt 0 ] && [ $# -gt 0 ]; do
  vars="$vars $1"
  shift
  nvars=$((nvars - 1))
done
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r
  else cat >/dev/null; return 127; fi
}
token_hash() {
  h=$(printf '%s' "$1" | sha256) && h=${h%% *} && [ -n "$h" ] && echo "h:$h" || echo nohash
}
if [ -n "$vars" ] && [ $# -gt 0 ]; then
  me=$(id -u)
  pats=$(printf '%s\n' "$@")
  # One pass over every argv (NULs made newlines: busybox grep stops at a NUL) names the pids.
  for pid in $(head -c 1048576 /proc/[0-9]*/cmdline /dev/null 2>/dev/null | tr '\0' '\n' |
    P=$pats awk 'BEGIN { n = split(ENVIRON["P"], p, "\n") }
      /^==> \/proc\/[0-9]+\/cmdline <==$/ { pid = $2; gsub(/[^0-9]/, "", pid); next }
      pid != "" { for (i = 1; i <= n; i++) if (p[i] != "" && index($0, p[i])) { print pid; pid = ""; break } }'); do
    d=/proc/$pid
    owner=
    while read -r k a rest; do
      if [ "$k" = Uid: ]; then owner=$a; break; fi
    done 2>/dev/null <"$d/status"
    [ "$owner" = "$me" ] || continue
    cwd=
    if cd -P "$d/cwd" 2>/dev/null; then cwd=$PWD; fi
    cd /
    for v in $vars; do
      if ! env=$(tr '\0' '\n' 2>/dev/null <"$d/environ"); then
        f t "$pid" "$v" env unreadable
        continue
      fi
      val=$(printf '%s\n' "$env" | sed -n "s/^$v=//p" | head -n 1)
      if [ -n "$val" ]; then
        f t "$pid" "$v" env "$(token_hash "$val")"
        continue
      fi
      f t "$pid" "$v" env absent
      if [ -z "$cwd" ]; then
        f t "$pid" "$v" dotenv unreadable
      elif ! [ -f "$cwd/.env" ]; then
        f t "$pid" "$v" dotenv absent
      elif ! val=$(tr -d '\r' 2>/dev/null <"$cwd/.env"); then
        f t "$pid" "$v" dotenv unreadable
      else
        val=$(printf '%s\n' "$val" | sed -n -e 's/^[[:space:]]*export[[:space:]][[:space:]]*//' \
          -e "s/^[[:space:]]*$v[[:space:]]*=[[:space:]]*//p" | tail -n 1)
        case $val in
          \"*)
            val=${val#\"}
            val=${val%%\"*}
            ;;
          \'*)
            val=${val#\'}
            val=${val%%\'*}
            ;;
          *) val=${val%%[[:space:]#]*} ;;
        esac
        if [ -n "$val" ]; then
          f t "$pid" "$v" dotenv "$(token_hash "$val")"
        else
          f t "$pid" "$v" dotenv absent
        fi
      fi
    done
  done
fi
# Last, every argv as /proc has it (NUL-separated), in one `head` for all processes: it names
# each file in a `==> /proc/PID/cmdline <==` line. /dev/null makes sure there are two files.
f argv
head -c 1048576 /proc/[0-9]*/cmdline /dev/null 2>/dev/null
printf '\0\036botctl-end\036\0'
