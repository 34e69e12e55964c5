#!/usr/bin/env python3
"""Which pages of a running executable are resident, and whose code they hold.

Reads /proc/PID/maps and /proc/PID/pagemap for the mappings of the process's executable,
translates each resident page back to the executable's link-time addresses through its ELF
program headers, and attributes the resident bytes to the symbols of `nm -S` (and the rest
to the ELF section they fall in), grouped by component: protobuf, the generated CSI
messages, gRPC (with upb, re2, c-ares), abseil, polycsi, libstdc++ (templates instantiated
in the executable), other. A symbol's bytes count only where they lie in a resident page, so
a page shared by several symbols is split between them byte by byte.

  bench/resident_text.py PID [--binary PATH] [--top N] [--archives DIR]

Run it as root: without CAP_SYS_ADMIN the kernel still reports which pages are present, but
the figures of shared pages are the same either way, so root only matters for PFNs, which
this does not use. Needs `nm` and `c++filt` (binutils); reads no network. --archives names
the directory of the static archives the executable was linked from (default: Debian's
multiarch directory); symbols whose names give no component (C `static` functions of gRPC,
say) are looked up in them. bench/README.md ("Resident memory") shows what it found.
"""

import argparse
import bisect
import collections
import os
import re
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")

# Component of a demangled symbol name, first match wins. Generated CSI code comes before
# protobuf: its helpers are named after csi.proto.
PATTERNS = [
    ("csi messages", re.compile(r"^(csi::|.*_csi_2eproto|.*csi\.pb\.cc|.*csi\.grpc\.pb\.cc)")),
    ("protobuf", re.compile(r"^(google::protobuf::|.*_google_2fprotobuf_|descriptor_table_google|"
                            r"_GLOBAL__sub_I_.*\.pb\.cc)")),
    ("grpc", re.compile(r"^(grpc|gpr_|_grpc|upb_|_upb|re2::|ares_|ares__|address_sorting|tsi_|"
                        r"census|gpr::|grpc_core::|grpc_event_engine::|Json|"
                        r"_GLOBAL__sub_I_.*(grpc|chttp2|channel|resolver|lb_policy|server))")),
    ("absl", re.compile(r"^(absl::|_GLOBAL__sub_I_.*absl)")),
    ("polycsi", re.compile(r"^(polycsi::|main$|_GLOBAL__sub_I_.*\.cc$)")),
    ("libstdc++ (instantiated)", re.compile(r"^(std::|__gnu_cxx::|void std::|bool std::|"
                                            r"__cxx|operator|typeinfo|vtable for std|"
                                            r"guard variable for std)")),
]
ARCHIVE_COMPONENTS = [
    ("protobuf", re.compile(r"^libprotobuf(-lite)?\.a$")),
    ("grpc", re.compile(r"^lib(grpc.*|gpr|upb|re2|cares|address_sorting)\.a$")),
    ("absl", re.compile(r"^libabsl_.*\.a$")),
]
# Words inside a demangled name that say whose template instantiation it is, for names the
# patterns above leave to "other" or libstdc++ ("vtable for grpc::Foo", "std::vector<absl::..>").
# polycsi first: a template over polycsi's types (or a lambda in a polycsi function, whatever
# its arguments) was instantiated by polycsi's code.
INNER = [("polycsi", "polycsi::"), ("csi messages", "csi::v1::"),
         ("protobuf", "google::protobuf::"), ("grpc", "grpc"), ("absl", "absl::")]


def parse_elf(path):
    """Program headers (PT_LOAD) and section headers of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        sys.exit(f"resident_text: {path} is not a 64-bit little-endian ELF file")
    (phoff, shoff) = struct.unpack_from("<QQ", data, 0x20)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from("<HHHHH", data, 0x36)
    loads = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz = struct.unpack_from(
            "<IIQQQQQ", data, phoff + i * phentsize)
        if p_type == 1:  # PT_LOAD
            loads.append((p_offset, p_vaddr, p_filesz))
    raw = []
    for i in range(shnum):
        name, _type, flags, addr, _off, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize)
        raw.append((name, flags, addr, size))
    str_off = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)[0]
    sections = []
    for name, flags, addr, size in raw:
        if flags & 0x2 and size:  # SHF_ALLOC
            end = data.index(b"\0", str_off + name)
            sections.append((addr, addr + size, data[str_off + name:end].decode()))
    return loads, sorted(sections)


def resident_ranges(pid, exe, loads):
    """Link-time address ranges of the executable's resident pages, as [start, end, private]."""
    ranges = []
    bias = None
    first_offset, first_vaddr, _ = min(loads)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or fields[5].strip() not in (exe, exe + " (deleted)"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if bias is None:
                # The first mapping holds the first PT_LOAD: run-time minus link-time address.
                if int(fields[2], 16) != first_offset & ~(PAGE - 1):
                    sys.exit("resident_text: the first mapping of the executable is not its "
                             "first load segment")
                bias = start - (first_vaddr & ~(PAGE - 1))
            pages = (end - start) // PAGE
            pagemap.seek(start // PAGE * 8)
            entries = struct.unpack(f"<{pages}Q", pagemap.read(pages * 8))
            for i, entry in enumerate(entries):
                if entry >> 63 & 1:  # present
                    vaddr = start + i * PAGE - bias
                    # Bit 61: a file page (or shared anonymous); clear once copied on write.
                    ranges.append([vaddr, vaddr + PAGE, not entry >> 61 & 1])
    ranges.sort()
    return ranges


def read_symbols(binary):
    """(address, size, mangled, demangled) of every sized symbol, one per address."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    rows = []
    for line in out:
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and int(parts[1], 16) > 0:
            rows.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
    demangled = subprocess.run(["c++filt"], input="\n".join(r[2] for r in rows), check=True,
                               capture_output=True, text=True).stdout.splitlines()
    seen = {}
    for (addr, size, name), plain in zip(rows, demangled):
        if addr not in seen or size > seen[addr][1]:
            seen[addr] = (addr, size, name, plain)
    return sorted(seen.values())


def archive_index(directory):
    """Mangled symbol name -> component, from the static archives in `directory`."""
    index = {}
    if not directory or not os.path.isdir(directory):
        return index
    for component, pattern in ARCHIVE_COMPONENTS:
        archives = sorted(os.path.join(directory, f) for f in os.listdir(directory)
                          if pattern.match(f))
        if not archives:
            continue
        out = subprocess.run(["nm", "--defined-only", *archives], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3:
                index.setdefault(parts[2], component)
    return index


def component_of(mangled, plain, archives):
    base = plain.removeprefix("vtable for ").removeprefix("typeinfo for ")
    base = base.removeprefix("typeinfo name for ").removeprefix("guard variable for ")
    base = base.removeprefix("non-virtual thunk to ").removeprefix("construction vtable for ")
    for name, pattern in PATTERNS:
        if pattern.match(base):
            if name == "libstdc++ (instantiated)":
                break
            return name
    if mangled in archives:
        return archives[mangled]
    # A template of the standard library instantiated for one component's types: that one.
    for name, word in INNER:
        if word in base:
            return name
    for name, pattern in PATTERNS:
        if pattern.match(base):
            return name
    return "other"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("--binary", help="the executable's file (default: /proc/PID/exe)")
    parser.add_argument("--top", type=int, default=0,
                        help="also list the N symbols with the most resident bytes")
    parser.add_argument("--archives", default="/usr/lib/x86_64-linux-gnu",
                        help="directory of the static archives ('' for none)")
    args = parser.parse_args()

    exe = os.readlink(f"/proc/{args.pid}/exe").removesuffix(" (deleted)")
    binary = args.binary or exe
    loads, sections = parse_elf(binary)
    ranges = resident_ranges(args.pid, exe, loads)
    starts = [r[0] for r in ranges]

    def overlap(lo, hi):
        """Resident bytes in [lo, hi)."""
        total = 0
        i = max(bisect.bisect_right(starts, lo) - 1, 0)
        while i < len(ranges) and ranges[i][0] < hi:
            total += max(0, min(hi, ranges[i][1]) - max(lo, ranges[i][0]))
            i += 1
        return total

    archives = archive_index(args.archives)
    by_component = collections.Counter()
    by_component_size = collections.Counter()
    per_section_symbols = collections.Counter()
    section_starts = [s[0] for s in sections]
    top = []
    for addr, size, mangled, plain in read_symbols(binary):
        component = component_of(mangled, plain, archives)
        by_component_size[component] += size
        resident = overlap(addr, addr + size)
        if not resident:
            continue
        by_component[component] += resident
        i = bisect.bisect_right(section_starts, addr) - 1
        if i >= 0 and addr < sections[i][1]:
            per_section_symbols[sections[i][2]] += resident
        top.append((resident, component, plain))

    kib = 1024
    total = sum(r[1] - r[0] for r in ranges)
    private = sum(r[1] - r[0] for r in ranges if r[2])
    print(f"{binary}: {total / kib:.0f} KiB resident in {len(ranges)} pages "
          f"({private / kib:.0f} KiB of them private copies: relocated data)")
    print("\nby section (KiB resident / KiB in file; 'no symbol' = resident bytes no sized "
          "symbol covers)")
    for lo, hi, name in sections:
        resident = overlap(lo, hi)
        if resident >= kib // 2:
            unnamed = resident - per_section_symbols[name]
            print(f"  {name:<24} {resident / kib:8.0f} / {(hi - lo) / kib:8.0f}"
                  f"   no symbol {unnamed / kib:6.0f}")
    print("\nby component (KiB of symbols resident / KiB of symbols in the file)")
    for component, resident in by_component.most_common():
        print(f"  {component:<26} {resident / kib:8.0f} / {by_component_size[component] / kib:8.0f}")
    named = sum(by_component.values())
    print(f"  {'(no symbol)':<26} {(total - named) / kib:8.0f}")
    if args.top:
        print(f"\nthe {args.top} symbols with the most resident bytes")
        for resident, component, plain in sorted(top, reverse=True)[:args.top]:
            print(f"  {resident / kib:7.1f} KiB  {component:<14} {plain[:110]}")


if __name__ == "__main__":
    main()
