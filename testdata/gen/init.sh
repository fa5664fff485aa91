#!/bin/busybox sh
# /init of the fixture guest (busybox initramfs). Makes the machine look
# lived-in, captures what the kernel shows in /proc and /sys onto the spare
# disk as a tar, then crashes the kernel with sysrq-c (booted with panic=0, the
# guest then sits in panic for the host to dump it).
#
# Kernel parameters read here (unknown key=value parameters reach init's
# environment): vmcore_fixture=<id>, fixture_mode=full|bare|kdump|capture,
# fixture_scenario=sysrq|oom|hung|many (kdump mode: how the kernel crashes; see
# the scenario section below and kdump.sh), fixture_ref=lzo-d1 (kdump mode:
# the capture kernel also writes that reference dump).
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp /mnt/data /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The many-tasks scenario's ground truth (every task's files) needs more room.
if [ "$fixture_scenario" = many ]; then tmp_size=512m; else tmp_size=64m; fi
mount -t tmpfs -o size=$tmp_size,mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run

log() { echo "fixture-init: $*" >/dev/console; echo "<6>fixture-init: $*" >/dev/kmsg; }

# ---------------------------------------------------------------- scenarios
# kdump mode: this kernel loads a capture kernel (the same kernel and this
# initramfs, from the disk labelled fixture-kdump) with kexec -p, and then
# crashes the way fixture_scenario says. The capture kernel runs this /init
# again in capture mode: it writes the dumps with makedumpfile from
# /proc/vmcore onto that disk and powers off.
KD=/kdump
kd_run() { LD_LIBRARY_PATH=$KD/lib "$KD/bin/$@"; }

kdump_capture() {
	for m in $(cat /modules/order); do
		# Only what the kdump disk needs (virtio-pci, virtio-blk).
		case "$m" in virtio_scsi) ;; virtio*) insmod /modules/$m.ko || log "insmod $m failed" ;; esac
	done
	mkdir -p /mnt/kdump
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		dev=$(findfs LABEL=fixture-kdump 2>/dev/null) && break
		sleep 0.2
	done
	mount -t ext4 "$dev" /mnt/kdump || { log "capture: no kdump disk"; poweroff -f; }
	o=/mnt/kdump/out
	mkdir -p $o
	log "capture kernel up; dumping /proc/vmcore"
	{
		echo "vmcore_size $(stat -c %s /proc/vmcore)"
		kd_run makedumpfile -v 2>&1 | head -1
		t=$(date +%s)
		kd_run makedumpfile --message-level 6 -l -d 31 /proc/vmcore $o/kdump-lzo-d31.kdump 2>&1
		echo "lzo_rc $? seconds $(($(date +%s) - t))"
		t=$(date +%s)
		kd_run makedumpfile --message-level 6 -E -d 31 /proc/vmcore $o/kdump-elf-d31.elf 2>&1
		echo "elf_rc $? seconds $(($(date +%s) - t))"
		# A kernel no released makedumpfile knows (kernels.txt reference=):
		# also a dump at a level that excludes no kernel page, the one its
		# tests compare with the ground truth.
		if [ "$fixture_ref" = lzo-d1 ]; then
			t=$(date +%s)
			kd_run makedumpfile --message-level 6 -l -d 1 /proc/vmcore $o/kdump-lzo-d1.kdump 2>&1
			echo "ref_rc $? seconds $(($(date +%s) - t))"
		fi
		kd_run makedumpfile --message-level 6 --dump-dmesg /proc/vmcore $o/kdump-dmesg.txt 2>&1
		echo "dmesg_rc $?"
	} >$o/capture.log 2>&1
	cat /proc/cmdline >$o/capture-cmdline
	umount /mnt/kdump
	sync
	log "capture done; powering off"
	poweroff -f
}

# kdump_load: load the capture kernel; the crash then kexecs into it.
kdump_load() {
	mkdir -p /mnt/kdump
	mount -t ext4 -o ro "$(findfs LABEL=fixture-kdump)" /mnt/kdump || { log "kdump: no kdump disk"; return; }
	kd_run kexec -p /mnt/kdump/vmlinuz --initrd=/mnt/kdump/initrd.img \
		--append="console=ttyS0 no_timer_check reset_devices nr_cpus=1 irqpoll panic=1 cgroup_disable=memory vmcore_fixture=$vmcore_fixture fixture_mode=capture${fixture_ref:+ fixture_ref=$fixture_ref}" ||
		log "kexec -p failed"
	umount /mnt/kdump
	[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || log "kdump: no capture kernel loaded"
}

# scenario_prepare: what the scenario needs in place before the ground truth
# is captured, so that the capture shows it (sysctls, the tasks involved).
scenario_prepare() {
	kdump_load
	case "$fixture_scenario" in
	oom)
		sysctl -w vm.panic_on_oom=1 >/dev/null
		/fixture-oom &
		oom_pid=$!
		echo "oom_pid $oom_pid" >>/run/scenario
		;;
	hung)
		# The hung-task check is off (timeout 0) while the truth is captured;
		# scenario_crash sets a 2 s timeout, which wakes khungtaskd.
		sysctl -w kernel.hung_task_panic=1 kernel.hung_task_timeout_secs=0 >/dev/null
		mkdir -p /mnt/frozen
		mount -t ext4 "$(findfs LABEL=fixture-frozen)" /mnt/frozen || log "hung: no frozen disk"
		fsfreeze --freeze /mnt/frozen || log "hung: fsfreeze failed"
		/fixture-writer /mnt/frozen/blocked &
		echo "writer_pid $!" >>/run/scenario
		for p in /proc/[0-9]*; do
			[ "$(cat $p/comm 2>/dev/null)" = khungtaskd ] && echo "khungtaskd_pid ${p#/proc/}" >>/run/scenario
		done
		;;
	many)
		# A server's worth of tasks (scenario.c's many()): ~2,000 in S, some
		# in T, Z, R, and D on a frozen filesystem; khungtaskd is told not to
		# report the D ones. The crash is sysrq-c.
		sysctl -w kernel.hung_task_timeout_secs=0 >/dev/null
		mkdir -p /mnt/frozen
		mount -t ext4 "$(findfs LABEL=fixture-frozen)" /mnt/frozen || log "many: no frozen disk"
		fsfreeze --freeze /mnt/frozen || log "many: fsfreeze failed"
		/fixture-many /mnt/frozen /run/many-ready &
		echo "many_pid $!" >>/run/scenario
		for i in $(seq 1 600); do [ -e /run/many-ready ] && break; sleep 0.2; done
		[ -e /run/many-ready ] || log "many: the tasks were not ready after 120 s"
		log "many: $(ls -d /proc/[0-9]*/task/[0-9]* | wc -l) tasks"
		;;
	esac
	echo "scenario $fixture_scenario" >>/run/scenario
}

# scenario_crash: crash the kernel the scenario's way.
scenario_crash() {
	case "$fixture_mode/$fixture_scenario" in
	kdump/oom)
		log "crashing: OOM with vm.panic_on_oom=1"
		kill -USR1 $oom_pid
		;;
	kdump/hung)
		log "crashing: hung task with kernel.hung_task_panic=1"
		sysctl -w kernel.hung_task_timeout_secs=2 >/dev/null
		;;
	*)
		log "crashing"
		echo c >/proc/sysrq-trigger
		;;
	esac
	while :; do sleep 60; done
}

[ "$fixture_mode" = capture ] && kdump_capture

for m in $(cat /modules/order); do
	if [ "$fixture_mode" = bare ] && [ "$m" = qemu_fw_cfg ]; then
		continue # the bare guest's dump must carry no VMCOREINFO note
	fi
	insmod /modules/$m.ko || log "insmod $m failed"
done

hostname "vmcr-$vmcore_fixture"
echo fixture.example > /proc/sys/kernel/domainname

if [ "$fixture_mode" = bare ]; then
	log "bare guest for $vmcore_fixture up; crashing"
	sync
	echo c >/proc/sysrq-trigger
fi

mount -t debugfs debugfs /sys/kernel/debug
mount -t ext4 -o rw,noatime /dev/vda /mnt/data || log "mount ext4 failed"
mkdir -p /mnt/data/locks
: >/run/scenario
[ "$fixture_mode" = kdump ] && scenario_prepare
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
echo "+memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/fixture-a /sys/fs/cgroup/fixture-b

# Swap on the virtio-scsi disk, when it came up.
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sda ] && break; sleep 0.2; done
if [ -b /dev/sda ]; then mkswap /dev/sda >/dev/null && swapon /dev/sda; else log "no /dev/sda"; fi

# Network: lo, and a dummy device with documentation-range addresses and a route.
ip link set lo up
ip link add dummy0 type dummy
ip link set dummy0 address 02:00:5e:10:00:01 mtu 1400 up
ip addr add 192.0.2.10/24 dev dummy0
ip -6 addr add 2001:db8::10/64 dev dummy0
ip -6 route add 2001:db8:1::/48 via 2001:db8::1 dev dummy0
ip route add 198.51.100.0/24 via 192.0.2.1 dev dummy0

echo "<4>vmcore-report fixture $vmcore_fixture: warning-level test message" >/dev/kmsg
echo "<6>vmcore-report fixture $vmcore_fixture: info-level test message" >/dev/kmsg

# Processes in varied states.
/lived hold /mnt/data/locks >/dev/console 2>&1 &
lived_pid=$!
echo $lived_pid >/sys/fs/cgroup/fixture-a/cgroup.procs
/lived sleep --fixture-sleeper "argument with spaces" &
sleeper=$!
echo $sleeper >/sys/fs/cgroup/fixture-b/cgroup.procs
/lived sleep --fixture-stopped &
stopped=$!
sleep 0.3 # stop it after its exec, so the stopped task is lived, not a forked shell
kill -STOP $stopped
/lived spin &
spinner=$!
renice 19 $spinner >/dev/null
sleep 2 # let IPv6 duplicate address detection finish

T=/tmp/truth
mkdir -p $T/commands $T/meta
# Markers in the kernel log: their printk timestamps are the clock the panic
# lines use, so the tests know each capture's time against the crash.
echo "<6>fixture-init: truth capture start" >/dev/kmsg
date +%s >$T/meta/capture_start
echo "$lived_pid $sleeper $stopped $spinner" >$T/meta/fixture_pids
cp /run/scenario $T/meta/scenario

# Most volatile first, static files last.
/lived capture $T \
	/proc/loadavg /proc/uptime /proc/stat /proc/meminfo /proc/vmstat /proc/zoneinfo \
	/proc/buddyinfo /proc/pagetypeinfo /proc/slabinfo /proc/interrupts /proc/softirqs \
	/proc/diskstats /proc/schedstat /sys/kernel/debug/sched/debug \
	'/proc/[0-9]*/stat' '/proc/[0-9]*/statm' '/proc/[0-9]*/status' '/proc/[0-9]*/io' \
	'/proc/[0-9]*/task/[0-9]*/stat' '/proc/[0-9]*/task/[0-9]*/status' \
	'/proc/[0-9]*/cmdline' '/proc/[0-9]*/comm' '/proc/[0-9]*/limits' '/proc/[0-9]*/stack' \
	'/proc/[0-9]*/mountinfo' '/proc/[0-9]*/maps' '/proc/[0-9]*/cgroup' \
	/proc/locks /proc/swaps /proc/partitions /proc/filesystems /proc/devices \
	/proc/mounts /proc/self/mountinfo /proc/modules /proc/cmdline /proc/version \
	/proc/cpuinfo /proc/kallsyms /proc/vmallocinfo /proc/misc /proc/iomem /proc/ioports /proc/consoles /proc/crypto \
	/proc/key-users /proc/cgroups \
	'/proc/net/*' '/proc/net/stat/*' '/proc/sys/kernel/*' '/proc/sys/vm/*' \
	'/proc/sys/fs/*' '/proc/sys/net/core/*' \
	'/sys/devices/system/cpu/online' '/sys/devices/system/cpu/possible' \
	'/sys/devices/system/cpu/present' '/sys/devices/system/cpu/offline' \
	'/sys/devices/system/cpu/kernel_max' '/sys/devices/system/node/online' \
	'/sys/block/*/size' '/sys/block/*/queue/logical_block_size' \
	'/sys/class/net/*/address' '/sys/class/net/*/mtu' '/sys/class/net/*/operstate' \
	'/sys/fs/cgroup/cgroup.controllers' '/sys/fs/cgroup/*/cgroup.procs' \
	'/sys/kernel/mm/transparent_hugepage/enabled'
date +%s >$T/meta/capture_files_done

dmesg >$T/commands/dmesg
uname -a >$T/commands/uname_-a
uname -r >$T/commands/uname_-r
lsmod >$T/commands/lsmod
ps >$T/commands/ps
ip addr >$T/commands/ip_addr
ip -d link >$T/commands/ip_-d_link
ip route >$T/commands/ip_route
ip -6 route >$T/commands/ip_-6_route
free >$T/commands/free
uptime >$T/commands/uptime
hostname >$T/commands/hostname
sysctl -a >$T/commands/sysctl_-a 2>/dev/null
date +%s >$T/meta/capture_end

log "capture done; writing truth tar"
tar -cf /dev/vdb -C $T . || log "tar to /dev/vdb failed"
# Only the truth disk: a sync of every filesystem would block on a frozen one.
sync /dev/vdb

# The crash-instant capture: the volatile files again, as the very last thing
# before the crash, onto the truth disk at 64 MiB. Only the kernel's own set
# (full mode) keeps one: a kdump scenario's truth disk is smaller, and there
# the capture's work would only move the state its tests compare (load
# average, free memory). Between its start marker and the panic only the tar
# write and the crash run.
if [ "$fixture_mode" = full ]; then
	F=/tmp/crash
	mkdir -p $F
	echo "<6>fixture-init: crash-instant capture start" >/dev/kmsg
	/lived capture $F \
		/proc/uptime /proc/loadavg /proc/stat /proc/meminfo /proc/vmstat /proc/zoneinfo \
		/proc/buddyinfo /proc/slabinfo /proc/interrupts /proc/softirqs /proc/diskstats /proc/schedstat \
		'/proc/[0-9]*/stat' '/proc/[0-9]*/statm' '/proc/[0-9]*/status' '/proc/[0-9]*/io' \
		'/proc/[0-9]*/task/[0-9]*/stat'
	echo "<6>fixture-init: crash-instant capture end" >/dev/kmsg
	tar -cf - -C $F . | dd of=/dev/vdb bs=1M seek=64 iflag=fullblock conv=fsync 2>/dev/null || log "no crash-instant capture written"
fi
scenario_crash
