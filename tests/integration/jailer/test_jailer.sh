#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Integration tests of wisp-jailer, modelled on Firecracker's
# tests/integration_tests/security/test_jail.py, with a static probe
# (jail-probe) exec'd instead of wisp. As root, with real namespaces, cgroups
# v1 and v2, device nodes and privileges. Every run uses its own temporary
# base dir, cgroup parent and netns, all removed at the end.
#
#   test_jailer.sh <wisp-jailer> <jail-probe>
#
# Exit: 0 all passed, 1 a check failed, 77 skipped (not root).
set -u

JAILER=$(readlink -f "$1")
PROBE=$(readlink -f "$2")
[ "$(id -u)" = 0 ] || { echo "SKIP: the jailer integration tests need root"; exit 77; }
[ -x "$JAILER" ] && [ -x "$PROBE" ] || { echo "FAIL: missing binaries"; exit 1; }

JUID=23456
JGID=23457
TAG=wisp-it-$$
TOP=$(mktemp -d /tmp/wisp-jailer-it.XXXXXX)
BASE=$TOP/base
mkdir "$BASE"
NETNS=$TAG
CG1_CPU=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)
CG1_CPUSET=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuset(,|$)/ {print $2; exit}' /proc/mounts)
CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
CG2_ROOT_SUBTREE=""
[ -n "$CG2" ] && CG2_ROOT_SUBTREE=$(cat "$CG2/cgroup.subtree_control")
FAILS=0
PASSES=0

# ---------------------------------------------------------------- helpers
pass() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() {  # check "<what>" <actual> <expected>
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
check_has() {  # check_has "<what>" "<haystack>" "<needle>"
	case "$2" in *"$3"*) pass "$1" ;; *) fail "$1: '$3' not in '$2'" ;; esac
}

cleanup() {
	local f pid d
	for f in "$TOP"/*/*/*/root/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done
	sleep 0.2
	for d in "$CG1_CPU" "$CG1_CPUSET" "$CG2"; do
		[ -n "$d" ] || continue
		find "$d" -depth -type d -path "*$TAG*" -exec rmdir {} \; 2>/dev/null
		rmdir "$d/jail-probe" 2>/dev/null
	done
	if [ -n "$CG2" ]; then
		for c in $(cat "$CG2/cgroup.subtree_control"); do
			case " $CG2_ROOT_SUBTREE " in *" $c "*) ;; *) echo "-$c" > "$CG2/cgroup.subtree_control" 2>/dev/null ;; esac
		done
	fi
	ip netns del "$NETNS" 2>/dev/null
	rm -rf "$TOP"
}
trap cleanup EXIT

# jail <id> [jailer flags...] -- [probe args...]: run the jailer with the
# common flags; stdout/stderr of the run land in $TOP/<id>.out / .err.
jail() {
	local id=$1
	shift
	"$JAILER" --id "$id" --exec-file "$PROBE" --uid "$JUID" --gid "$JGID" \
		--chroot-base-dir "$BASE" "$@" > "$TOP/$id.out" 2> "$TOP/$id.err"
}
root_of() { echo "$BASE/jail-probe/$1/root"; }
val() { sed -n "s/^$2=//p" "$TOP/$1.out" | head -n1; }
# The values of a /proc/<pid>/status line, joined by single spaces.
status_field() { awk -v k="$2:" '$1 == k {$1 = ""; sub(/^ /, ""); print; exit}' "/proc/$1/status"; }
wait_pidfile() {
	local f
	f="$(root_of "$1")/jail-probe.pid"
	for _ in $(seq 200); do [ -s "$f" ] && { cat "$f"; return 0; }; sleep 0.02; done
	return 1
}
wait_gone() { for _ in $(seq 250); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.02; done; return 1; }
release() { touch "$(root_of "$1")/release"; wait_gone "$2"; }
# Nothing under the base dir (and, if given, no such path) after a refusal.
nothing_left() {
	local what=$1 extra=${2:-}
	local n
	n=$(find "$BASE" -mindepth 1 | wc -l)
	check "$what: nothing created under the base dir" "$n" 0
	if [ -n "$extra" ]; then
		check "$what: $extra not created" "$([ -e "$extra" ] && echo exists || echo absent)" absent
	fi
}
stat_of() { stat -c '%F %a %u:%g' "$1"; }
dev_of() { stat -c '%F %t:%T %a %u:%g' "$1"; }
host_dev() { stat -c "%F %t:%T 600 $JUID:$JGID" "$1"; }

# ------------------------------------------------ 1. tree, probe, sanitising
echo "# 1. the jail tree and the jailed process's view of itself"
# The probe runs under the jailer's allow-list like wisp: what it cannot ask
# the kernel itself (ids, capabilities, seccomp mode, cwd, namespaces) is
# read from /proc/<pid>/ while it holds.
exec 7</dev/null
FOO=bar jail t1 -- --try-clone3 --kill-self --hold &
JPID=$!
exec 7<&-
PID=$(wait_pidfile t1) || { fail "t1 never started: $(cat "$TOP/t1.err")"; PID=""; }
R=$(root_of t1)
if [ -n "$PID" ]; then
	check "uid/euid/suid/fsuid" "$(status_field "$PID" Uid)" "$JUID $JUID $JUID $JUID"
	check "gid/egid/sgid/fsgid" "$(status_field "$PID" Gid)" "$JGID $JGID $JGID $JGID"
	check "no supplementary groups" "$(status_field "$PID" Groups)" ""
	check "no_new_privs" "$(status_field "$PID" NoNewPrivs)" 1
	check "seccomp mode filter" "$(status_field "$PID" Seccomp)" 2
	check "one filter (the jailer's)" "$(status_field "$PID" Seccomp_filters)" 1
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		check "no capabilities: $c" "$(status_field "$PID" $c)" 0000000000000000
	done
	check "cwd is the jail root" "$(readlink /proc/"$PID"/cwd)" "/"
	check "root is the jail" "$(ls /proc/"$PID"/root/ | tr '\n' ' ')" "dev firecracker.pid jail-probe jail-probe.pid run "
	check "own IPC namespace" "$([ "$(readlink /proc/"$PID"/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] && echo new)" new
	check "own UTS namespace" "$([ "$(readlink /proc/"$PID"/ns/uts)" != "$(readlink /proc/self/ns/uts)" ] && echo new)" new
	release t1 "$PID" || fail "t1 did not exit after release"
fi
wait "$JPID" 2>/dev/null
check "jailer exit status" "$?" 0
check "jail root" "$(stat_of "$R")" "directory 700 $JUID:$JGID"
check "/dev" "$(stat_of "$R/dev")" "directory 700 $JUID:$JGID"
check "/dev/net" "$(stat_of "$R/dev/net")" "directory 700 $JUID:$JGID"
check "/run" "$(stat_of "$R/run")" "directory 700 $JUID:$JGID"
check "/dev/kvm node" "$(dev_of "$R/dev/kvm")" "$(host_dev /dev/kvm)"
check "/dev/net/tun node" "$(dev_of "$R/dev/net/tun")" "$(host_dev /dev/net/tun)"
check "/dev/urandom node" "$(dev_of "$R/dev/urandom")" "$(host_dev /dev/urandom)"
if [ -c /dev/userfaultfd ]; then
	check "/dev/userfaultfd node" "$(dev_of "$R/dev/userfaultfd")" "$(host_dev /dev/userfaultfd)"
else
	check "no /dev/userfaultfd (host has none)" "$([ -e "$R/dev/userfaultfd" ] && echo y || echo n)" n
fi
check "copied binary" "$(stat_of "$R/jail-probe")" "regular file 755 $JUID:$JGID"
check "copied binary content" "$(cmp -s "$PROBE" "$R/jail-probe" && echo same)" same
check "copied, not linked" "$(stat -c %h "$R/jail-probe"):$([ "$(stat -c %i "$PROBE")" = "$(stat -c %i "$R/jail-probe")" ] && echo same-inode || echo own-inode)" "1:own-inode"
check "no old_root left" "$([ -e "$R/old_root" ] && echo y || echo n)" n
check "pid file = exec'd pid" "$(cat "$R/jail-probe.pid")" "$(val t1 pid)"
check "firecracker.pid (Kata) = exec'd pid" "$(cat "$R/firecracker.pid")" "$(val t1 pid)"
check "argv0" "$(val t1 argv0)" "/jail-probe"
check "argv --id" "$(val t1 argv1) $(val t1 argv2)" "--id t1"
check "argv --start-time-us" "$(val t1 argv3)" "--start-time-us"
check "argv --start-time-cpu-us" "$(val t1 argv5)" "--start-time-cpu-us"
check "argv --parent-cpu-time-us" "$(val t1 argv7)" "--parent-cpu-time-us"
check "argv after --" "$(val t1 argv9) $(val t1 argv10)" "--try-clone3 --kill-self"
check "default no-file 2048" "$(val t1 nofile_soft)/$(val t1 nofile_hard)" "2048/2048"
check "fsize unlimited by default" "$(val t1 fsize_soft)" unlimited
check "inherited fds closed" "$(val t1 open_fds_above_2)" 0
check "environment empty" "$(val t1 env_count)" 0
check "/dev/kvm usable by uid" "$(val t1 kvm_open)" 1
check "host /proc not visible" "$(val t1 proc_visible)" 0
check "clone3 -> ENOSYS (glibc falls back to clone)" "$(val t1 denied_clone3)" "Function not implemented"
check "signals to itself allowed" "$(val t1 kill_self)" 0
check "probe ran to the end" "$(val t1 done)" 1

# --------------- 1b. a call outside the allow-list kills right after exec
echo "# 1b. the jailer's allow-list: a call outside it kills the process (SIGSYS)"
for c in unshare mount ptrace clone-newuser fork socket-inet mknod mmap-exec chmod getuid capget; do
	jail "x-$c" -- --try "$c" 2>/dev/null
	rc=$?
	check "$c: killed by SIGSYS (exit 159), at that call" "$rc:$(val "x-$c" try):$(val "x-$c" done)" "159:$c:"
done

# ---------------------------------------------- 2. /proc, limits, cgroups v1
echo "# 2. /proc/<pid>/status, limits and cgroups v1 of a running jailed process"
if [ -n "$CG1_CPU" ] && [ -n "$CG1_CPUSET" ]; then
	CPUS=$(cat "$CG1_CPUSET/cpuset.cpus")
	MEMS=$(cat "$CG1_CPUSET/cpuset.mems")
	jail t2 --cgroup cpu.shares=3 --cgroup cpu.cfs_period_us=200000 \
		--cgroup cpuset.mems="$MEMS" --cgroup cpuset.cpus="$CPUS" --parent-cgroup "$TAG/v1" \
		--resource-limit no-file=1024 --resource-limit fsize=2097151 -- --hold &
	JPID=$!
	PID=$(wait_pidfile t2) || { fail "t2 never started: $(cat "$TOP/t2.err")"; PID=""; }
	if [ -n "$PID" ]; then
		check "Uid" "$(status_field "$PID" Uid)" "$JUID $JUID $JUID $JUID"
		check "Gid" "$(status_field "$PID" Gid)" "$JGID $JGID $JGID $JGID"
		check "Groups" "$(status_field "$PID" Groups)" ""
		check "NoNewPrivs" "$(status_field "$PID" NoNewPrivs)" 1
		for c in CapInh CapPrm CapEff CapBnd CapAmb; do
			check "$c" "$(status_field "$PID" $c)" 0000000000000000
		done
		for t in /proc/"$PID"/task/*; do
			check "Seccomp of thread ${t##*/}" "$(awk '$1 == "Seccomp:" {print $2}' "$t/status")" 2
		done
		check "new mount namespace" "$([ "$(readlink /proc/"$PID"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && echo new)" new
		check "root is the jail" "$(ls /proc/"$PID"/root/ | tr '\n' ' ')" "dev firecracker.pid jail-probe jail-probe.pid run "
		check "limits: open files" "$(awk '/^Max open files/ {print $4, $5}' /proc/"$PID"/limits)" "1024 1024"
		check "limits: file size" "$(awk '/^Max file size/ {print $4, $5}' /proc/"$PID"/limits)" "2097151 2097151"
		D="$CG1_CPU/$TAG/v1/t2"
		check "v1 cpu.shares" "$(cat "$D/cpu.shares")" 3
		check "v1 cpu.cfs_period_us" "$(cat "$D/cpu.cfs_period_us")" 200000
		check "v1 cpu cgroup.procs" "$(cat "$D/cgroup.procs")" "$PID"
		D="$CG1_CPUSET/$TAG/v1/t2"
		check "v1 cpuset.cpus" "$(cat "$D/cpuset.cpus")" "$CPUS"
		check "v1 cpuset.mems" "$(cat "$D/cpuset.mems")" "$MEMS"
		check "v1 cpuset cgroup.procs" "$(cat "$D/cgroup.procs")" "$PID"
		check_has "/proc/pid/cgroup (cpu)" "$(cat /proc/"$PID"/cgroup)" ":cpu:/$TAG/v1/t2"
		release t2 "$PID" || fail "t2 did not exit after release"
	fi
	wait "$JPID" 2>/dev/null
	check "probe exit status" "$?" 0
	check "probe saw its limits" "$(val t2 nofile_soft) $(val t2 fsize_soft)" "1024 2097151"
else
	echo "skip - no cgroup v1 cpu/cpuset hierarchy"
fi

# ---------------------------------- 3. fsize stops a file growing past it
echo "# 3. --resource-limit fsize"
jail t3 --resource-limit fsize=10000 -- --fsize-test 20000
check "fsize: jailer exit" "$?" 0
check "fsize: write stopped at the limit" "$(val t3 fsize_written)" 10000
check "fsize: EFBIG" "$(val t3 fsize_errno)" 27

# ----------------- 4. cgroups v2, --new-pid-ns, --daemonize, --netns
echo "# 4. cgroups v2 + --new-pid-ns + --daemonize + --netns"
if [ -n "$CG2" ] && ip netns add "$NETNS" 2>/dev/null; then
	# The first controller the v2 root offers, with a file and a harmless value.
	CTRL=$(tr ' ' '\n' < "$CG2/cgroup.controllers" | grep -m1 -xE 'pids|cpu|memory|hugetlb')
	case "$CTRL" in
		pids) FILE=pids.max; VALUE=64 ;;
		cpu) FILE=cpu.max; VALUE="50000 100000" ;;
		memory) FILE=memory.max; VALUE=268435456 ;;
		*) FILE=hugetlb.2MB.max; VALUE=0 ;;
	esac
	jail t4 --cgroup-version 2 --cgroup "$FILE=$VALUE" --parent-cgroup "$TAG/v2" \
		--netns "/var/run/netns/$NETNS" --new-pid-ns --daemonize -- --hold
	check "jailer (parent) exits 0 at once" "$?" 0
	PID=$(wait_pidfile t4) || { fail "t4 never started: $(cat "$TOP/t4.err")"; PID=""; }
	if [ -n "$PID" ] && [ -d /proc/"$PID" ]; then
		check "NStgid: PID 1 of a new pid namespace" "$(status_field "$PID" NStgid)" "$PID 1"
		check "in the netns" "$(stat -L -c %i /proc/"$PID"/ns/net)" "$(stat -L -c %i "/var/run/netns/$NETNS")"
		check "stdin is /dev/null" "$(readlink /proc/"$PID"/fd/0)" /dev/null
		check "stdout is /dev/null" "$(readlink /proc/"$PID"/fd/1)" /dev/null
		check "stderr is /dev/null" "$(readlink /proc/"$PID"/fd/2)" /dev/null
		check "own session (setsid)" "$([ "$(awk '{print $6}' /proc/"$PID"/stat)" != "$(awk '{print $6}' /proc/$$/stat)" ] && echo own)" own
		check "no controlling terminal" "$(awk '{print $7}' /proc/"$PID"/stat)" 0
		check "Seccomp (pid ns)" "$(status_field "$PID" Seccomp)" 2
		check "NoNewPrivs (pid ns)" "$(status_field "$PID" NoNewPrivs)" 1
		check "CapBnd (pid ns)" "$(status_field "$PID" CapBnd)" 0000000000000000
		D="$CG2/$TAG/v2/t4"
		check "v2 $FILE" "$(cat "$D/$FILE")" "$VALUE"
		check "v2 cgroup.procs" "$(cat "$D/cgroup.procs")" "$PID"
		check_has "v2 controller enabled at the root" "$(cat "$CG2/cgroup.subtree_control")" "${FILE%%.*}"
		check_has "v2 controller enabled in the parent" "$(cat "$CG2/$TAG/v2/cgroup.subtree_control")" "${FILE%%.*}"
		check_has "/proc/pid/cgroup (v2)" "$(cat /proc/"$PID"/cgroup)" "0::/$TAG/v2/t4"
		release t4 "$PID" || fail "t4 did not exit after release"
	fi

	# cgroup.procs written once, the cgroup made once (Firecracker #2856).
	if command -v strace >/dev/null; then
		F2=$(cd "$D" 2>/dev/null && ls -d "${FILE%%.*}".*.max 2>/dev/null | grep -v "^$FILE$" | head -n1)
		EXTRA=()
		[ -n "$F2" ] && EXTRA=(--cgroup "$F2=$VALUE")
		strace -f -y -e trace=write,mkdir,mkdirat -o "$TOP/strace.log" \
			"$JAILER" --id t5 --exec-file "$PROBE" --uid "$JUID" --gid "$JGID" \
			--chroot-base-dir "$BASE" --cgroup-version 2 --cgroup "$FILE=$VALUE" "${EXTRA[@]}" \
			--parent-cgroup "$TAG/v2" > "$TOP/t5.out" 2> "$TOP/t5.err"
		check "strace run exit" "$?" 0
		check "cgroup.procs written once" "$(grep -c "t5/cgroup.procs" "$TOP/strace.log")" 1
		check "cgroup dir made once" "$(grep -E 'mkdir' "$TOP/strace.log" | grep -c "$TAG/v2/t5\"")" 1
	fi

	# v2 without --cgroup: move into an existing --parent-cgroup.
	mkdir -p "$CG2/$TAG/move"
	jail t6 --cgroup-version 2 --parent-cgroup "$TAG/move" -- --hold &
	JPID=$!
	PID=$(wait_pidfile t6) || { fail "t6 never started: $(cat "$TOP/t6.err")"; PID=""; }
	if [ -n "$PID" ]; then
		check "v2 no --cgroup: moved into the existing parent" "$(cat "$CG2/$TAG/move/cgroup.procs")" "$PID"
		check "v2 no --cgroup: no child cgroup made" "$([ -e "$CG2/$TAG/move/t6" ] && echo y || echo n)" n
		release t6 "$PID"
	fi
	wait "$JPID" 2>/dev/null
else
	echo "skip - no cgroup v2 hierarchy or cannot create a netns"
fi

# --------------------------------- 5. refusals before anything is created
echo "# 5. bad arguments fail cleanly and leave nothing behind"
BASE=$TOP/refusals
mkdir "$BASE"
CGP="$CG1_CPU/$TAG/refused"

"$JAILER" --id r1 --exec-file "$PROBE" --uid abc --gid "$JGID" --chroot-base-dir "$BASE" \
	--cgroup cpu.shares=2 --parent-cgroup "$TAG/refused" > "$TOP/r1.out" 2> "$TOP/r1.err"
check "wrong uid: exit 1" "$?" 1
check_has "wrong uid: message" "$(cat "$TOP/r1.err")" "Invalid uid: abc"
nothing_left "wrong uid" "$CGP"

"$JAILER" --id r2 --exec-file "$BASE/no-such-file" --uid "$JUID" --gid "$JGID" \
	--chroot-base-dir "$BASE" --cgroup cpu.shares=2 --parent-cgroup "$TAG/refused" \
	> "$TOP/r2.out" 2> "$TOP/r2.err"
check "missing exec file: exit 1" "$?" 1
check_has "missing exec file: message" "$(cat "$TOP/r2.err")" \
	"Failed to canonicalize path $BASE/no-such-file: No such file or directory (os error 2)"
nothing_left "missing exec file" "$CGP"

jail r3 --netns /var/run/netns/no-such-netns-$$ --cgroup cpu.shares=2 --parent-cgroup "$TAG/refused"
check "missing netns: exit 1" "$?" 1
check_has "missing netns: message" "$(cat "$TOP/r3.err")" \
	"Failed to open file /var/run/netns/no-such-netns-$$: No such file or directory (os error 2)"
nothing_left "missing netns" "$CGP"

jail r4 --cgroup nosuchctl.value=1 --parent-cgroup "$TAG/refused"
check "unknown controller: exit 1" "$?" 1
check_has "unknown controller: message" "$(cat "$TOP/r4.err")" "Controller nosuchctl is unavailable"
nothing_left "unknown controller" "$CGP"

jail r5 --id again
check "duplicate --id: exit 1" "$?" 1
check_has "duplicate --id: message" "$(cat "$TOP/r5.err")" "The argument 'id' was provided more than once."
"$JAILER" --id bad_id --exec-file "$PROBE" --uid 1 --gid 1 --chroot-base-dir "$BASE" \
	> /dev/null 2> "$TOP/r6.err"
check_has "bad id: message" "$(cat "$TOP/r6.err")" "Invalid instance ID: Invalid char (_) at position 3"
nothing_left "bad id"

# A failure while running (the kernel refuses a cgroup value) undoes what
# was made: jail dirs, the copied binary, the cgroup dirs.
jail r7 --cgroup cpu.shares=not-a-number --parent-cgroup "$TAG/refused"
check "bad cgroup value: exit 1" "$?" 1
check_has "bad cgroup value: message" "$(cat "$TOP/r7.err")" "Failed to write to $CGP/r7/cpu.shares"
nothing_left "bad cgroup value (undone)" "$CGP"

# ----------------------------------------- 6. symlinks and hard links
echo "# 6. symlinked and hard-linked destinations are refused"
mkdir -p "$(root_of s1)"
echo original > "$TOP/target"
ln -s "$TOP/target" "$(root_of s1)/jail-probe"
jail s1
check "symlinked exec destination: exit 1" "$?" 1
check_has "symlinked exec destination: message" "$(cat "$TOP/s1.err")" "Failed to open $(root_of s1)/jail-probe"
check "symlink target untouched" "$(cat "$TOP/target")" original

mkdir -p "$(root_of s2)"
echo original > "$BASE/hardlinked"
ln "$BASE/hardlinked" "$(root_of s2)/jail-probe"
jail s2
check "hard-linked exec destination: exit 1" "$?" 1
check_has "hard-linked exec destination: message" "$(cat "$TOP/s2.err")" "Detected hard link at: $(root_of s2)/jail-probe"
check "hard link target untouched" "$(cat "$BASE/hardlinked")" original

mkdir -p "$BASE/elsewhere" "$BASE/jail-probe"
ln -s "$BASE/elsewhere" "$BASE/jail-probe/s3"
jail s3
check "symlinked jail component: exit 1" "$?" 1
check_has "symlinked jail component: message" "$(cat "$TOP/s3.err")" "symbolic link"
check "nothing built through the symlink" "$(ls -A "$BASE/elsewhere" | wc -l)" 0

# ----------------------- 7. a root VMM (Kata: --uid 0 --gid 0) stays inside
echo "# 7. --uid 0 --gid 0: no signals to host processes, no host System V IPC"
sleep 120 &
HOSTPID=$!
SHMID=$(ipcmk -M 4096 -p 0600 | sed -n 's/^Shared memory id: //p')
root_jail() {  # root_jail <id> [probe args...]
	local id=$1
	shift
	"$JAILER" --id "$id" --exec-file "$PROBE" --uid 0 --gid 0 --chroot-base-dir "$BASE" -- \
		"$@" > "$TOP/$id.out" 2> "$TOP/$id.err"
}
root_jail u0 --kill-self --hold &
JPID=$!
PID=$(wait_pidfile u0) || { fail "u0 never started: $(cat "$TOP/u0.err")"; PID=""; }
if [ -n "$PID" ]; then
	check "uid 0 jail: runs as root" "$(status_field "$PID" Uid)" "0 0 0 0"
	check "uid 0 jail: own IPC namespace" "$([ "$(readlink /proc/"$PID"/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] && echo new)" new
	check "uid 0 jail: own UTS namespace" "$([ "$(readlink /proc/"$PID"/ns/uts)" != "$(readlink /proc/self/ns/uts)" ] && echo new)" new
	release u0 "$PID" || fail "u0 did not exit after release"
fi
wait "$JPID" 2>/dev/null
check "uid 0 jail: exit status" "$?" 0
check_has "uid 0 jail: warning" "$(cat "$TOP/u0.err")" "Warning! The VMM will run with uid 0 and gid 0"
check "uid 0 jail: signals to itself still work" "$(val u0 kill_self)" 0
root_jail u0k --try "kill:$HOSTPID" 2>/dev/null
check "uid 0 jail: kill(host pid) kills the caller" "$?:$(val u0k try)" "159:kill:$HOSTPID"
root_jail u0t --try "tgkill:$HOSTPID" 2>/dev/null
check "uid 0 jail: tgkill(host pid) kills the caller" "$?:$(val u0t try)" "159:tgkill:$HOSTPID"
root_jail u0s --try "shmctl:$SHMID" 2>/dev/null
check "uid 0 jail: System V IPC (shmctl) kills the caller" "$?:$(val u0s try)" "159:shmctl:$SHMID"
check "uid 0 jail: host process untouched" "$(kill -0 "$HOSTPID" 2>/dev/null && echo alive)" alive
jail u1 -- --try "kill:$HOSTPID" 2>/dev/null
check "uid $JUID jail: kill(host pid) kills the caller" "$?:$(val u1 try)" "159:kill:$HOSTPID"
check "uid $JUID jail: no warning" "$(grep -c Warning! "$TOP/u1.err")" 0
kill "$HOSTPID" 2>/dev/null
wait "$HOSTPID" 2>/dev/null
ipcrm -m "$SHMID"

# ------------- 8. a failed run leaves no cgroup directory behind (issue 13)
echo "# 8. a run that fails in the cgroup step removes every cgroup directory it made"
BASE=$TOP/cgfail
mkdir "$BASE"
P8=$TAG-cgfail  # a cgroup prefix of its own (earlier sections leave theirs until the end)
cg_left() {  # the directories under the given cgroup paths, one line
	local p
	for p in "$@"; do [ -d "$p" ] && find "$p" -type d; done | tr '\n' ' '
}
if [ -n "$CG1_CPU" ] && [ -n "$CG1_CPUSET" ]; then
	# cpu joined first, then cpuset refuses the process (cpuset.mems empty):
	# the jailer must leave the cpu cgroup again before removing it.
	jail "$TAG-f1" --cgroup cpu.shares=2 --cgroup cpuset.cpus=0 --parent-cgroup "$P8/f1/p"
	check "v1 cpuset.cpus without cpuset.mems: exit 1" "$?" 1
	check_has "v1 cpuset.cpus without cpuset.mems: message" "$(cat "$TOP/$TAG-f1.err")" \
		"$CG1_CPUSET/$P8/f1/p/$TAG-f1/cgroup.procs: No space left on device (os error 28)"
	check "v1 --parent-cgroup: no cgroup directory left" \
		"$(cg_left "$CG1_CPU/$P8" "$CG1_CPUSET/$P8")" ""
	check "v1 --parent-cgroup: no jail left" "$(find "$BASE" -mindepth 1 | wc -l)" 0
	# The default parent (the exec file's name), as Firecracker's tests use it.
	jail "$TAG-f2" --cgroup cpu.shares=2 --cgroup cpuset.cpus=0
	check "v1 default parent: exit 1" "$?" 1
	check "v1 default parent: no cgroup directory left" \
		"$(cg_left "$CG1_CPU/jail-probe/$TAG-f2" "$CG1_CPUSET/jail-probe/$TAG-f2")" ""
	check "v1 default parent: parent removed too (it was made by the run)" \
		"$(cg_left "$CG1_CPU/jail-probe" "$CG1_CPUSET/jail-probe")" ""
	# An existing parent stays; only what the run made goes.
	mkdir -p "$CG1_CPU/$P8/keep"
	jail "$TAG-f3" --cgroup cpu.shares=2 --cgroup cpuset.cpus=0 --parent-cgroup "$P8/keep"
	check "v1 existing parent: exit 1" "$?" 1
	check "v1 existing parent: kept, child removed" "$(cg_left "$CG1_CPU/$P8")" \
		"$CG1_CPU/$P8 $CG1_CPU/$P8/keep "
	check "v1: the jailer's shell is back where it was" "$(grep -c "$TAG" /proc/$$/cgroup)" 0
else
	echo "skip - no cgroup v1 cpu/cpuset hierarchy"
fi
if [ -n "$CG2" ] && grep -qw hugetlb "$CG2/cgroup.controllers"; then
	# v2, --parent-cgroup: the kernel refuses the value; the three levels made
	# for it (<tag>/f4/p/<id>) go.
	jail "$TAG-f4" --cgroup-version 2 --cgroup hugetlb.2MB.max=not-a-number --parent-cgroup "$P8/f4/p"
	check "v2 bad value: exit 1" "$?" 1
	check_has "v2 bad value: message" "$(cat "$TOP/$TAG-f4.err")" \
		"Failed to write to $CG2/$P8/f4/p/$TAG-f4/hugetlb.2MB.max: Invalid argument (os error 22)"
	check "v2 --parent-cgroup: no cgroup directory left" "$(cg_left "$CG2/$P8")" ""
	check "v2: no jail left" "$(find "$BASE" -mindepth 1 | wc -l)" 0
else
	echo "skip - no cgroup v2 hierarchy with hugetlb"
fi

echo "# $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
