# shellcheck shell=bash
# kdump.sh, sourced by mkfixtures.sh: the crash scenarios dumped by the
# kernel's own kdump, the way customers' machines dump.
#
# For each kernel and each scenario, a guest boots with crashkernel=, loads a
# capture kernel with kexec -p (the same kernel; the same initramfs, which
# carries the kernel release's own kexec-tools and makedumpfile with their
# shared libraries, unpacked from the release's .debs), captures the ground
# truth as the QEMU-dumped guest does, and crashes:
#   sysrq  echo c >/proc/sysrq-trigger            panic in sysrq_handle_crash
#   oom    vm.panic_on_oom=1, a task allocating    panic in out_of_memory
#          mlocked memory until the OOM killer runs
#   hung   kernel.hung_task_panic=1, a 2 s timeout,  panic in khungtaskd's
#          a writer blocked on a FIFREEZE-frozen     check_hung_uninterruptible_tasks
#          ext4 (uninterruptible, in sb_start_write)
#   many   ~2,000 tasks of varied kinds           panic in sysrq_handle_crash
#          (the bench set: FIXTURE_SCENARIOS=many,  in a 2.5 GiB guest
#          `make bench-fixtures`; not built by default)
# The capture kernel runs makedumpfile -l -d 31 and -E -d 31 on /proc/vmcore
# (and -l -d 1 for a kernel kernels.txt marks reference=lzo-d1: the dump its
# tests compare with the ground truth) onto an ext4 disk and powers off; the
# host copies the files out with debugfs. Each scenario is a set of its own (its own boot, its own ground
# truth) in $OUT/scenarios/<kernel id>/kdump-<scenario>/, whose manifest says
# what crashed, the panicking task and the expected culprit function.

KDUMP_SCENARIOS=${FIXTURE_SCENARIOS:-sysrq oom hung}
# The capture kernel (cloud kernel + this initramfs, nr_cpus=1) boots and runs
# makedumpfile in 192 MiB; the crashed kernel keeps 576 MiB of 768.
KDUMP_MEM=768M
KDUMP_CRASHKERNEL=192M
# The many-tasks bench set: a server-sized guest (issue: >= 2 GiB).
KDUMP_MEM_MANY=2560M

# kdump_tools SUITE → a folder holding the suite's kexec-tools and
# makedumpfile and the library packages they depend on (recursively, lib*
# packages only: the maintainer-script dependencies such as debconf are not
# needed to run the binaries), unpacked, never installed.
kdump_tools() {
	local suite=$1 d=$CACHE/kdump-tools-$1 pkg
	local -a pkgs=() missing=()
	if [ ! -e "$d/.done" ]; then
		apt_setup "$suite"
		rm -rf "$d" && mkdir -p "$d/root" "$DEBS/$suite"
		# One apt-cache call (each takes seconds): the recursive dependency
		# tree, walked here from the two tools through lib* packages only.
		# shellcheck disable=SC2046
		mapfile -t pkgs < <(apt-cache $(apt_opts "$suite") depends --recurse --no-recommends --no-suggests \
			--no-conflicts --no-breaks --no-replaces --no-enhances kexec-tools makedumpfile | awk '
			/^[^ ]/ { cur = $1; next }
			$1 ~ /Depends:$/ { d = $2; sub(/:.*/, "", d); if (d ~ /^(lib|zlib)/) dep[cur] = dep[cur] " " d }
			END {
				q[1] = "kexec-tools"; q[2] = "makedumpfile"; n = 2
				for (i = 1; i <= n; i++) {
					if (seen[q[i]]++) continue
					print q[i]
					m = split(dep[q[i]], a, " ")
					for (j = 1; j <= m; j++) q[++n] = a[j]
				}
			}')
		for pkg in "${pkgs[@]}"; do
			ls "$DEBS/$suite/${pkg}_"*.deb >/dev/null 2>&1 || missing+=("$pkg")
		done
		if [ ${#missing[@]} -gt 0 ]; then
			# shellcheck disable=SC2046
			(cd "$DEBS/$suite" && apt-get $(apt_opts "$suite") -qq download "${missing[@]}" >&2) ||
				die "cannot download $suite's ${missing[*]}"
		fi
		for pkg in "${pkgs[@]}"; do
			dpkg-deb -x "$(ls "$DEBS/$suite/${pkg}_"*.deb | head -1)" "$d/root" || die "cannot unpack $suite's $pkg"
		done
		echo "${pkgs[*]}" >"$d/packages"
		touch "$d/.done"
	fi
	echo "$d"
}

# kdump_stage TOOLS INITRD: copy kexec and makedumpfile into INITRD/kdump/bin
# and every shared library they need (NEEDED, recursively) into
# INITRD/kdump/lib, with the suite's dynamic loader at the path the binaries
# name. Run with LD_LIBRARY_PATH=/kdump/lib (init.sh's kd_run).
kdump_stage() {
	local root=$1/root initrd=$2 bin f so lib
	local -a queue=()
	mkdir -p "$initrd/kdump/bin" "$initrd/kdump/lib" "$initrd/lib64"
	for bin in kexec makedumpfile; do
		f=$(ls "$root"/usr/sbin/$bin "$root"/sbin/$bin "$root"/usr/bin/$bin 2>/dev/null | head -1 || true)
		[ -n "$f" ] || die "kdump: no $bin in $1"
		cp "$f" "$initrd/kdump/bin/$bin"
		queue+=("$initrd/kdump/bin/$bin")
	done
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]} queue=("${queue[@]:1}")
		for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -e "$initrd/kdump/lib/$so" ] && continue
			lib=$(find "$root" -name "$so" \( -type f -o -type l \) | head -1)
			[ -n "$lib" ] || die "kdump: $so (needed by ${f##*/}) is in none of the packages of $1/packages"
			cp "$(in_root "$root" "$lib")" "$initrd/kdump/lib/$so"
			queue+=("$initrd/kdump/lib/$so")
		done
	done
	# The loader is a file from bookworm on; bullseye's is a link to
	# ld-2.31.so (and its /lib64 one an absolute link).
	lib=$(find "$root" -path '*/x86_64-linux-gnu/*' -name ld-linux-x86-64.so.2 \( -type f -o -type l \) | head -1)
	[ -n "$lib" ] || die "kdump: no dynamic loader in $1"
	cp "$(in_root "$root" "$lib")" "$initrd/lib64/ld-linux-x86-64.so.2"
}

# in_root ROOT PATH → PATH with its symbolic links followed inside ROOT (an
# absolute link names a path under ROOT, never the host's).
in_root() {
	local root=$1 p=$2 t n=0
	while [ -L "$p" ] && [ $n -lt 20 ]; do
		t=$(readlink "$p")
		case "$t" in /*) p=$root$t ;; *) p=$(dirname "$p")/$t ;; esac
		n=$((n + 1))
	done
	[ -f "$p" ] || die "kdump: $2 resolves to $p, not a file in $root"
	echo "$p"
}

# kdump_prepare ID SUITE ABI: the initramfs shared by the kernel's scenarios
# (the fixture guest's, plus the scenario helper and the kdump tools), in
# $OUT/scenarios/ID.prep. Run before the scenarios' guests start in parallel.
kdump_prepare() {
	local id=$1 suite=$2 abi=$3 prep=$OUT/scenarios/$1.prep tools sc todo=
	for sc in $KDUMP_SCENARIOS; do [ -e "$OUT/scenarios/$id/kdump-$sc/manifest.json" ] || todo=1; done
	[ -n "$todo" ] || return 0
	[ -e "$prep/vmlinux.sha256" ] && return 0
	tools=$(kdump_tools "$suite")
	rm -rf "$prep" && mkdir -p "$prep"
	build_initrd "$abi" "$prep"
	gcc -static -O2 -pthread -o "$prep/initrd/scenario" "$GEN/scenario.c" 2>"$prep/gcc.log" || die "building scenario failed: $(cat "$prep/gcc.log")"
	ln -s scenario "$prep/initrd/fixture-oom"
	ln -s scenario "$prep/initrd/fixture-writer"
	ln -s scenario "$prep/initrd/fixture-many"
	kdump_stage "$tools" "$prep/initrd"
	(cd "$prep/initrd" && find . | cpio -o -H newc --quiet) | gzip -1 >"$prep/initrd.img"
	cp "$tools/packages" "$prep/packages"
	# The vmlinux facts every scenario's manifest repeats, computed once.
	readelf -n "$KERNELS/$abi/vmlinux" | awk '/Build ID/ {print $3; exit}' >"$prep/build_id"
	sha256sum "$KERNELS/$abi/vmlinux" | cut -c1-64 >"$prep/vmlinux.sha256.tmp"
	mv "$prep/vmlinux.sha256.tmp" "$prep/vmlinux.sha256"
	rm -rf "$prep/initrd"
}

# deb_version SUITE PACKAGE → the version of the suite's PACKAGE (downloaded)
deb_version() { dpkg-deb -f "$(ls "$DEBS/$1/${2}_"*.deb | head -1)" Version; }

# truth_json DIR DEST → the manifest's "ground_truth" object for the capture
# unpacked in DIR/truth (paths name DEST, the set's final folder).
truth_json() {
	local dir=$1 dest=$2 f line
	local -a files=() absent=()
	while IFS= read -r f; do files+=("$(json_str "${f#./}")"); done < <(cd "$dir/truth" && find . -type f ! -name ABSENT | LC_ALL=C sort)
	if [ -e "$dir/truth/ABSENT" ]; then
		while IFS=$'\t' read -r f line; do
			absent+=("{\"path\":$(json_str "${f#/}"),\"reason\":$(json_str "$line")}")
		done <"$dir/truth/ABSENT"
	fi
	for f in $REQUIRED_TRUTH; do
		[ -e "$dir/truth/$f" ] || grep -q "^/$f	" "$dir/truth/ABSENT" 2>/dev/null ||
			absent+=("{\"path\":$(json_str "$f"),\"reason\":\"not captured: the guest did not provide it\"}")
	done
	printf '{"dir": %s, "files": [%s], "absent": [%s]}' "$(json_str "$dest/truth")" "$(join "${files[@]}")" "$(join "${absent[@]}")"
}

# crash_json SC CONSOLE SCENARIO_META ABI ELF → the manifest's "crash" object.
# The panicking task and CPU are read from the crashed kernel's own words on
# the console (panic's dump_stack prints "CPU: n [UID: u ]PID: p Comm: c"
# right after "Kernel panic - not syncing"); the guest's record of the pids it
# started (meta/scenario) is what they must match.
crash_json() {
	local sc=$1 console=$2 meta=$3 abi=$4 elf=$5 msg cpu pid comm kind culprit symbol want_comm want_pid hung=null desc ctime
	msg=$(grep -a -m1 'Kernel panic - not syncing' "$console" | sed 's/.*Kernel panic - not syncing: //; s/\r$//')
	read -r cpu pid comm < <(sed -n '/Kernel panic - not syncing/,$p' "$console" |
		sed -nE 's/.*CPU: ([0-9]+) (UID: [0-9]+ )?PID: ([0-9]+) Comm: ([^ ]+).*/\1 \3 \4/p' | head -1)
	[ -n "$msg" ] && [ -n "$pid" ] || die "kdump $sc: no panic with its task on the console ($console)"
	meta_of() { awk -v k="$1" '$1 == k {print $2}' "$meta"; }
	case "$sc" in
	sysrq)
		kind=sysrq-c want_comm=init want_pid=1 culprit=sysrq_handle_crash
		desc="echo c >/proc/sysrq-trigger from the guest's /init (pid 1)"
		;;
	oom)
		kind=oom want_comm=fixture-oom want_pid=$(meta_of oom_pid) culprit=out_of_memory
		desc="vm.panic_on_oom=1; fixture-oom allocates mlocked memory until the OOM killer runs, which panics"
		;;
	hung)
		kind=hung-task want_comm=khungtaskd want_pid=$(meta_of khungtaskd_pid) culprit=check_hung_uninterruptible_tasks
		desc="kernel.hung_task_panic=1, hung_task_timeout_secs=2; fixture-writer blocked creating a file on an ext4 frozen with FIFREEZE"
		local hpid
		hpid=$(grep -a -m1 -oE 'task fixture-writer:[0-9]+ blocked' "$console" | sed -E 's/.*:([0-9]+) .*/\1/')
		[ "$hpid" = "$(meta_of writer_pid)" ] || die "kdump $sc: the console names hung task ${hpid:-none}, the guest started fixture-writer as $(meta_of writer_pid)"
		hung="{\"comm\":\"fixture-writer\",\"pid\":$hpid}"
		;;
	many)
		kind=sysrq-c want_comm=init want_pid=1 culprit=sysrq_handle_crash
		desc="many tasks (~2,000: threads, mount namespaces, sockets, tasks in S/D/T/Z/R), then echo c >/proc/sysrq-trigger from /init (pid 1)"
		;;
	esac
	[ "$comm" = "$want_comm" ] && [ "$pid" = "$want_pid" ] ||
		die "kdump $sc: the panic ran in $comm ($pid), the scenario expects $want_comm ($want_pid); see $console"
	# The culprit is named as in the source. The symbol holding the panic call
	# is what a symbol table shows: check_hung_uninterruptible_tasks is
	# static with one caller and is inlined into watchdog when System.map
	# lacks it (so in every Debian kernel here).
	symbol=$culprit
	grep -q " $culprit\$" "$KERNELS/$abi/System.map" || symbol=watchdog
	# The frame that called panic, as the crashed kernel's own unwinder
	# printed it (a .cold part when the compiler split the function).
	local caller
	caller=$(sed -n '/Kernel panic - not syncing/,$p' "$console" | grep -a -A3 -E '\] +panic\+0x' |
		sed -nE 's/.*\] +([A-Za-z0-9_.]+)\+0x.*/\1/p' | grep -v -x panic | head -1 || true)
	# The crashed kernel's own record of when: CRASHTIME in its VMCOREINFO
	# (an uncompressed note near the start of the ELF).
	ctime=$(head -c 1M "$elf" | grep -a -m1 -o 'CRASHTIME=[0-9]*' | cut -d= -f2 || true)
	[ -n "$ctime" ] || die "kdump $sc: no CRASHTIME in $elf"
	printf '{"kind":%s,"capture":"kdump","description":%s,"panic_message":%s,"panic_cpu":%s,"time":%s,"task":{"comm":%s,"pid":%s},"culprit":%s,"culprit_symbol":%s,"panic_caller":%s,"hung_task":%s}' \
		"$(json_str "$kind")" "$(json_str "$desc")" "$(json_str "$msg")" "$cpu" "$ctime" "$(json_str "$comm")" "$pid" \
		"$(json_str "$culprit")" "$(json_str "$symbol")" "$(json_str "$caller")" "$hung"
}

# kdump_scenario ID SUITE PINNED ABI SC EXTRAS: one scenario's guest, dumps
# and manifest.
kdump_scenario() {
	local id=$1 suite=$2 pinned=$3 abi=$4 sc=$5 extras=${6:--} prep=$OUT/scenarios/$1.prep ref=""
	local dest=$OUT/scenarios/$1/kdump-$5 work t0 waited=0 qpid tools kexec_v mdf_v build_id mem=$KDUMP_MEM truth_size=64M kdump_size=1G
	[ -e "$dest/manifest.json" ] && { say "$id kdump-$sc: up to date"; return 0; }
	# reference=ROLE (kernels.txt): the capture kernel also writes ROLE, which
	# the tests compare with the ground truth instead of the -d 31 dumps.
	case ",$extras," in *,reference=*) ref=${extras#*reference=} ref=${ref%%,*} ;; esac
	case "$ref" in "" | lzo-d1) ;; *) die "$id kdump-$sc: reference=$ref: the capture kernel makes only lzo-d1" ;; esac
	work=$dest.tmp
	rm -rf "$work" && mkdir -p "$work/kdump-root" "$work/truth"
	t0=$SECONDS
	cp "$KERNELS/$abi/vmlinuz" "$work/kdump-root/vmlinuz"
	cp "$prep/initrd.img" "$work/kdump-root/initrd.img"
	# The many-tasks set: more memory, and room for its larger truth and dumps.
	[ "$sc" != many ] || mem=$KDUMP_MEM_MANY truth_size=512M kdump_size=2G
	# A -d 1 dump keeps every non-zero page of the 576 MiB the crashed kernel
	# had, besides the -d 31 pair (the image is sparse: room costs nothing).
	[ -z "$ref" ] || kdump_size=2G
	truncate -s 64M "$work/data.img" "$work/nvme.img" "$work/scsi.img"
	truncate -s "$truth_size" "$work/truth.img"
	truncate -s "$kdump_size" "$work/kdump.img"
	mkfs.ext4 -q -F -O ^orphan_file -L fixture-data "$work/data.img"
	mkfs.ext4 -q -F -O ^orphan_file -L fixture-frozen "$work/nvme.img"
	mkfs.ext4 -q -F -O ^orphan_file -L fixture-kdump -d "$work/kdump-root" "$work/kdump.img"
	# A guest that crashes while booting, before the fixture's init runs
	# (seen once on 7.2 under TCG: an int3 oops in sched_clock_cpu at 4 s,
	# no "fixture-init:" line), is booted again, at most twice: that panic
	# is not the scenario's, and kdump was not loaded yet.
	local boot
	for boot in 1 2 3; do
	say "$id kdump-$sc: booting $abi$([ "$boot" = 1 ] || echo " (attempt $boot)")"
	: >"$work/console.log"
	qemu-system-x86_64 -accel tcg -machine pc -cpu qemu64 -smp 2 -m "$mem" \
		-display none -monitor none -serial "file:$work/console.log" -no-reboot \
		-kernel "$KERNELS/$abi/vmlinuz" -initrd "$prep/initrd.img" \
		-append "console=ttyS0 no_timer_check panic=0 crashkernel=$KDUMP_CRASHKERNEL vmcore_fixture=$id fixture_mode=kdump fixture_scenario=$sc${ref:+ fixture_ref=$ref}" \
		-device vmcoreinfo \
		-drive "file=$work/data.img,if=virtio,format=raw" \
		-drive "file=$work/truth.img,if=virtio,format=raw" \
		-drive "file=$work/kdump.img,if=virtio,format=raw" \
		-drive "file=$work/nvme.img,if=none,id=nvm,format=raw" -device nvme,serial=fixture-nvme,drive=nvm \
		-device virtio-scsi-pci,id=scsi0 -drive "file=$work/scsi.img,if=none,id=scsidisk,format=raw" \
		-device scsi-hd,drive=scsidisk,bus=scsi0.0 &
	qpid=$!
	# The capture kernel powers off (QEMU exits). A panic that runs to its
	# end ("---[ end Kernel panic") never reached kdump.
	local booted=true
	while kill -0 "$qpid" 2>/dev/null; do
		if grep -aq -- '---\[ end Kernel panic' "$work/console.log" 2>/dev/null; then
			kill "$qpid"
			wait "$qpid" 2>/dev/null || true
			if [ "$boot" -lt 3 ] && ! grep -aq 'fixture-init:' "$work/console.log"; then
				say "$id kdump-$sc: the guest crashed while booting, before the fixture's init; booting again"
				cp "$work/console.log" "$work/console-boot$boot.log"
				booted=false
				break
			fi
			die "$id kdump-$sc: the panic did not reach the capture kernel; see $work/console.log"
		fi
		[ $waited -lt 900 ] || { kill "$qpid"; die "$id kdump-$sc: no capture after 900 s; see $work/console.log"; }
		sleep 1
		waited=$((waited + 1))
	done
	$booted || continue
	wait "$qpid" || true
	break
	done
	local guest_s=$((SECONDS - t0))
	debugfs -R "rdump /out $work" "$work/kdump.img" >/dev/null 2>&1 || die "$id kdump-$sc: cannot read the kdump disk"
	[ -s "$work/out/kdump-lzo-d31.kdump" ] && [ -s "$work/out/kdump-elf-d31.elf" ] ||
		die "$id kdump-$sc: the capture kernel wrote no dumps; see $work/console.log and $work/out/capture.log"
	[ -z "$ref" ] || [ -s "$work/out/kdump-$ref.kdump" ] ||
		die "$id kdump-$sc: the capture kernel wrote no $ref dump; see $work/console.log and $work/out/capture.log"
	mv "$work"/out/* "$work/" && rmdir "$work/out"
	tar -xf "$work/truth.img" -C "$work/truth" || die "$id kdump-$sc: no ground truth on the truth disk; see $work/console.log"
	rm -rf "$work/kdump-root" "$work"/*.img

	tools=$CACHE/kdump-tools-$suite
	kexec_v=$(deb_version "$suite" kexec-tools)
	mdf_v=$(deb_version "$suite" makedumpfile)
	# Which makedumpfile made the files, as the kernel's own set records it
	# (the capture kernel's is the suite's, the one makedumpfile_of unpacks).
	local mjson
	mjson=$(mdf_json "$(makedumpfile_of "$suite")" "$suite" "$([ -n "$ref" ] && echo true)")
	FILES_JSON=()
	add_file "$work" kdump-lzo-d31 kdump-lzo-d31.kdump kdump "kdump: $suite makedumpfile $mdf_v -l -d 31 /proc/vmcore in the capture kernel (kexec-tools $kexec_v)" lzo 31 true false 0 "$mjson"
	add_file "$work" kdump-elf-d31 kdump-elf-d31.elf elf "kdump: $suite makedumpfile $mdf_v -E -d 31 /proc/vmcore in the capture kernel (kexec-tools $kexec_v)" none 31 true false 0 "$mjson"
	[ -z "$ref" ] || add_file "$work" "kdump-$ref" "kdump-$ref.kdump" kdump "kdump: $suite makedumpfile $mdf_v -l -d 1 /proc/vmcore in the capture kernel (kexec-tools $kexec_v)" lzo 1 true false 0 "$mjson"
	local vmlinux=$KERNELS/$abi/vmlinux crash
	build_id=$(cat "$prep/build_id")
	# The crashed kernel's words: its console, or, when kexec came before the
	# console printed the panic (seen once on 7.2 under host load), its log
	# buffer as makedumpfile --dump-dmesg read it from the dump.
	local said=$work/console.log
	grep -aq 'Kernel panic - not syncing' "$said" || said=$work/kdump-dmesg.txt
	crash=$(crash_json "$sc" "$said" "$work/truth/meta/scenario" "$abi" "$work/kdump-elf-d31.elf") || exit 1
	local mdf_s lzo_s elf_s ref_s=""
	lzo_s=$(awk '$1 == "lzo_rc" {print $4}' "$work/capture.log")
	elf_s=$(awk '$1 == "elf_rc" {print $4}' "$work/capture.log")
	if [ -n "$ref" ]; then
		ref_s=$(awk '$1 == "ref_rc" {print $4}' "$work/capture.log")
		ref_s=", \"capture_ref\": ${ref_s:-0}"
	fi
	mdf_s=$(head -1 "$work/capture.log")
	cat >"$work/manifest.json" <<-EOF
		{
		 "id": $(json_str "$id/kdump-$sc"),
		 "parent": $(json_str "$id"),
		 "scenario": $(json_str "kdump-$sc"),
		 "suite": $(json_str "$suite"),
		 "kernel_release": $(json_str "$abi"),
		 "pinned_release": $(json_str "$pinned"),
		 "package_version": $(json_str "$(cat "$KERNELS/$abi/package_version")"),
		 "build_id": $(json_str "$build_id"),
		 "guest_cmdline": $(json_str "$(cat "$work/truth/proc/cmdline")"),
		 "generator_key": "$KEY",
		 "reference_role": $(json_str "${ref:+kdump-$ref}"),
		 "timings_seconds": {"guest_to_poweroff": $guest_s, "capture_lzo": ${lzo_s:-0}, "capture_elf": ${elf_s:-0}$ref_s, "total": $((SECONDS - t0))},
		 "vmlinux": {"role":"vmlinux","name":"vmlinux","path":$(json_str "$vmlinux"),"size":$(stat -c %s "$vmlinux"),"sha256":"$(cat "$prep/vmlinux.sha256")","format":"vmlinux"},
		 "files": [
		  $(join "${FILES_JSON[@]}")
		 ],
		 "ground_truth": $(truth_json "$work" "$dest"),
		 "crash": $crash,
		 "kdump": {"kexec_tools": $(json_str "$kexec_v"), "makedumpfile": $(json_str "$mdf_v"), "vmcore_size": $(echo "$mdf_s" | awk '{printf "%.0f", $2}'), "crashkernel": "$KDUMP_CRASHKERNEL", "guest_memory": "$mem", "capture_cmdline": $(json_str "$(cat "$work/capture-cmdline")")},
		 "extra": {"system_map": $(json_str "$KERNELS/$abi/System.map"), "makedumpfile_dmesg": $(json_str "$dest/kdump-dmesg.txt"), "console_log": $(json_str "$dest/console.log")}
		}
	EOF
	sed -i "s|$work/|$dest/|g" "$work/manifest.json"
	rm -rf "$dest" && mv "$work" "$dest"
	say "$id kdump-$sc: done in $((SECONDS - t0)) s ($(du -sh "$dest" | cut -f1)): $(echo "$crash" | sed 's/.*"panic_message":\("[^"]*"\).*/\1/')"
}
