# botctl dev-stop over ssh. Arguments: TERM|KILL|CHECK, then PID:START:HEX (start time in
# seconds since the epoch, as botctl's scan computed it; HEX: the first 4096 bytes of the
# process's /proc/PID/cmdline as the scan read it). A pid is signalled only while it is still
# that process (start time and command line), belongs to this user and has not exited; each
# one signalled (or, for CHECK, still running) is printed.
export LC_ALL=C
what=$1
shift
me=$(id -u)
btime=0
while read -r k v; do
  if [ "$k" = btime ]; then btime=$v; break; fi
done </proc/stat
tck=$(getconf CLK_TCK 2>/dev/null) || tck=100
[ -n "$tck" ] && [ "$tck" -gt 0 ] 2>/dev/null || tck=100
for t in "$@"; do
  pid=${t%%:*}
  rest=${t#*:}
  want=${rest%%:*}
  hex=${rest#*:}
  read -r stat 2>/dev/null <"/proc/$pid/stat" || continue
  rest=${stat##*) }
  set -f
  # shellcheck disable=SC2086
  set -- $rest
  set +f
  state=$1
  shift 19
  start=$((btime + $1 / tck))
  [ "$state" = Z ] && continue
  [ "$want" = -1 ] || [ "$start" = "$want" ] || continue
  uid=
  while read -r k a rest; do
    if [ "$k" = Uid: ]; then uid=$a; break; fi
  done 2>/dev/null <"/proc/$pid/status"
  [ "$uid" = "$me" ] || continue
  have=$(od -An -v -tx1 -N 4096 "/proc/$pid/cmdline" 2>/dev/null | tr -d ' \n')
  [ "$have" = "$hex" ] || continue
  if [ "$what" = CHECK ]; then
    echo "$pid"
  elif kill -s "$what" "$pid" 2>/dev/null; then
    echo "$pid"
  fi
done
exit 0
