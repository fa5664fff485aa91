#!/usr/bin/python3
# The second oracle: an independent reader of the same dump, run by the
# tests (internal/fixtures.Set.Oracle, output cached beside the fixture set). Debian's
# python3-drgn (libkdumpfile, the vmlinux's DWARF) opens one makedumpfile dump
# and prints raw kernel counters as JSON. Raw: globals, per-CPU and per-zone
# values as the kernel holds them, nothing folded or formatted; the Go tests
# apply the kernel's own folding rules and compare values only, exactly.
# Where the tests would otherwise restate an emitter's reading (7.x's idle
# time), the kernel function's value is computed here from raw fields, in
# the kernel's units, and the tests fold it as the kernel does.
#
#   oracle.py DUMP VMLINUX >oracle.json
#
# Only raw reads (prog['sym'], members, per-CPU offsets) are used, no drgn
# helper that knows kernel versions, so it reads every fixture kernel alike;
# one helper reads user memory, which no raw read here can: each task's
# command line as drgn.helpers.linux.mm.cmdline() gives it.
import json
import sys

import drgn
from drgn.helpers.linux.mm import access_remote_vm, cmdline


class Unreadable(Exception):
    """The kernel keeps none of the structures a section reads."""


def main():
    prog = drgn.Program()
    prog.set_core_dump(sys.argv[1])
    prog.load_debug_info([sys.argv[2]])

    def has(name):
        try:
            prog[name]
            return True
        except KeyError:
            return False

    def has_member(typ, path):
        t = prog.type(typ)
        for part in path.split("."):
            try:
                t = t.member(part).type
            except (LookupError, TypeError):
                return False
            while t.kind == drgn.TypeKind.TYPEDEF:
                t = t.type
        return True

    def enum(name):
        return [(e.name, e.value) for e in prog.type("enum " + name).enumerators]

    def items(arr, enumname, stop):
        # the array's values by index, and the first enumerator naming each
        # index (stop: the enumerator that counts the items)
        names, values = [], []
        for name, v in enum(enumname):
            if name == stop:
                break
            if v < len(names):
                continue  # an alias (NR_ZONE_LRU_BASE)
            names.append(name)
            x = arr[v]
            values.append(x.counter.value_() if hasattr(x, "counter") else x.value_())
        return {"names": names, "values": values}

    # Possible CPUs: bits of __cpu_possible_mask (the online mask of a dump
    # taken after panic() holds only the panicking CPU).
    def mask(sym):
        bits = prog[sym].bits
        cpus = []
        for w in range(len(bits)):
            v = bits[w].value_()
            for b in range(64):
                if v >> b & 1:
                    cpus.append(w * 64 + b)
        return cpus

    def lst(head, typ, member, cap=100000):
        pos = head.next
        n = 0
        while pos.value_() != head.address_ and n < cap:
            n += 1
            yield drgn.container_of(pos, typ, member)
            pos = pos.next

    # A section read from allocated kernel memory (slab objects: caches,
    # inodes, irq descriptors and their maple nodes, tasks) that a dump's
    # filter may have dropped (sid's makedumpfile 1.7.8 at -d 31 leaves out
    # 7.2's slab pages) is recorded as None with its error in "errors"; the
    # rules that need it fail with that error. Everything else, static or
    # per-CPU, must read: any error there ends the script.
    errors = {}

    def section(name, read):
        try:
            return read()
        except (drgn.FaultError, Unreadable) as e:
            errors[name] = str(e)
            return None

    possible = mask("__cpu_possible_mask")
    offsets = prog["__per_cpu_offset"]

    # per_cpu_ptr(): the variable's address plus the CPU's offset, in the
    # kernel's unsigned 64-bit arithmetic (since v6.15 x86_64's per-CPU
    # symbols are no longer zero-based and the offset wraps around).
    def per_cpu(var, cpu):
        addr = (var.address_ + offsets[cpu].value_()) & (1 << 64) - 1
        return drgn.Object(prog, var.type_, address=addr)

    def per_cpu_ptr(ptr, cpu):
        addr = (ptr.value_() + offsets[cpu].value_()) & (1 << 64) - 1
        return drgn.Object(prog, ptr.type_.type, address=addr)

    out = {
        "release": prog["init_uts_ns"].name.release.string_().decode(),
        "possible_cpus": possible,
        "online_cpus": mask("__cpu_online_mask"),
        "vm_zone_stat": items(prog["vm_zone_stat"], "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS"),
        "vm_node_stat": items(prog["vm_node_stat"], "node_stat_item", "NR_VM_NODE_STAT_ITEMS"),
        "totalram_pages": prog["_totalram_pages"].counter.value_(),
        "nr_threads": prog["nr_threads"].value_(),
        "total_forks": prog["total_forks"].value_(),
        "total_swap_pages": prog["total_swap_pages"].value_(),
        # what global_dirty_limits() computes the dirty thresholds from
        # (besides the free and file pages): the reserve and the sysctls
        "totalreserve_pages": prog["totalreserve_pages"].value_(),
        "dirty_sysctls": {n: prog[n].value_() for n in ("vm_dirty_ratio", "dirty_background_ratio",
                                                         "vm_dirty_bytes", "dirty_background_bytes")},
    }
    # The base pages one count of the THP node counters (NR_ANON_THPS and
    # its file and shmem siblings, converted together) stands for: a huge
    # page (512) before v5.13 ("mm: memcontrol: convert NR_ANON_THPS account
    # to pages" and its series), one page since. Read from the kernel's own
    # statement of it where there is one: memory.stat's memory_stats[] with a
    # per-entry ratio (bytes per count; memory_stats_init() sets anon_thp's
    # to HPAGE_PMD_SIZE); where struct memory_stat has no ratio, units are
    # per item (memcg_page_state_unit()) and the THP counters count pages.
    thp_pages = 1
    if has_member("struct memory_stat", "ratio"):
        ms = prog["memory_stats"]
        anon = prog["NR_ANON_THPS"].value_()
        ratios = [ms[i].ratio.value_() for i in range(len(ms)) if ms[i].idx.value_() == anon]
        if len(ratios) != 1:
            raise ValueError("memory_stats[] has %d entries for NR_ANON_THPS" % len(ratios))
        thp_pages = ratios[0] // 4096
    out["thp_counter_pages"] = thp_pages
    # 6.11+: the memmap page counts vmstat prints after the node items
    for n in ("nr_memmap_pages", "nr_memmap_boot_pages"):
        if has(n):
            out[n] = prog[n].counter.value_()
    if has("vm_numa_event"):
        out["vm_numa_event"] = items(prog["vm_numa_event"], "numa_stat_item", "NR_VM_NUMA_EVENT_ITEMS")
    elif has("vm_numa_stat"):
        # Before 5.14 (f19298b9516c, "mm/vmstat: convert NUMA statistics to
        # basic NUMA counters") the NUMA events were vm_numa_stat[], and
        # /proc/vmstat printed those global counts alone (global_numa_state())
        out["vm_numa_event"] = items(prog["vm_numa_stat"], "numa_stat_item", "NR_VM_NUMA_STAT_ITEMS")

    # VM events: per CPU, summed by all_vm_events() over online CPUs.
    events = [n for n, _ in enum("vm_event_item") if n != "NR_VM_EVENT_ITEMS"]
    ev = {}
    for cpu in possible:
        arr = per_cpu(prog["vm_event_states"], cpu).event
        ev[str(cpu)] = [arr[i].value_() for i in range(len(events))]
    out["vm_event_states"] = {"names": events, "per_cpu": ev}

    # /proc/stat: kernel_cpustat.cpustat[] and kernel_stat (softirqs, irqs_sum).
    usage = [n for n, _ in enum("cpu_usage_stat") if n != "NR_STATS"]
    kst = {}
    for cpu in possible:
        kc = per_cpu(prog["kernel_cpustat"], cpu).cpustat
        ks = per_cpu(prog["kstat"], cpu)
        row = {"cpustat": {n: kc[i].value_() for i, n in enumerate(usage)},
               "softirqs": [ks.softirqs[i].value_() for i in range(len(ks.softirqs))]}
        try:
            row["irqs_sum"] = ks.irqs_sum.value_()
        except AttributeError:
            pass
        kst[str(cpu)] = row
    out["kstat"] = kst

    # Zones of every node: sizes, watermarks, own counters, per-CPU pagesets.
    zones = []
    nodes = []
    nd = prog["node_data"]
    nr_node_ids = prog["nr_node_ids"].value_()
    for nid in range(nr_node_ids):
        pgdat = nd[nid]
        if not pgdat.value_():
            continue
        # kswapd_failures: an int, atomic_t in newer kernels
        kf = pgdat.kswapd_failures
        nodes.append({"node": nid, "vm_stat": items(pgdat.vm_stat, "node_stat_item", "NR_VM_NODE_STAT_ITEMS"),
                      "kswapd_failures": kf.counter.value_() if has_member("struct pglist_data", "kswapd_failures.counter") else kf.value_()})
        # every zone, populated or not (zoneinfo prints them all; the
        # rules of the other files take the populated ones)
        for zi in range(len(pgdat.node_zones)):
            z = pgdat.node_zones[zi]
            zone = {
                "node": nid,
                "name": z.name.string_().decode(),
                "managed": z.managed_pages.counter.value_(),
                "present": z.present_pages.value_(),
                "spanned": z.spanned_pages.value_(),
                "watermark": [z._watermark[i].value_() for i in range(len(z._watermark))],
                "watermark_boost": z.watermark_boost.value_(),
                "zone_start_pfn": z.zone_start_pfn.value_(),
                "lowmem_reserve": [z.lowmem_reserve[i].value_() for i in range(len(z.lowmem_reserve))],
                "vm_stat": items(z.vm_stat, "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS"),
            }
            if has("vm_numa_event"):
                zone["vm_numa_event"] = items(z.vm_numa_event, "numa_stat_item", "NR_VM_NUMA_EVENT_ITEMS")
            elif has_member("struct zone", "vm_numa_stat"):
                # before 5.14: the zone's NUMA counts, each CPU's pending
                # part in its pageset's vm_numa_stat_diff[]
                zone["vm_numa_stat"] = items(z.vm_numa_stat, "numa_stat_item", "NR_VM_NUMA_STAT_ITEMS")
            pcp = {}
            if not has_member("struct zone", "per_cpu_pageset"):
                # Before v5.14 (28f836b6777b, "mm/page_alloc: split per cpu
                # page lists and zone stats") one per_cpu_pageset held the
                # lists (pcp) and the stat differences.
                if z.pageset.value_():
                    for cpu in possible:
                        p = per_cpu_ptr(z.pageset, cpu)
                        pcp[str(cpu)] = {"count": p.pcp.count.value_(), "high": p.pcp.high.value_(),
                                         "batch": p.pcp.batch.value_(), "stat_threshold": p.stat_threshold.value_(),
                                         "vm_stat_diff": [p.vm_stat_diff[i].value_() for i in range(len(p.vm_stat_diff))]}
                        if has_member("struct per_cpu_pageset", "vm_numa_stat_diff"):
                            pcp[str(cpu)]["vm_numa_stat_diff"] = [p.vm_numa_stat_diff[i].value_()
                                                                  for i in range(len(p.vm_numa_stat_diff))]
            elif z.per_cpu_pageset.value_():
                for cpu in possible:
                    p = per_cpu_ptr(z.per_cpu_pageset, cpu)
                    pcp[str(cpu)] = {"count": p.count.value_(), "high": p.high.value_(), "batch": p.batch.value_()}
                    if has_member("struct per_cpu_pages", "high_min"):
                        # where the kernel tunes pcp->high between bounds
                        # (6.7+; 7.2's zoneinfo prints them)
                        pcp[str(cpu)]["high_min"] = p.high_min.value_()
                        pcp[str(cpu)]["high_max"] = p.high_max.value_()
                    zs = per_cpu_ptr(z.per_cpu_zonestats, cpu)
                    pcp[str(cpu)]["vm_stat_diff"] = [zs.vm_stat_diff[i].value_() for i in range(len(zs.vm_stat_diff))]
                    pcp[str(cpu)]["stat_threshold"] = zs.stat_threshold.value_()
                    if has("vm_numa_event"):
                        pcp[str(cpu)]["vm_numa_event"] = [zs.vm_numa_event[i].value_() for i in range(len(zs.vm_numa_event))]
            zone["pcp"] = pcp
            for m in ("nr_reserved_highatomic", "nr_free_highatomic"):
                if has_member("struct zone", m):
                    zone[m] = z.member_(m).value_()
            # The buddy free lists: entries of free_area[order].free_list[type],
            # counted as pagetypeinfo_showfree_print() does (up to 100000);
            # an unpopulated zone's lists were never initialized (none).
            free = []
            for order in range(len(z.free_area) if zone["present"] else 0):
                fa = z.free_area[order]
                row = []
                for mt in range(len(fa.free_list)):
                    row.append(sum(1 for _ in lst(fa.free_list[mt], "struct list_head", "next", 100000)))
                free.append(row)
            zone["free_lists"] = free
            zones.append(zone)
    out["nodes"] = nodes
    out["zones"] = zones

    # SLUB caches: the per-node counts slabinfo sums (CONFIG_SLUB_DEBUG).
    def read_slab_caches():
        caches = []
        slab_type = "struct slab"
        try:
            prog.type(slab_type)
        except LookupError:
            slab_type = "struct page"  # before v5.17 the slab fields were in struct page (lru)
        head = prog["slab_caches"]
        pos = head.next
        seen = 0
        while pos.value_() != head.address_ and seen < 10000:
            seen += 1
            s = drgn.container_of(pos, "struct kmem_cache", "list")
            c = {"name": s.name.string_().decode(), "size": s.size.value_(), "object_size": s.object_size.value_(),
                 "oo": s.oo.x.value_(), "nodes": []}
            # kmem_cache is allocated with nr_node_ids node pointers only
            for n in range(nr_node_ids):
                # 7.2's struct kmem_cache has per_node[].node where older ones
                # have node[] (probed by member, as the Go side does).
                kn = s.node[n] if has_member("struct kmem_cache", "node") else s.per_node[n].node
                if not kn.value_():
                    continue
                # free objects on the node's partial slabs, as count_partial()
                # counts them for slabinfo
                free = 0
                lh = kn.partial
                p = lh.next
                walked = 0
                while p.value_() != lh.address_ and walked < 100000:
                    walked += 1
                    sl = drgn.container_of(p, slab_type, "slab_list")
                    free += sl.objects.value_() - sl.inuse.value_()
                    p = p.next
                c["nodes"].append({"nr_slabs": kn.nr_slabs.counter.value_(),
                                   "total_objects": kn.total_objects.counter.value_(),
                                   "nr_partial": kn.nr_partial.value_(),
                                   "partial_free": free})
            caches.append(c)
            pos = pos.next
        return caches

    out["slab_caches"] = section("slab_caches", read_slab_caches)

    # Load: avenrun[] raw (fixed point, 11 bits of fraction), the pid
    # allocator's cursor (the next pid), node sizes.
    out["avenrun"] = [prog["avenrun"][i].value_() for i in range(3)]
    out["pid_cursor"] = prog["init_pid_ns"].idr.idr_next.value_()
    out["present_cpus"] = mask("__cpu_present_mask")
    out["node_present_pages"] = [nd[n].node_present_pages.value_() for n in range(nr_node_ids) if nd[n].value_()]

    # meminfo's single counters: vm_committed_as (the shared count and each
    # CPU's part), the populated per-CPU chunks' pages, vmalloc pages (a
    # global counter where the kernel has one, else the NR_VMALLOC node item).
    vca = prog["vm_committed_as"]
    out["vm_committed_as"] = {"count": vca.count.value_(),
                              "per_cpu": {str(c): per_cpu_ptr(vca.counters, c).value_() for c in possible}}
    out["pcpu_pages"] = prog["pcpu_nr_populated"].value_() * prog["pcpu_nr_units"].value_()
    if has("nr_vmalloc_pages"):
        out["nr_vmalloc_pages"] = prog["nr_vmalloc_pages"].counter.value_()

    # Block device page cache (nr_blockdev_pages(): every inode of the bdev
    # filesystem's superblock) and the clocks at the last timekeeper update
    # (tkr_mono's base plus its shifted nanoseconds; boot time adds
    # offs_boot, wall time offs_real).
    def read_blockdev_pages():
        bdev = 0
        for inode in lst(prog["blockdev_superblock"].s_inodes, "struct inode", "i_sb_list"):
            bdev += inode.i_mapping.nrpages.value_()
        return bdev

    out["blockdev_pages"] = section("blockdev_pages", read_blockdev_pages)

    # Before v5.12 ("mm: memcg: add swapcache stat for memcg v2") no node
    # counter holds the swap cache: total_swapcache_pages() sums nrpages of
    # the swapper_spaces[type][] address spaces of every swap area
    # swp_swap_info() finds (swap_info[type] set, type < nr_swapfiles) and
    # get_swap_device() takes (SWP_VALID in its flags).
    def read_swapcache():
        total = 0
        valid = prog["SWP_VALID"].value_()
        for i in range(prog["nr_swapfiles"].value_()):
            si = prog["swap_info"][i]
            if not si.value_() or not si.flags.value_() & valid:
                continue
            spaces = prog["swapper_spaces"][i]
            for j in range(prog["nr_swapper_spaces"][i].value_()):
                total += spaces[j].nrpages.value_()
        return total

    if "NR_SWAPCACHE" not in out["vm_node_stat"]["names"]:
        out["total_swapcache_pages"] = section("swapcache", read_swapcache)

    # si_swapinfo()'s free swap: nr_swap_pages plus the pages in use of a
    # swap area being switched off (SWP_USED without SWP_WRITEOK), as
    # swap_usage_in_pages() reads them: inuse_pages, an unsigned int, or an
    # atomic_long_t whose bit 32 is SWAP_USAGE_OFFLIST_BIT where it is one.
    def read_swap_to_be_unused():
        used, writeok = prog["SWP_USED"].value_(), prog["SWP_WRITEOK"].value_()
        n = 0
        for i in range(prog["nr_swapfiles"].value_()):
            si = prog["swap_info"][i]
            if not si.value_():
                continue
            f = si.flags.value_()
            if f & used and not f & writeok:
                u = si.inuse_pages
                n += u.counter.value_() & ~(1 << 32) if has_member("struct swap_info_struct", "inuse_pages.counter") else u.value_()
        return n

    out["nr_swap_pages"] = prog["nr_swap_pages"].counter.value_()
    out["swap_to_be_unused"] = section("swap_areas", read_swap_to_be_unused)
    # vm_commit_limit()'s sysctls, and the huge page pools (hstates[] up to
    # hugetlb_max_hstate; the default one's index) hugetlb_total_pages() and
    # hugetlb_report_meminfo() read.
    out["overcommit"] = {"kbytes": prog["sysctl_overcommit_kbytes"].value_(),
                         "ratio": prog["sysctl_overcommit_ratio"].value_()}
    if has("hstates"):
        out["hstates"] = [{m: prog["hstates"][i].member_(m).value_()
                           for m in ("order", "nr_huge_pages", "free_huge_pages", "resv_huge_pages", "surplus_huge_pages")}
                          for i in range(prog["hugetlb_max_hstate"].value_())]
        out["default_hstate_idx"] = prog["default_hstate_idx"].value_()
    # Since 6.17 ("timekeeping: Introduce auxiliary timekeepers") the core
    # timekeeper is timekeeper_data[TIMEKEEPER_CORE] (0); tk_core is gone.
    tk = prog["tk_core"].timekeeper if has("tk_core") else prog["timekeeper_data"][0].timekeeper
    mono = tk.tkr_mono.base.value_() + (tk.tkr_mono.xtime_nsec.value_() >> tk.tkr_mono.shift.value_())
    out["boottime_ns"] = mono + tk.offs_boot.value_()
    out["realtime_ns"] = mono + tk.offs_real.value_()

    # HZ, found from jiffies_64 (which starts at INITIAL_JIFFIES, (u32)(-300 HZ))
    # and the boot-time clock: the candidate whose ticks match the uptime.
    j64 = prog["jiffies_64"].value_()
    for hz in (100, 250, 300, 1000):
        if abs((j64 - ((1 << 32) - 300 * hz)) / hz - out["boottime_ns"] / 1e9) < 1:
            out["hz"] = hz

    def disk_stats_sum(dev, pcpu):
        # A per-CPU struct disk_stats (at pcpu) summed over the possible
        # CPUs, as part_stat_read_all() does.
        tot = {"dev": dev, "io_ticks": 0}
        for c in possible:
            st = drgn.Object(prog, "struct disk_stats", address=(pcpu + offsets[c].value_()) & (1 << 64) - 1)
            for m in ("nsecs", "sectors", "ios", "merges"):
                arr = getattr(st, m)
                tot.setdefault(m, [0] * len(arr))
                for i in range(len(arr)):
                    tot[m][i] += arr[i].value_()
            tot["io_ticks"] += st.io_ticks.value_()
        return tot

    # Block devices' I/O statistics (diskstats_show()'s source): each
    # bdev inode's struct block_device (struct bdev_inode), its bd_stats
    # summed over the possible CPUs (part_stat_read_all()).
    def read_bdevs():
        bdevs = []
        if has_member("struct block_device", "bd_stats"):
            for inode in lst(prog["blockdev_superblock"].s_inodes, "struct inode", "i_sb_list"):
                bd = drgn.container_of(inode, "struct bdev_inode", "vfs_inode").bdev
                if not bd.bd_stats.value_():
                    continue
                bdevs.append(disk_stats_sum(bd.bd_dev.value_(), bd.bd_stats.value_()))
        elif has_member("struct hd_struct", "dkstats"):
            # Before 5.11 ("block: merge struct block_device and struct
            # hd_struct") the statistics are each partition's struct
            # hd_struct (a disk's is its part0): every device of the block
            # class (block_class's klist, as /proc/diskstats' class
            # iterator walks it) is one's __dev; its dkstats summed over
            # the possible CPUs.
            for priv in lst(prog["block_class"].p.klist_devices.k_list, "struct device_private", "knode_class.n_node"):
                hd = drgn.container_of(priv.device, "struct hd_struct", "__dev")
                if not hd.dkstats.value_():
                    continue
                bdevs.append(disk_stats_sum(priv.device.devt.value_(), hd.dkstats.value_()))
        else:
            raise Unreadable("neither block_device.bd_stats nor hd_struct.dkstats")
        return bdevs

    out["bdevs"] = section("bdevs", read_bdevs)

    # Each CPU's runqueue: its current and idle task, its context switches,
    # its runnable tasks, its tasks waiting on I/O (nr_iowait_cpu(), which decides whether an
    # idle period is idle or iowait time).
    rqs = {}
    for cpu in possible:
        rq = per_cpu(prog["runqueues"], cpu)
        rqs[str(cpu)] = {"curr": rq.curr.value_(), "idle": rq.idle.value_(), "nr_switches": rq.nr_switches.value_(),
                         "nr_iowait": rq.nr_iowait.counter.value_(), "nr_running": rq.nr_running.value_(),
                         "clock": rq.clock.value_()}
    out["runqueues"] = rqs
    out["monotonic_ns"] = mono

    # Idle time: the NO_HZ tick's per-CPU sleep times (struct tick_sched:
    # idle_sleeptime, iowait_sleeptime, the current idle period's
    # idle_entrytime and whether one is running: an idle_active bitfield,
    # or since 6.9 a bit of flags), whether NO_HZ is active, and the
    # idle-accounting members kernel_cpustat has in 7.x.
    if has("tick_nohz_active"):
        out["tick_nohz_active"] = prog["tick_nohz_active"].value_()
    if has("tick_cpu_sched") and has_member("struct tick_sched", "idle_sleeptime"):
        ticks = {}
        for cpu in possible:
            ts = per_cpu(prog["tick_cpu_sched"], cpu)
            row = {"idle_sleeptime": ts.idle_sleeptime.value_(), "iowait_sleeptime": ts.iowait_sleeptime.value_(),
                   "idle_entrytime": ts.idle_entrytime.value_()}
            if has_member("struct tick_sched", "idle_active"):
                row["idle_active"] = ts.idle_active.value_()
            else:
                row["flags"] = ts.flags.value_()
            ticks[str(cpu)] = row
        out["tick_sched"] = ticks
    # 7.x keeps the idle sleep time in kernel_cpustat itself (7.2.13's
    # include/linux/kernel_stat.h: idle_dyntick, idle_elapse,
    # idle_sleeptime_seq, idle_entrytime, idle_stealtime[2] under
    # CONFIG_NO_HZ_COMMON; tick_sched lost idle_sleeptime), and both files
    # read it through kcpustat_field_idle()/_iowait(): show_stat() through
    # kcpustat_cpu_fetch() for every possible CPU and every online one,
    # uptime_proc_show() through kcpustat_field(CPUTIME_IDLE). Those two
    # are computed here, values in ns, as 7.2.13's kernel/sched/cputime.c
    # does, so the tests hold the emitter to the kernel's rule rather than
    # to a second reading of its own: kcpustat_field_dyntick(cpu, idx,
    # compute_delta, ktime_get()) is cpustat[idx], plus, when idle_elapse
    # is set, compute_delta holds (idle: nr_iowait_cpu() == 0; iowait: not)
    # and now > idle_entrytime (u64), the elapsed now - idle_entrytime less
    # min(idle_stealtime[idx == CPUTIME_IOWAIT], elapsed). ktime_get() is
    # the monotonic clock at the last timekeeper update (no clocksource
    # read in a dump). With VIRT_CPU_ACCOUNTING_GEN, a CPU on which
    # vtime_generic_enabled_cpu() holds (context_tracking_key enabled and
    # the CPU's context_tracking.active: nohz_full) is read through its
    # running task's vtime instead, which a dump cannot finish (vtime_delta()
    # needs sched_clock()): null there.
    if has_member("struct kernel_cpustat", "idle_elapse"):
        u64 = (1 << 64) - 1
        ct_on = has("context_tracking_key") and prog["context_tracking_key"].key.enabled.counter.value_() > 0
        idx = dict(enum("cpu_usage_stat"))
        for cpu in possible:
            kc = per_cpu(prog["kernel_cpustat"], cpu)
            row = out["kstat"][str(cpu)]
            row["idle_dyntick"] = {
                "idle_elapse": int(kc.idle_elapse.value_()), "idle_entrytime": kc.idle_entrytime.value_(),
                "idle_stealtime": [kc.idle_stealtime[i].value_() for i in range(len(kc.idle_stealtime))]}
            if ct_on and per_cpu(prog["context_tracking"], cpu).active.value_():
                row["kcpustat_field_idle"] = row["kcpustat_field_iowait"] = None
                continue
            nr_iowait = rqs[str(cpu)]["nr_iowait"] & 0xFFFFFFFF  # nr_iowait_cpu(): unsigned int
            now = mono & u64
            for name, slot, compute_delta in (("idle", "CPUTIME_IDLE", nr_iowait == 0),
                                              ("iowait", "CPUTIME_IOWAIT", nr_iowait != 0)):
                v = kc.cpustat[idx[slot]].value_()
                entry = kc.idle_entrytime.value_()
                if kc.idle_elapse.value_() and compute_delta and now > entry:
                    delta = now - entry
                    delta -= min(kc.idle_stealtime[1 if slot == "CPUTIME_IOWAIT" else 0].value_(), delta)
                    v = (v + delta) & u64
                row["kcpustat_field_" + name] = v

    # Interrupts: every irq descriptor (its number from irq_data.irq, the
    # raw status bits, tot_count and each possible CPU's kstat_irqs count,
    # the first unsigned int there: a plain counter, or struct irqstat's
    # cnt since 6.10), the x86 per-CPU irq_stat (every member), the MCE
    # counters, the global error counts, and 7.x's irq_stat_info[] names.
    # Descriptors are found by walking the store the kernel has: the maple
    # tree sparse_irqs (6.5+), else the radix tree irq_desc_tree.
    KERNEL = 0xFFFF800000000000  # the lowest x86_64 kernel address

    def xa_entries(v, index, found):
        # xa_is_node(): internal (low bits 10) and above 4096; the node at
        # v - 2, its slot i covering index + (i << shift). Leaves are plain
        # pointers; other internal entries (siblings, retry) are skipped.
        if v & 3 == 2 and v > 4096:
            node = drgn.Object(prog, "struct xa_node", address=v - 2)
            shift = node.shift.value_()
            for i in range(len(node.slots)):
                xa_entries(node.slots[i].value_(), index + (i << shift), found)
        elif v >= KERNEL and v & 3 == 0:
            found.append((index, index, v))

    def mt_entries(enode, lo, hi, found, depth=0):
        # An encoded maple node: the node at enode & ~MAPLE_NODE_MASK (255),
        # its type in bits 3-6 (maple_leaf_64 1, maple_range_64 2,
        # maple_arange_64 3); slot i covers from the previous pivot + 1 to
        # pivot[i] (the node's maximum past the pivots); the data ends where
        # ma_data_end() says: the metadata's end, unless the last pivot is
        # set (the node is full, or ends at its maximum).
        if depth > 31:
            raise ValueError("maple tree deeper than MAPLE_HEIGHT_MAX")
        typ = (enode >> 3) & 0xF
        node = drgn.Object(prog, "struct maple_node", address=enode & ~255)
        if typ == 3:
            n = node.ma64
        elif typ in (1, 2):
            n = node.mr64
        else:
            raise ValueError("maple node %#x of type %d" % (enode, typ))
        npiv = len(n.pivot)
        end = n.meta.end.value_()
        if typ != 3:
            last = n.pivot[npiv - 1].value_()
            if last == hi:
                end = npiv - 1
            elif last != 0:
                end = npiv
        first = lo
        for i in range(end + 1):
            last = hi
            if i < npiv:
                last = n.pivot[i].value_()
                if last == 0 and i > 0:
                    last = hi
            e = n.slot[i].value_()
            if e and typ != 1:
                mt_entries(e, first, last, found, depth + 1)
            elif e >= KERNEL and e & 3 == 0:
                found.append((first, last, e))
            if last >= hi:
                break
            first = last + 1

    def read_irq_descs():
        found = []
        if has("sparse_irqs"):
            root = prog["sparse_irqs"].ma_root.value_()
            if root & 3 == 2 and root > 4096:
                mt_entries(root & ~2, 0, (1 << 64) - 1, found)
            elif root >= KERNEL and root & 3 == 0:
                found.append((0, 0, root))
        elif has("irq_desc_tree"):
            xa_entries(prog["irq_desc_tree"].xa_head.value_(), 0, found)
        else:
            raise Unreadable("neither sparse_irqs nor irq_desc_tree")
        descs = {}
        for first, last, addr in found:
            d = drgn.Object(prog, "struct irq_desc", address=addr)
            irq = d.irq_data.irq.value_()
            if first != last or irq != first:
                out.setdefault("irq_descs_mismatch", []).append([first, last, irq])
                continue
            kp = d.kstat_irqs.value_()
            per = {}
            for cpu in possible:
                a = (kp + offsets[cpu].value_()) & (1 << 64) - 1
                per[str(cpu)] = drgn.Object(prog, "unsigned int", address=a).value_() if kp else 0
            descs[str(irq)] = {"irq": irq, "address": addr, "tot_count": d.tot_count.value_(),
                               "status_use_accessors": d.status_use_accessors.value_(),
                               "istate": d.core_internal_state__do_not_mess_with_it.value_(), "kstat_irqs": per}
        return descs

    out["irq_descs"] = section("irq_descs", read_irq_descs)
    out["irq_enums"] = {n: prog[n].value_() for n in ("IRQ_PER_CPU", "IRQ_PER_CPU_DEVID", "IRQS_NMI")}
    out["nr_irqs"] = prog["nr_irqs" if has("nr_irqs") else "total_nr_irqs"].value_()
    st = prog.type("irq_cpustat_t")
    while st.kind == drgn.TypeKind.TYPEDEF:
        st = st.type
    irqstat = {}
    for cpu in possible:
        o = per_cpu(prog["irq_stat"], cpu)
        row = {}
        for m in st.members:
            v = getattr(o, m.name)
            if v.type_.kind == drgn.TypeKind.ARRAY:
                row[m.name] = [v[i].value_() for i in range(len(v))]
            elif v.type_.kind == drgn.TypeKind.INT:
                row[m.name] = v.value_()
        for sym in ("mce_exception_count", "mce_poll_count"):
            if has(sym):
                row[sym] = per_cpu(prog[sym], cpu).value_()
        irqstat[str(cpu)] = row
    out["irq_stat"] = irqstat
    for sym in ("irq_err_count", "irq_mis_count"):
        if has(sym):
            out[sym] = prog[sym].counter.value_()
    if has("x86_platform_ipi_callback"):
        out["x86_platform_ipi_callback"] = prog["x86_platform_ipi_callback"].value_()
    if has("irq_stat_info"):
        names = []
        for i in range(len(prog["irq_stat_info"])):
            p = prog["irq_stat_info"][i].symbol
            names.append(p.string_().decode() if p.value_() else None)
        out["irq_stat_info"] = names

    # Every task: the process list (init_task.tasks), then each process's
    # threads (signal->thread_head, linked by thread_node), raw fields.
    state_member = "__state" if has_member("struct task_struct", "__state") else "state"

    # What task_mem() (fs/proc/task_mmu.c) prints a process's memory from:
    # the mm's page counts and high-water marks, its code bounds, page-table
    # bytes, and get_mm_counter() of each RSS counter (mm->rss_stat: atomic
    # counts before 6.2, per-CPU counters' shared count since).
    def mm_fields(mm):
        f = {m: mm.member_(m).value_() for m in ("hiwater_vm", "hiwater_rss", "locked_vm", "data_vm",
                                                   "stack_vm", "exec_vm", "start_code", "end_code")}
        f["pinned_vm"] = mm.pinned_vm.counter.value_()
        f["pgtables_bytes"] = mm.pgtables_bytes.counter.value_()
        rs = mm.rss_stat
        f["rss"] = {}
        for n in ("MM_FILEPAGES", "MM_ANONPAGES", "MM_SWAPENTS", "MM_SHMEMPAGES"):
            i = prog[n].value_()
            if rs.type_.kind == drgn.TypeKind.ARRAY:
                # a struct percpu_counter: the shared count and each
                # CPU's part not yet folded into it
                pc = rs[i]
                f["rss"][n] = {"count": pc.count.value_(),
                               "per_cpu": {str(c): per_cpu_ptr(pc.counters, c).value_() for c in possible}}
            else:
                f["rss"][n] = {"count": rs.count[i].counter.value_(), "per_cpu": {}}
        return f

    # kthread_data(): the struct kthread of a kernel thread is
    # task->worker_private since 5.17 ("kthread: Store kthread in
    # task_struct"), task->set_child_tid before; its data is a workqueue
    # worker's struct worker.
    def wq_worker(t):
        if has_member("struct task_struct", "worker_private"):
            kt = drgn.Object(prog, "struct kthread", address=t.worker_private.value_())
        else:
            kt = drgn.Object(prog, "struct kthread", address=t.set_child_tid.value_())
        w = drgn.cast("struct worker *", kt.data)
        return {"pool": w.pool.value_() != 0, "desc": w.desc.string_().decode(errors="replace"),
                "current_work": w.current_work.value_() != 0}

    # A task's command line as drgn's helper reads it: the argument area
    # (mm->arg_start..arg_end, through the task's page tables) split at its
    # NULs, the part after the last NUL dropped; each argument in latin-1
    # (one code point per byte). "absent" where the helper cannot read it
    # (no mm: kernel threads, zombies; the user pages not in the dump:
    # -d 31), never a guess. Beside it the raw values get_mm_cmdline()
    # (fs/proc/base.c) decides by that the helper does not look at:
    # env_end (0 before exec set it up), the area's bounds and its last
    # byte (not NUL: setproctitle() rewrote it); the tests apply the rule.
    def task_cmdline(t):
        try:
            args = cmdline(t)
            if args is None:  # newer drgn: no mm
                return "absent", "no mm"
            mm = t.mm
            start, end = mm.arg_start.value_(), mm.arg_end.value_()
            c = {"args": [a.decode("latin-1") for a in args], "env_end": mm.env_end.value_(),
                 "arg_start": start, "arg_end": end}
            if start < end:
                c["last_byte"] = access_remote_vm(mm, end - 1, 1)[0]
            return c, None
        except drgn.FaultError as e:
            return "absent", str(e)

    def read_tasks():
        tasks = []
        for leader in lst(prog["init_task"].tasks, "struct task_struct", "tasks"):
            for t in lst(leader.signal.thread_head, "struct task_struct", "thread_node"):
                row = {"pid": t.pid.value_(), "tgid": t.tgid.value_(), "comm": t.comm.string_().decode(errors="replace"),
                       "address": t.value_(), "ppid": t.real_parent.tgid.value_(),
                       "state": getattr(t, state_member).value_(), "exit_state": t.exit_state.value_(),
                       "flags": t.flags.value_(), "utime": t.utime.value_(), "stime": t.stime.value_(),
                       "min_flt": t.min_flt.value_(), "maj_flt": t.maj_flt.value_(),
                       "start_boottime": t.start_boottime.value_(), "static_prio": t.static_prio.value_(),
                       "prio": t.prio.value_(), "on_cpu": t.on_cpu.value_(),
                       "policy": t.policy.value_()}
                mm = t.mm
                if mm.value_():
                    row["total_vm"] = mm.total_vm.value_()
                    row["mm"] = mm_fields(mm)
                row["cmdline"], why = task_cmdline(t)
                if why is not None:
                    row["cmdline_error"] = why
                # a workqueue worker's description, which its comm shows
                # (wq_worker_comm(): "-desc", "+desc" while it runs a work)
                if row["flags"] & 0x20:  # PF_WQ_WORKER
                    row["wq"] = wq_worker(t)
                # block I/O delay (delayacct_blkio_ticks()), where accounted
                if has_member("struct task_struct", "delays") and t.delays.value_():
                    row["blkio_delay"] = t.delays.blkio_delay.value_()
                # what cputime_adjust() splits (procps' %CPU and C come from
                # the adjusted times): the precise run time and the last
                # reported split; for a leader also its group's exited
                # threads' (signal); vtime where a nohz_full CPU keeps some.
                # the CPU it last ran on and when it last arrived there
                # (sched_info.last_arrival, rq->clock's time)
                row["cpu"] = (t.thread_info.cpu if has_member("struct task_struct", "thread_info.cpu") else t.cpu).value_()
                row["last_arrival"] = t.sched_info.last_arrival.value_()
                row["nvcsw"] = t.nvcsw.value_()
                row["nivcsw"] = t.nivcsw.value_()
                row["sum_exec_runtime"] = t.se.sum_exec_runtime.value_()
                row["prev_cputime"] = [t.prev_cputime.utime.value_(), t.prev_cputime.stime.value_()]
                if t.pid.value_() == t.tgid.value_():
                    sg = t.signal
                    # and what do_task_stat() adds for the whole process:
                    # the exited threads' faults, the reaped children's
                    # faults and times
                    row["signal"] = {"utime": sg.utime.value_(), "stime": sg.stime.value_(),
                                     "sum_sched_runtime": sg.sum_sched_runtime.value_(),
                                     "prev_cputime": [sg.prev_cputime.utime.value_(), sg.prev_cputime.stime.value_()],
                                     "min_flt": sg.min_flt.value_(), "maj_flt": sg.maj_flt.value_(),
                                     "cmin_flt": sg.cmin_flt.value_(), "cmaj_flt": sg.cmaj_flt.value_(),
                                     "cutime": sg.cutime.value_(), "cstime": sg.cstime.value_()}
                if has_member("struct task_struct", "vtime"):
                    row["vtime"] = {"state": t.vtime.state.value_(), "utime": t.vtime.utime.value_(),
                                    "stime": t.vtime.stime.value_()}
                tasks.append(row)
        return tasks

    out["tasks"] = section("tasks", read_tasks)
    out["errors"] = errors

    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


main()
