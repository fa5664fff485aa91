#!/usr/bin/env bash
# Builds the real crash-dump fixtures: for every kernel in kernels.txt, boot a
# Debian cloud kernel under QEMU/TCG with a lived-in busybox userland, capture
# /proc and /sys as ground truth, panic it, and dump it in every format the
# tools here can write. See README.md beside this file.
#
# Output: $VMCORE_REPORT_FIXTURES (default ~/.cache/vmcore-report/fixtures)
#         /<hash of this folder>/<kernel id>/{manifest.json, dumps, truth/}
# Idempotent: a set whose manifest exists is not built again.
set -euo pipefail

GEN=$(cd "$(dirname "$0")" && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vmcore-report
FIXROOT=${VMCORE_REPORT_FIXTURES:-$CACHE/fixtures}
KEY=$(cd "$GEN" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
OUT=$FIXROOT/$KEY
DEBS=$CACHE/debs
KERNELS=$CACHE/kernel-pkgs
mkdir -p "$OUT" "$DEBS" "$KERNELS"

say() { printf '[mkfixtures %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

for tool in qemu-system-x86_64 makedumpfile busybox cpio mkfs.ext4 debugfs gcc objcopy readelf socat xz sha256sum dpkg-deb apt-get; do
	command -v "$tool" >/dev/null || die "$tool not found (.ci/run installs what is needed: see its apt-get line)"
done
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || die "static libc missing: apt-get install libc6-dev"

# ---------------------------------------------------------------- apt, per suite
# A private apt configuration per suite, so trixie packages can be downloaded
# on a bookworm host without ever being installed there.
apt_opts() {
	local suite=$1 d=$CACHE/apt-$1
	echo "-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=/dev/null" \
		"-o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o Dir::State::status=/dev/null" \
		"-o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}
apt_setup() {
	local suite=$1 d=$CACHE/apt-$1
	[ -n "$(find "$d/lists" -name '*Packages*' -mmin -720 2>/dev/null | head -1)" ] && return 0
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	cat >"$d/sources.list" <<-EOF
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite-updates main
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $suite-security main
	EOF
	# shellcheck disable=SC2046
	apt-get $(apt_opts "$suite") -qq update >&2 || die "apt-get update for $suite failed"
}
# download SUITE PACKAGE → path of the .deb in $DEBS
download() {
	local suite=$1 pkg=$2 f d=$DEBS/$1
	mkdir -p "$d"
	f=$(ls "$d/${pkg}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$f" ]; then
		# shellcheck disable=SC2046
		(cd "$d" && apt-get $(apt_opts "$suite") -qq download "$pkg" >&2 2>/dev/null) || return 1
		f=$(ls "$d/${pkg}_"*.deb | head -1)
	fi
	echo "$f"
}
# resolve_abi SUITE PINNED → the ABI to use (the pinned one while it exists)
resolve_abi() {
	local suite=$1 pinned=$2 series
	# shellcheck disable=SC2046
	if apt-cache $(apt_opts "$suite") show "linux-image-$pinned-dbg" >/dev/null 2>&1; then
		echo "$pinned"
		return
	fi
	series=$(echo "$pinned" | cut -d. -f1-2)
	# shellcheck disable=SC2046
	apt-cache $(apt_opts "$suite") search --names-only "^linux-image-${series}\..*-cloud-amd64-dbg$" |
		awk '{print $1}' | sed 's/^linux-image-//; s/-dbg$//' | sort -V | tail -1
}

# ---------------------------------------------------------------- kernels
# unpack_kernel SUITE ABI → $KERNELS/ABI/{vmlinuz,vmlinux,System.map,config,modules/}
unpack_kernel() {
	local suite=$1 abi=$2 d=$KERNELS/$2 img dbg
	[ -e "$d/.done" ] && return 0
	img=$(download "$suite" "linux-image-$abi-unsigned") || die "cannot download linux-image-$abi-unsigned"
	dbg=$(download "$suite" "linux-image-$abi-dbg") || die "cannot download linux-image-$abi-dbg"
	rm -rf "$d.tmp" && mkdir -p "$d.tmp/x"
	dpkg-deb -x "$img" "$d.tmp/x"
	dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$d.tmp/x" "./usr/lib/debug/boot/"
	mv "$d.tmp/x/boot/vmlinuz-$abi" "$d.tmp/vmlinuz"
	mv "$d.tmp/x/boot/config-$abi" "$d.tmp/config"
	mv "$d.tmp/x/usr/lib/debug/boot/vmlinux-$abi" "$d.tmp/vmlinux"
	mv "$d.tmp/x/usr/lib/debug/boot/System.map-$abi" "$d.tmp/System.map"
	if [ -d "$d.tmp/x/usr/lib/modules/$abi" ]; then mv "$d.tmp/x/usr/lib/modules/$abi" "$d.tmp/modules"; else mv "$d.tmp/x/lib/modules/$abi" "$d.tmp/modules"; fi
	dpkg-deb -f "$img" Version >"$d.tmp/package_version"
	rm -rf "$d.tmp/x" "$d"
	touch "$d.tmp/.done"
	mv "$d.tmp" "$d"
}

# modinfo_field KO FIELD → values (one per line) from the module's .modinfo
modinfo_field() {
	local ko=$1 field=$2 tmp
	tmp=$(mktemp)
	case "$ko" in *.xz) xz -dc "$ko" >"$tmp.ko" ;; *) cp "$ko" "$tmp.ko" ;; esac
	objcopy -O binary --only-section=.modinfo "$tmp.ko" "$tmp" 2>/dev/null || true
	tr '\0' '\n' <"$tmp" | sed -n "s/^$field=//p"
	rm -f "$tmp" "$tmp.ko"
}

# add_module MODDIR INITRD NAME: copy NAME and, first, its dependencies.
declare -A ADDED
add_module() {
	local moddir=$1 initrd=$2 name=$3 ko dep
	[ -n "${ADDED[$name]:-}" ] && return 0
	ADDED[$name]=1
	ko=$(find "$moddir/kernel" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" \) | head -1)
	if [ -z "$ko" ]; then
		grep -qE "/(${name}|${name//_/-})\.ko$" "$moddir/modules.builtin" || die "module $name neither built in nor shipped"
		return 0
	fi
	for dep in $(modinfo_field "$ko" depends | tr ',' ' '); do
		add_module "$moddir" "$initrd" "$dep"
	done
	case "$ko" in *.xz) xz -dc "$ko" >"$initrd/modules/$name.ko" ;; *) cp "$ko" "$initrd/modules/$name.ko" ;; esac
	echo "$name" >>"$initrd/modules/order"
}

build_initrd() {
	local abi=$1 work=$2 initrd=$2/initrd m
	rm -rf "$initrd" && mkdir -p "$initrd/bin" "$initrd/modules"
	cp "$(command -v busybox)" "$initrd/bin/busybox"
	install -m 0755 "$GEN/init.sh" "$initrd/init"
	gcc -static -O2 -pthread -o "$initrd/lived" "$GEN/lived.c" 2>"$work/gcc.log" || die "building lived failed: $(cat "$work/gcc.log")"
	ADDED=()
	: >"$initrd/modules/order"
	for m in $(grep -v '^#' "$GEN/modules.txt"); do
		add_module "$KERNELS/$abi/modules" "$initrd" "$m"
	done
	(cd "$initrd" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.img"
}

# ---------------------------------------------------------------- guest
QEMU_PID=
qmp() { # qmp SOCKET JSON...: run commands in order, fail on an error reply
	local sock=$1 reply
	shift
	coproc QMPC { socat - "UNIX-CONNECT:$sock"; }
	read -r -t 10 reply <&"${QMPC[0]}" || die "no QMP greeting"
	for cmd in '{"execute":"qmp_capabilities"}' "$@"; do
		echo "$cmd" >&"${QMPC[1]}"
		while read -r -t 600 reply <&"${QMPC[0]}"; do
			case "$reply" in
			*'"return"'*) break ;;
			*'"error"'*) die "QMP $cmd: $reply" ;;
			esac
		done
	done
	eval "exec ${QMPC[1]}>&-"
	wait "$QMPC_PID" 2>/dev/null || true
}

# run_guest WORK MODE ABI ID: boot, wait for the panic, leave QEMU stopped with
# the QMP socket at WORK/qmp.sock.
run_guest() {
	local work=$1 mode=$2 abi=$3 id=$4 waited=0
	rm -f "$work/console.log" "$work/qmp.sock"
	qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64 -smp 2 -m 512M \
		-display none -monitor none -serial "file:$work/console.log" -no-reboot \
		-kernel "$KERNELS/$abi/vmlinuz" -initrd "$work/initrd.img" \
		-append "console=ttyS0 no_timer_check panic=0 vmcore_fixture=$id fixture_mode=$mode" \
		-device vmcoreinfo \
		-drive "file=$work/data.img,if=virtio,format=raw" \
		-drive "file=$work/truth.img,if=virtio,format=raw" \
		-drive "file=$work/nvme.img,if=none,id=nvm,format=raw" -device nvme,serial=fixture-nvme,drive=nvm \
		-device virtio-scsi-pci,id=scsi0 -drive "file=$work/scsi.img,if=none,id=scsidisk,format=raw" \
		-device scsi-hd,drive=scsidisk,bus=scsi0.0 \
		-qmp "unix:$work/qmp.sock,server=on,wait=off" &
	QEMU_PID=$!
	until grep -q -- '---\[ end Kernel panic' "$work/console.log" 2>/dev/null; do
		kill -0 "$QEMU_PID" 2>/dev/null || die "QEMU exited before the panic; see $work/console.log"
		[ $waited -lt 600 ] || die "no panic after 600 s; see $work/console.log"
		sleep 1
		waited=$((waited + 1))
	done
	qmp "$work/qmp.sock" '{"execute":"stop"}'
}

stop_guest() {
	local work=$1
	qmp "$work/qmp.sock" '{"execute":"quit"}' || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
}
trap '[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null; true' EXIT

# makedumpfile_of SUITE → path of that suite's makedumpfile, unpacked (not
# installed) from its .deb; it runs on the host's libraries.
makedumpfile_of() {
	local suite=$1 d=$CACHE/makedumpfile-$1
	if [ ! -x "$d/usr/bin/makedumpfile" ] && [ ! -x "$d/usr/sbin/makedumpfile" ]; then
		apt_setup "$suite"
		rm -rf "$d" && dpkg-deb -x "$(download "$suite" makedumpfile)" "$d" >&2
	fi
	ls "$d"/usr/*bin/makedumpfile | head -1
}

# makedumpfile (1.7.2 and later) ignores e_phoff; QEMU writes its program
# headers at 192. Copy the ELF with the headers moved to 64 (data unchanged).
fix_phoff() {
	local in=$1 out=$2 phoff phnum
	phoff=$(od -An -tu8 -j32 -N8 "$in" | tr -d ' ')
	phnum=$(od -An -tu2 -j56 -N2 "$in" | tr -d ' ')
	cp --reflink=auto "$in" "$out"
	if [ "$phoff" != 64 ]; then
		dd if="$in" of="$out" bs=1 skip="$phoff" seek=64 count=$((phnum * 56)) conv=notrunc status=none
		printf '\x40\x00\x00\x00\x00\x00\x00\x00' | dd of="$out" bs=1 seek=32 conv=notrunc status=none
	fi
}

# ---------------------------------------------------------------- manifest
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "${s//$'\t'/\\t}"; }
FILES_JSON=()
add_file() { # role name format producer compression dump_level vmcoreinfo truncated split_part
	local dir=$1 role=$2 name=$3 f=$1/$3
	FILES_JSON+=("{\"role\":$(json_str "$role"),\"name\":$(json_str "$name"),\"path\":$(json_str "$f"),\"size\":$(stat -c %s "$f"),\"sha256\":\"$(sha256sum "$f" | cut -c1-64)\",\"format\":\"$4\",\"producer\":$(json_str "$5"),\"compression\":\"$6\",\"dump_level\":$7,\"vmcoreinfo\":$8,\"truncated\":$9,\"split_part\":${10}}")
}
join() { local IFS=,; echo "$*"; }

# Files the ground truth must hold; one the kernel lacks must be in ABSENT.
REQUIRED_TRUTH="proc/cmdline proc/version proc/cpuinfo proc/meminfo proc/modules proc/mounts
proc/interrupts proc/softirqs proc/buddyinfo proc/slabinfo proc/vmstat proc/zoneinfo proc/locks
proc/stat proc/uptime proc/loadavg proc/swaps proc/partitions proc/diskstats proc/filesystems
proc/devices proc/pagetypeinfo proc/net/dev proc/sys/kernel/hostname proc/sys/kernel/osrelease
sys/devices/system/cpu/online sys/devices/system/cpu/possible sys/devices/system/cpu/present
sys/kernel/debug/sched/debug commands/dmesg commands/uname_-a commands/lsmod commands/ps
commands/ip_addr commands/ip_route commands/free commands/uptime commands/hostname commands/sysctl_-a"

# ---------------------------------------------------------------- one kernel
build_set() {
	local id=$1 suite=$2 pinned=$3 extras=$4 abi work t0 size
	local dest=$OUT/$id
	[ -e "$dest/manifest.json" ] && { say "$id: up to date in $dest"; return 0; }
	declare -A T
	t0=$SECONDS
	apt_setup "$suite"
	abi=$(resolve_abi "$suite" "$pinned")
	[ -n "$abi" ] || die "$id: no $suite kernel of the series of $pinned"
	[ "$abi" = "$pinned" ] || say "$id: pinned $pinned is gone from $suite; using $abi"
	unpack_kernel "$suite" "$abi"
	T[kernel]=$((SECONDS - t0))

	work=$dest.tmp
	rm -rf "$work" && mkdir -p "$work"
	t0=$SECONDS
	build_initrd "$abi" "$work"
	truncate -s 64M "$work/data.img" "$work/truth.img" "$work/nvme.img" "$work/scsi.img"
	mkfs.ext4 -q -F -O ^orphan_file -L fixture-data "$work/data.img"
	T[initrd]=$((SECONDS - t0))

	say "$id: booting $abi (full)"
	t0=$SECONDS
	run_guest "$work" full "$abi" "$id"
	mv "$work/console.log" "$work/console-full.log"
	T[guest]=$((SECONDS - t0))
	t0=$SECONDS
	qmp "$work/qmp.sock" \
		"{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/qemu.elf\"}}" \
		"{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/qemu-kdump-zlib.flat\",\"format\":\"kdump-zlib\"}}"
	stop_guest "$work"
	T[qemu_dumps]=$((SECONDS - t0))

	mkdir -p "$work/truth"
	tar -xf "$work/truth.img" -C "$work/truth" || die "$id: no ground truth on the truth disk; see $work/console.log"

	say "$id: makedumpfile variants"
	t0=$SECONDS
	fix_phoff "$work/qemu.elf" "$work/fixed.elf"
	# Each kernel is dumped by the makedumpfile of its own release, as its
	# kdump service would (bookworm's 1.7.2 misreads 6.12's slab pages and
	# drops them); zstd always by trixie's, which really writes zstd.
	local mdf zmdf
	mdf=$(makedumpfile_of "$suite")
	zmdf=$(makedumpfile_of trixie)
	MDF_VERSION=$("$mdf" -v 2>&1 | awk '/version/ {print $3; exit}')
	local m="$mdf --message-level 1"
	$m -l -d 31 "$work/fixed.elf" "$work/lzo-d31.kdump" >>"$work/mdf.log" 2>&1 &
	$m -c -d 31 "$work/fixed.elf" "$work/zlib-d31.kdump" >>"$work/mdf.log" 2>&1
	wait
	$m -d 31 "$work/fixed.elf" "$work/raw-d31.kdump" >>"$work/mdf.log" 2>&1 &
	$m -E -d 31 "$work/fixed.elf" "$work/elf-d31.elf" >>"$work/mdf.log" 2>&1
	wait
	$m -l -d 1 "$work/fixed.elf" "$work/lzo-d1.kdump" >>"$work/mdf.log" 2>&1 &
	$m -F -l -d 31 "$work/fixed.elf" >"$work/lzo-d31.flat" 2>>"$work/mdf.log"
	wait
	$m --split -l -d 31 "$work/fixed.elf" "$work/split-lzo-d31.1" "$work/split-lzo-d31.2" >>"$work/mdf.log" 2>&1
	$m --dump-dmesg "$work/fixed.elf" "$work/makedumpfile-dmesg.txt" >>"$work/mdf.log" 2>&1
	"$zmdf" --message-level 1 -z -d 31 "$work/fixed.elf" "$work/zstd-d31.kdump" >>"$work/mdf.log" 2>&1
	size=$(stat -c %s "$work/lzo-d31.kdump")
	head -c $((size * 60 / 100)) "$work/lzo-d31.kdump" >"$work/lzo-d31-truncated.kdump"
	rm -f "$work/fixed.elf"
	T[makedumpfile]=$((SECONDS - t0))

	if [ "$extras" = bare ]; then
		say "$id: booting $abi (bare, no qemu_fw_cfg)"
		t0=$SECONDS
		run_guest "$work" bare "$abi" "$id"
		mv "$work/console.log" "$work/console-bare.log"
		qmp "$work/qmp.sock" "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/novmcoreinfo.elf\"}}"
		stop_guest "$work"
		T[bare_guest]=$((SECONDS - t0))
	fi
	rm -f "$work/data.img" "$work/nvme.img" "$work/scsi.img" "$work/truth.img" "$work/qmp.sock" "$work/gcc.log"
	rm -rf "$work/initrd"

	t0=$SECONDS
	FILES_JSON=()
	add_file "$work" qemu-elf qemu.elf elf "qemu dump-guest-memory (paging=false)" none 0 true false 0
	add_file "$work" qemu-kdump-zlib qemu-kdump-zlib.flat flattened "qemu dump-guest-memory format=kdump-zlib" zlib 1 true false 0
	add_file "$work" lzo-d31 lzo-d31.kdump kdump "makedumpfile $MDF_VERSION -l -d 31" lzo 31 true false 0
	add_file "$work" zlib-d31 zlib-d31.kdump kdump "makedumpfile $MDF_VERSION -c -d 31" zlib 31 true false 0
	add_file "$work" zstd-d31 zstd-d31.kdump kdump "makedumpfile (trixie) -z -d 31" zstd 31 true false 0
	add_file "$work" raw-d31 raw-d31.kdump kdump "makedumpfile $MDF_VERSION -d 31" none 31 true false 0
	add_file "$work" elf-d31 elf-d31.elf elf "makedumpfile $MDF_VERSION -E -d 31" none 31 true false 0
	add_file "$work" lzo-d1 lzo-d1.kdump kdump "makedumpfile $MDF_VERSION -l -d 1" lzo 1 true false 0
	add_file "$work" lzo-d31-flat lzo-d31.flat flattened "makedumpfile $MDF_VERSION -F -l -d 31" lzo 31 true false 0
	add_file "$work" split-lzo-d31 split-lzo-d31.1 kdump-split "makedumpfile $MDF_VERSION --split -l -d 31" lzo 31 true false 1
	add_file "$work" split-lzo-d31 split-lzo-d31.2 kdump-split "makedumpfile $MDF_VERSION --split -l -d 31" lzo 31 true false 2
	add_file "$work" lzo-d31-truncated lzo-d31-truncated.kdump kdump "makedumpfile $MDF_VERSION -l -d 31, cut at 60 %" lzo 31 true true 0
	[ "$extras" = bare ] && add_file "$work" novmcoreinfo-elf novmcoreinfo.elf elf "qemu dump-guest-memory, guest without qemu_fw_cfg" none 0 false false 0

	local truth_files=() absent=() f line
	while IFS= read -r f; do truth_files+=("$(json_str "${f#./}")"); done < <(cd "$work/truth" && find . -type f ! -name ABSENT | LC_ALL=C sort)
	if [ -e "$work/truth/ABSENT" ]; then
		while IFS=$'\t' read -r f line; do
			absent+=("{\"path\":$(json_str "${f#/}"),\"reason\":$(json_str "$line")}")
		done <"$work/truth/ABSENT"
	fi
	for f in $REQUIRED_TRUTH; do
		[ -e "$work/truth/$f" ] || grep -q "^/$f	" "$work/truth/ABSENT" 2>/dev/null ||
			absent+=("{\"path\":$(json_str "$f"),\"reason\":\"not captured: the guest did not provide it\"}")
	done

	local vmlinux=$KERNELS/$abi/vmlinux build_id
	build_id=$(readelf -n "$vmlinux" | awk '/Build ID/ {print $3; exit}')
	local timings=() k
	for k in "${!T[@]}"; do timings+=("\"$k\":${T[$k]}"); done
	# shellcheck disable=SC2016
	cat >"$work/manifest.json" <<-EOF
		{
		 "id": $(json_str "$id"),
		 "suite": $(json_str "$suite"),
		 "kernel_release": $(json_str "$abi"),
		 "pinned_release": $(json_str "$pinned"),
		 "package_version": $(json_str "$(cat "$KERNELS/$abi/package_version")"),
		 "build_id": $(json_str "$build_id"),
		 "guest_cmdline": $(json_str "$(cat "$work/truth/proc/cmdline")"),
		 "generator_key": "$KEY",
		 "timings_seconds": {$(join "${timings[@]}")},
		 "vmlinux": {"role":"vmlinux","name":"vmlinux","path":$(json_str "$vmlinux"),"size":$(stat -c %s "$vmlinux"),"sha256":"$(sha256sum "$vmlinux" | cut -c1-64)","format":"vmlinux"},
		 "files": [
		  $(join "${FILES_JSON[@]}")
		 ],
		 "ground_truth": {"dir": $(json_str "$dest/truth"), "files": [$(join "${truth_files[@]}")], "absent": [$(join "${absent[@]}")]},
		 "extra": {"system_map": $(json_str "$KERNELS/$abi/System.map"), "makedumpfile_dmesg": $(json_str "$dest/makedumpfile-dmesg.txt"), "console_log": $(json_str "$dest/console-full.log")}
		}
	EOF
	# Paths inside the manifest name the final folder.
	sed -i "s|$work/|$dest/|g" "$work/manifest.json"
	rm -rf "$dest" && mv "$work" "$dest"
	say "$id: done in $dest ($(du -sh "$dest" | cut -f1)); timings: ${timings[*]}"
}

# shellcheck source=kdump.sh
. "$GEN/kdump.sh"

# job NAME FUNCTION ARGS...: run a build step in the background, at most
# $FIXTURE_JOBS (default 3 on these 2 cores) at once; a failed one marks the
# run failed. Guests under TCG leave cores idle while they sleep and do I/O,
# and the host's makedumpfile runs are single-threaded.
JOBS=${FIXTURE_JOBS:-3}
job() {
	local name=$1
	shift
	while [ "$(jobs -pr | wc -l)" -ge "$JOBS" ]; do wait -n 2>/dev/null || true; done
	(
		# The inner subshell keeps set -e (a || list would switch it off).
		(
			trap '[ -n "${QEMU_PID:-}" ] && kill "$QEMU_PID" 2>/dev/null; true' EXIT
			"$@"
		) &
		wait $! || { say "$name: failed"; touch "$OUT/.failed"; }
	) &
}

start=$SECONDS
rm -f "$OUT/.failed"
# FIXTURE_KERNELS="id ..." restricts a run to some kernels (while iterating on
# the generator, with VMCORE_REPORT_FIXTURES pointing at a scratch root).
KLIST=()
while read -r id suite pinned extras; do
	case "$id" in '' | '#'*) continue ;; esac
	[ -z "${FIXTURE_KERNELS:-}" ] || [[ " ${FIXTURE_KERNELS//,/ } " == *" $id "* ]] || continue
	KLIST+=("$id $suite $pinned ${extras:--}")
done <"$GEN/kernels.txt"
# Downloads, unpacking and the per-suite tools first, one at a time (they
# share caches); then every guest as a job.
declare -A ABI
for k in "${KLIST[@]}"; do
	read -r id suite pinned extras <<<"$k"
	apt_setup "$suite"
	ABI[$id]=$(resolve_abi "$suite" "$pinned")
	[ -n "${ABI[$id]}" ] || die "$id: no $suite kernel of the series of $pinned"
	unpack_kernel "$suite" "${ABI[$id]}"
	makedumpfile_of "$suite" >/dev/null
	makedumpfile_of trixie >/dev/null
	kdump_prepare "$id" "$suite" "${ABI[$id]}"
done
say "kernels and tools ready ($((SECONDS - start)) s)"
for k in "${KLIST[@]}"; do
	read -r id suite pinned extras <<<"$k"
	job "$id" build_set "$id" "$suite" "$pinned" "$extras"
done
for k in "${KLIST[@]}"; do
	read -r id suite pinned extras <<<"$k"
	for sc in $KDUMP_SCENARIOS; do
		job "$id kdump-$sc" kdump_scenario "$id" "$suite" "$pinned" "${ABI[$id]}" "$sc"
	done
done
wait
[ ! -e "$OUT/.failed" ] || die "some fixture sets failed (see above)"
rm -rf "$OUT"/scenarios/*.prep
say "all fixture sets in $OUT ($((SECONDS - start)) s)"
