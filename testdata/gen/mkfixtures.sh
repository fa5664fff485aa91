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
# A private apt configuration per suite, so other releases' packages can be
# downloaded on this host without ever being installed here.
apt_opts() {
	local suite=$1 d=$CACHE/apt-$1
	echo "-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=/dev/null" \
		"-o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o Dir::State::status=/dev/null" \
		"-o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}
# host_archive KIND → "URI<TAB>keyring" of the host's own apt source for the
# Debian archive (KIND=main) or its security archive (KIND=security), read from
# the machine's apt configuration (one-line .list and deb822 .sources files), so
# a machine behind a local mirror or proxy works unchanged.
host_archive() {
	local kind=$1 sl sp f
	eval "$(apt-config shell sl Dir::Etc::sourcelist/f sp Dir::Etc::sourceparts/d)"
	for f in "$sl" "$sp"/*.list "$sp"/*.sources; do
		[ -f "$f" ] || continue
		case "$f" in
		*.sources) awk -v kind="$kind" '
			function flush(  n, i, s, a) {
				if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
					n = split(suites, a, " ")
					for (i = 1; i <= n; i++) {
						s = (a[i] ~ /-security$/) ? "security" : "main"
						if (s == kind) { split(uris, u, " "); print u[1] "\t" key; exit }
					}
				}
				types = uris = suites = key = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ f = tolower($1); sub(/:$/, "", f); $1 = ""; sub(/^ +/, "") }
			f == "types" { types = $0 } f == "uris" { uris = $0 } f == "suites" { suites = $0 }
			f == "signed-by" { key = $0 } f == "enabled" { enabled = tolower($0) }
			END { flush() }' "$f" ;;
		*) awk -v kind="$kind" '
			$1 != "deb" { next }
			{ key = ""; i = 2
			  if ($2 ~ /^\[/) { while ($i !~ /\]$/) { if ($i ~ /signed-by=/) key = $i; i++ }
			                    if ($i ~ /signed-by=/) key = $i; i++ }
			  sub(/.*signed-by=/, "", key); sub(/\]$/, "", key)
			  s = ($(i + 1) ~ /-security$/) ? "security" : "main"
			  if (s == kind) { print $i "\t" key; exit } }' "$f" ;;
		esac
	done | head -1
}
# apt_setup SUITE: the suite's lists, with its -updates and -security
# companions when it has them (sid, experimental and the backports suites do not).
apt_setup() {
	local suite=$1 d=$CACHE/apt-$1 main sec uri key
	[ -n "$(find "$d/lists" -name '*Packages*' -mmin -720 2>/dev/null | head -1)" ] && return 0
	main=$(host_archive main)
	[ -n "$main" ] || die "no Debian archive in this machine's apt sources (apt-config dump Dir::Etc)"
	sec=$(host_archive security)
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	uri=${main%%$'\t'*} key=${main#*$'\t'}
	key=${key:-/usr/share/keyrings/debian-archive-keyring.gpg}
	{
		echo "deb [signed-by=$key] $uri $suite main"
		case "$suite" in
		sid | unstable | experimental | *-backports | *-backports-sloppy) ;;
		*)
			echo "deb [signed-by=$key] $uri $suite-updates main"
			if [ -n "$sec" ]; then
				key=${sec#*$'\t'}
				echo "deb [signed-by=${key:-/usr/share/keyrings/debian-archive-keyring.gpg}] ${sec%%$'\t'*} $suite-security main"
			fi
			;;
		esac
	} >"$d/sources.list"
	# shellcheck disable=SC2046
	apt-get $(apt_opts "$suite") -qq update >&2 || die "apt-get update for $suite failed (sources: $d/sources.list)"
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
# has_package SUITE PACKAGE: the suite's archive holds PACKAGE
has_package() {
	# shellcheck disable=SC2046
	apt-cache $(apt_opts "$1") show "$2" >/dev/null 2>&1
}
# resolve_abi SUITE PINNED → the ABI to use (the pinned one while it exists)
resolve_abi() {
	local suite=$1 pinned=$2 series
	if has_package "$suite" "linux-image-$pinned-dbg"; then
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
# Two packagings: up to 6.x linux-image-<abi>-unsigned holds /boot/{vmlinuz,
# config}-<abi> and the modules, -dbg the vmlinux and System.map under
# /usr/lib/debug/boot/. From 7.x linux-image-<abi> is empty and depends on
# linux-binary-<abi> (vmlinuz), linux-base-<abi> (config, System.map) and
# linux-modules-<abi>, all in /usr/lib/modules/<abi>/; -dbg has the vmlinux at
# /usr/lib/debug/lib/modules/<abi>/vmlinux (the boot/ name is a link to it).
unpack_kernel() {
	local suite=$1 abi=$2 d=$KERNELS/$2 dbg pkg debs=() x f
	[ -e "$d/.done" ] && return 0
	if has_package "$suite" "linux-image-$abi-unsigned"; then
		debs=("$(download "$suite" "linux-image-$abi-unsigned")") || die "cannot download linux-image-$abi-unsigned"
	else
		for pkg in binary base modules; do
			debs+=("$(download "$suite" "linux-$pkg-$abi")") || die "cannot download linux-$pkg-$abi"
		done
	fi
	dbg=$(download "$suite" "linux-image-$abi-dbg") || die "cannot download linux-image-$abi-dbg"
	rm -rf "$d.tmp" && mkdir -p "$d.tmp/x"
	x=$d.tmp/x
	for f in "${debs[@]}"; do dpkg-deb -x "$f" "$x"; done
	# Only the vmlinux and System.map of the -dbg package (not its debug .ko files).
	dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$x" --wildcards \
		'./usr/lib/debug/boot/*' "./usr/lib/debug/lib/modules/$abi/vmlinux" "./usr/lib/debug/lib/modules/$abi/System.map" 2>/dev/null || true
	# first_of NAME PATH...: move the first regular file (links followed) to NAME
	first_of() {
		local to=$1 p
		shift
		for p in "$@"; do
			[ -f "$x/$p" ] && [ "$(stat -L -c %s "$x/$p")" -gt 1000 ] && { cp -L "$x/$p" "$d.tmp/$to"; return 0; }
		done
		die "$abi: no $to in its packages (looked for $*)"
	}
	first_of vmlinuz "boot/vmlinuz-$abi" "usr/lib/modules/$abi/vmlinuz"
	first_of config "boot/config-$abi" "usr/lib/modules/$abi/config"
	first_of vmlinux "usr/lib/debug/lib/modules/$abi/vmlinux" "usr/lib/debug/boot/vmlinux-$abi"
	# The image package's System.map is an 83-byte placeholder: the real one is
	# in -dbg (both real from 7.x).
	first_of System.map "usr/lib/debug/lib/modules/$abi/System.map" "usr/lib/debug/boot/System.map-$abi" "usr/lib/modules/$abi/System.map"
	if [ -d "$x/usr/lib/modules/$abi/kernel" ]; then mv "$x/usr/lib/modules/$abi" "$d.tmp/modules"; else mv "$x/lib/modules/$abi" "$d.tmp/modules"; fi
	dpkg-deb -f "${debs[0]}" Version >"$d.tmp/package_version"
	rm -rf "$x" "$d"
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

# QEMU's sockets live in a short temporary folder, not under the cache: a UNIX
# socket path has at most 108 bytes, and the cache may be anywhere.
# One per guest (guests run as parallel jobs): run_guest sets QMP_SOCK.
SOCKDIR=$(mktemp -d /tmp/vmcr-qmp.XXXXXX)
QMP_SOCK=

# run_guest WORK MODE ABI ID: boot, wait for the panic, leave QEMU stopped with
# the QMP socket at $QMP_SOCK.
# A guest that crashes while booting, before the fixture's init runs (no
# "fixture-init:" line; seen once on 7.2 under TCG: an int3 oops at 4 s) is
# booted again, at most twice: that panic is not the fixture's.
run_guest() {
	local work=$1 mode=$2 abi=$3 id=$4 waited=0 boot
	for boot in 1 2 3; do
	QMP_SOCK=$SOCKDIR/$(basename "$work")-$mode.sock
	rm -f "$work/console.log" "$QMP_SOCK"
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
		-qmp "unix:$QMP_SOCK,server=on,wait=off" &
	QEMU_PID=$!
	until grep -q -- '---\[ end Kernel panic' "$work/console.log" 2>/dev/null; do
		kill -0 "$QEMU_PID" 2>/dev/null || die "QEMU exited before the panic; see $work/console.log"
		[ $waited -lt 600 ] || die "no panic after 600 s; see $work/console.log"
		sleep 1
		waited=$((waited + 1))
	done
	if [ "$boot" -lt 3 ] && ! grep -aq 'fixture-init:' "$work/console.log"; then
		say "$id $mode: the guest crashed while booting, before the fixture's init; booting again"
		cp "$work/console.log" "$work/console-boot$boot.log"
		kill "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
		continue
	fi
	qmp "$QMP_SOCK" '{"execute":"stop"}'
	return 0
	done
}

stop_guest() {
	local work=$1
	qmp "$QMP_SOCK" '{"execute":"quit"}' || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
}
trap '[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null; rm -rf "$SOCKDIR"; true' EXIT

# makedumpfile_of SUITE → a command running that suite's makedumpfile,
# unpacked (not installed) from its .deb. One built against a newer glibc than
# the host's (sid's 1.7.8 needs 2.38) runs under the suite's own dynamic loader
# and libraries, unpacked beside it from the suite's .debs: the host's libraries
# are never replaced and nothing is installed.
makedumpfile_of() {
	local suite=$1 d=$CACHE/mdf-$1 bin pkg ld
	if [ ! -x "$d/run" ]; then
		apt_setup "$suite"
		rm -rf "$d" && mkdir -p "$d"
		dpkg-deb -x "$(download "$suite" makedumpfile)" "$d/root" >&2
		bin=$(ls "$d"/root/usr/*bin/makedumpfile | head -1)
		if "$bin" -v >/dev/null 2>&1; then
			printf '#!/bin/sh\nexec %s "$@"\n' "$bin" >"$d/run"
		else
			# The shared-library packages makedumpfile depends on, recursively.
			# shellcheck disable=SC2046
			for pkg in $(apt-cache $(apt_opts "$suite") depends --recurse --no-recommends --no-suggests \
				--no-conflicts --no-breaks --no-replaces --no-enhances makedumpfile |
				grep -E '^(lib|zlib)' | grep -v '^libperl' | sort -u); do
				dpkg-deb -x "$(download "$suite" "$pkg")" "$d/root" >&2 || die "cannot unpack $pkg of $suite"
			done
			ld=$(find "$d/root" -name 'ld-linux-x86-64.so.2' -type f | head -1)
			[ -n "$ld" ] || die "no dynamic loader in $suite's libc6"
			printf '#!/bin/sh\nexec %s --library-path %s %s "$@"\n' "$ld" \
				"$d/root/usr/lib/x86_64-linux-gnu:$d/root/lib/x86_64-linux-gnu" "$bin" >"$d/run"
		fi
		chmod +x "$d/run"
		"$d/run" -v >/dev/null 2>&1 || die "$suite's makedumpfile does not run here: $("$d/run" -v 2>&1 | head -2)"
	fi
	echo "$d/run"
}
# mdf_version TOOL → e.g. 1.7.8
mdf_version() { "$1" -v 2>&1 | awk '/version/ {print $3; exit}'; }
# mdf_has_zstd TOOL: TOOL was built with zstd (bookworm's 1.7.2 was not: its
# -z silently writes uncompressed pages; 1.6.8 has no -z at all).
mdf_has_zstd() { "$1" -v 2>&1 | grep -q '^zstd[[:space:]]*enabled'; }

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

# ---------------------------------------------------------------- truth at the crash
# crash_truth WORK: unpack the crash-instant capture init.sh wrote at 64 MiB
# of the truth disk into WORK/truth-crash.
crash_truth() {
	local work=$1
	mkdir -p "$work/truth-crash"
	# (tar stops reading at the archive's end: tail's SIGPIPE is no error)
	{ tail -c +$((64 * 1024 * 1024 + 1)) "$work/truth.img" || true; } | tar -x -C "$work/truth-crash" ||
		die "no crash-instant capture on the truth disk; see $work/console.log"
	[ -s "$work/truth-crash/proc/vmstat" ] || die "crash-instant capture without proc/vmstat; see $work/console.log"
}

# ---------------------------------------------------------------- manifest
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "${s//$'\t'/\\t}"; }
FILES_JSON=()
add_file() { # dir role name format producer compression dump_level vmcoreinfo truncated split_part [makedumpfile json]
	local dir=$1 role=$2 name=$3 f=$1/$3 mdf=${11:-null}
	FILES_JSON+=("{\"role\":$(json_str "$role"),\"name\":$(json_str "$name"),\"path\":$(json_str "$f"),\"size\":$(stat -c %s "$f"),\"sha256\":\"$(sha256sum "$f" | cut -c1-64)\",\"format\":\"$4\",\"producer\":$(json_str "$5"),\"compression\":\"$6\",\"dump_level\":$7,\"vmcoreinfo\":$8,\"truncated\":$9,\"split_part\":${10},\"makedumpfile\":$mdf}")
}
# mdf_json TOOL SUITE [stale] → the manifest's record of which makedumpfile made a file
mdf_json() { printf '{"version":%s,"suite":%s,"knows_kernel":%s}' "$(json_str "$(mdf_version "$1")")" "$(json_str "$2")" "$([ "${3:-}" = true ] && echo false || echo true)"; }
# mdf_suite TOOL → the suite whose makedumpfile TOOL is
mdf_suite() { local s=${1%/run}; echo "${s##*/mdf-}"; }
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
	truncate -s 96M "$work/truth.img" # the crash-instant capture goes at 64 MiB
	mkfs.ext4 -q -F -O ^orphan_file -L fixture-data "$work/data.img"
	T[initrd]=$((SECONDS - t0))

	say "$id: booting $abi (full)"
	t0=$SECONDS
	run_guest "$work" full "$abi" "$id"
	mv "$work/console.log" "$work/console-full.log"
	T[guest]=$((SECONDS - t0))
	t0=$SECONDS
	qmp "$QMP_SOCK" \
		"{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/qemu.elf\"}}" \
		"{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/qemu-kdump-zlib.flat\",\"format\":\"kdump-zlib\"}}"
	stop_guest "$work"
	T[qemu_dumps]=$((SECONDS - t0))

	mkdir -p "$work/truth"
	tar -xf "$work/truth.img" -C "$work/truth" || die "$id: no ground truth on the truth disk; see $work/console.log"
	crash_truth "$work"

	say "$id: makedumpfile variants"
	t0=$SECONDS
	fix_phoff "$work/qemu.elf" "$work/fixed.elf"
	# Each kernel is dumped by the makedumpfile of its own release, as its
	# kdump service would (an older one misreads a newer kernel's page flags
	# and silently drops its slab pages); zstd by the first of (its own,
	# trixie's) that was built with zstd. Each file's manifest entry names the
	# makedumpfile that made it; a variant an old makedumpfile cannot make is
	# left out of the manifest (tests expect what the manifest lists).
	local mdf zmdf stale=""
	mdf=$(makedumpfile_of "$suite")
	zmdf=$mdf
	mdf_has_zstd "$mdf" || zmdf=$(makedumpfile_of trixie)
	case ",$extras," in *,stale-mdf=*) stale=${extras#*stale-mdf=} stale=${stale%%,*} ;; esac
	# reference=ROLE (kernels.txt): no released makedumpfile knows this
	# kernel, its own included; its files say so, and the tests compare
	# ROLE (one that excludes no kernel pages) with the ground truth.
	local ref=""
	case ",$extras," in *,reference=*) ref=${extras#*reference=} ref=${ref%%,*} ;; esac
	MDF_JSON=$(mdf_json "$mdf" "$suite" "$([ -n "$ref" ] && echo true)")
	mdf_variant() { # TOOL OUT ARGS...: run, keep OUT only when TOOL succeeded
		local tool=$1 out=$2
		shift 2
		if "$tool" --message-level 1 "$@" >>"$work/mdf.log" 2>&1 && [ -s "$out" ]; then return 0; fi
		echo "variant $out failed or is not supported by $("$tool" -v 2>&1 | head -1)" >>"$work/mdf.log"
		rm -f "$out"
	}
	mdf_variant "$mdf" "$work/lzo-d31.kdump" -l -d 31 "$work/fixed.elf" "$work/lzo-d31.kdump" &
	mdf_variant "$mdf" "$work/zlib-d31.kdump" -c -d 31 "$work/fixed.elf" "$work/zlib-d31.kdump"
	wait
	mdf_variant "$mdf" "$work/raw-d31.kdump" -d 31 "$work/fixed.elf" "$work/raw-d31.kdump" &
	mdf_variant "$mdf" "$work/elf-d31.elf" -E -d 31 "$work/fixed.elf" "$work/elf-d31.elf"
	wait
	mdf_variant "$mdf" "$work/lzo-d1.kdump" -l -d 1 "$work/fixed.elf" "$work/lzo-d1.kdump" &
	{ "$mdf" --message-level 1 -F -l -d 31 "$work/fixed.elf" >"$work/lzo-d31.flat" 2>>"$work/mdf.log" && [ -s "$work/lzo-d31.flat" ]; } || rm -f "$work/lzo-d31.flat"
	wait
	mdf_variant "$mdf" "$work/split-lzo-d31.2" --split -l -d 31 "$work/fixed.elf" "$work/split-lzo-d31.1" "$work/split-lzo-d31.2"
	[ -e "$work/split-lzo-d31.2" ] || rm -f "$work/split-lzo-d31.1"
	mdf_variant "$mdf" "$work/makedumpfile-dmesg.txt" --dump-dmesg "$work/fixed.elf" "$work/makedumpfile-dmesg.txt"
	mdf_has_zstd "$zmdf" && mdf_variant "$zmdf" "$work/zstd-d31.kdump" -z -d 31 "$work/fixed.elf" "$work/zstd-d31.kdump"
	# A dump by a makedumpfile that does not know this kernel (kernels.txt:
	# stale-mdf=SUITE): what a customer brings when the crash kernel's tools
	# are older than the crashed kernel.
	[ -n "$stale" ] && mdf_variant "$(makedumpfile_of "$stale")" "$work/stale-mdf-lzo-d31.kdump" -l -d 31 "$work/fixed.elf" "$work/stale-mdf-lzo-d31.kdump"
	if [ -e "$work/lzo-d31.kdump" ]; then
		size=$(stat -c %s "$work/lzo-d31.kdump")
		head -c $((size * 60 / 100)) "$work/lzo-d31.kdump" >"$work/lzo-d31-truncated.kdump"
	fi
	rm -f "$work/fixed.elf"
	T[makedumpfile]=$((SECONDS - t0))

	local bare=false
	case ",$extras," in *,bare,*) bare=true ;; esac
	if $bare; then
		say "$id: booting $abi (bare, no qemu_fw_cfg)"
		t0=$SECONDS
		run_guest "$work" bare "$abi" "$id"
		mv "$work/console.log" "$work/console-bare.log"
		qmp "$QMP_SOCK" "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$work/novmcoreinfo.elf\"}}"
		stop_guest "$work"
		T[bare_guest]=$((SECONDS - t0))
	fi
	rm -f "$work/data.img" "$work/nvme.img" "$work/scsi.img" "$work/truth.img" "$work/gcc.log"
	rm -rf "$work/initrd"

	t0=$SECONDS
	FILES_JSON=()
	add_file "$work" qemu-elf qemu.elf elf "qemu dump-guest-memory (paging=false)" none 0 true false 0
	add_file "$work" qemu-kdump-zlib qemu-kdump-zlib.flat flattened "qemu dump-guest-memory format=kdump-zlib" zlib 1 true false 0
	local v
	v=$(mdf_version "$mdf")
	add_mdf() { [ -e "$work/$2" ] && add_file "$work" "$@"; true; } # only the variants made
	add_mdf lzo-d31 lzo-d31.kdump kdump "makedumpfile $v -l -d 31" lzo 31 true false 0 "$MDF_JSON"
	add_mdf zlib-d31 zlib-d31.kdump kdump "makedumpfile $v -c -d 31" zlib 31 true false 0 "$MDF_JSON"
	# (with reference=: no released makedumpfile knows the kernel, the
	# zstd one included)
	add_mdf zstd-d31 zstd-d31.kdump kdump "makedumpfile $(mdf_version "$zmdf") -z -d 31" zstd 31 true false 0 "$(mdf_json "$zmdf" "$(mdf_suite "$zmdf")" "$([ -n "$ref" ] && echo true)")"
	add_mdf raw-d31 raw-d31.kdump kdump "makedumpfile $v -d 31" none 31 true false 0 "$MDF_JSON"
	add_mdf elf-d31 elf-d31.elf elf "makedumpfile $v -E -d 31" none 31 true false 0 "$MDF_JSON"
	add_mdf lzo-d1 lzo-d1.kdump kdump "makedumpfile $v -l -d 1" lzo 1 true false 0 "$MDF_JSON"
	add_mdf lzo-d31-flat lzo-d31.flat flattened "makedumpfile $v -F -l -d 31" lzo 31 true false 0 "$MDF_JSON"
	add_mdf split-lzo-d31 split-lzo-d31.1 kdump-split "makedumpfile $v --split -l -d 31" lzo 31 true false 1 "$MDF_JSON"
	add_mdf split-lzo-d31 split-lzo-d31.2 kdump-split "makedumpfile $v --split -l -d 31" lzo 31 true false 2 "$MDF_JSON"
	add_mdf lzo-d31-truncated lzo-d31-truncated.kdump kdump "makedumpfile $v -l -d 31, cut at 60 %" lzo 31 true true 0 "$MDF_JSON"
	[ -n "$stale" ] && add_mdf stale-mdf-lzo-d31 stale-mdf-lzo-d31.kdump kdump "makedumpfile $(mdf_version "$(makedumpfile_of "$stale")") ($stale, does not know this kernel) -l -d 31" lzo 31 true false 0 \
		"$(mdf_json "$(makedumpfile_of "$stale")" "$stale" true)"
	$bare && add_file "$work" novmcoreinfo-elf novmcoreinfo.elf elf "qemu dump-guest-memory, guest without qemu_fw_cfg" none 0 false false 0

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
		 "kernel_files": {"vmlinux": $(json_str "$vmlinux"), "system_map": $(json_str "$KERNELS/$abi/System.map"), "kernel_config": $(json_str "$KERNELS/$abi/config")},
		 "crash_truth": {"dir": $(json_str "$dest/truth-crash")},
		 "reference_role": $(json_str "$ref"),
		 "files": [
		  $(join "${FILES_JSON[@]}")
		 ],
		 "ground_truth": {"dir": $(json_str "$dest/truth"), "files": [$(join "${truth_files[@]}")], "absent": [$(join "${absent[@]}")]},
		 "extra": {"system_map": $(json_str "$KERNELS/$abi/System.map"), "makedumpfile_dmesg": $([ -e "$work/makedumpfile-dmesg.txt" ] && json_str "$dest/makedumpfile-dmesg.txt" || echo '""'), "console_log": $(json_str "$dest/console-full.log")}
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
		job "$id kdump-$sc" kdump_scenario "$id" "$suite" "$pinned" "${ABI[$id]}" "$sc" "$extras"
	done
done
wait
[ ! -e "$OUT/.failed" ] || die "some fixture sets failed (see above)"
rm -rf "$OUT"/scenarios/*.prep
say "all fixture sets in $OUT ($((SECONDS - start)) s)"
