#!/usr/bin/env python3
"""Turns bench/results/*.json into bench/results/summary.json, PNG plots (gnuplot) and the
results table in bench/README.md (between the results markers).

Each CSI figure is the median over the runs of bench/run.sh; each target is judged on a ratio
to, or next to, a baseline measured in the same run.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys

BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"


def load(path):
    with open(path) as f:
        return json.load(f)


def runs(results, driver):
    paths = sorted(glob.glob(os.path.join(results, f"csi-{driver}-run*.json")))
    if not paths:
        sys.exit(f"report: no {results}/csi-{driver}-run*.json (run bench/run.sh)")
    return [load(p) for p in paths]


def level(run, scenario, concurrency):
    for entry in run["levels"]:
        if entry["scenario"] == scenario and entry["concurrency"] == concurrency:
            return entry
    return None


def rpc_figure(csi_runs, scenario, concurrency, rpc, pick):
    values = []
    for run in csi_runs:
        entry = level(run, scenario, concurrency)
        if entry is None:
            continue
        for r in entry["rpcs"]:
            if r["rpc"] == rpc and r["calls"] > 0:
                values.append(pick(r))
    return statistics.median(values) if values else None


def level_figure(csi_runs, scenario, concurrency, key):
    values = [level(r, scenario, concurrency)[key] for r in csi_runs
              if level(r, scenario, concurrency) is not None]
    return statistics.median(values) if values else None


def rpc_names(csi_runs, scenario):
    names = []
    for run in csi_runs:
        for entry in run["levels"]:
            if entry["scenario"] == scenario:
                for r in entry["rpcs"]:
                    if r["rpc"] not in names:
                        names.append(r["rpc"])
    return names


def gbench_error(path, name):
    """The error a Google Benchmark run reported for `name`, or None."""
    for b in load(path)["benchmarks"]:
        if b.get("run_name", b.get("name")) == name and b.get("error_occurred"):
            return b.get("error_message", "error")
    return None


def gbench_median(path, name):
    data = load(path)
    for b in data["benchmarks"]:
        if b.get("run_name") == name and b.get("aggregate_name") == "median":
            return b["real_time"], b["time_unit"]
    for b in data["benchmarks"]:
        if b.get("name") == name:
            return b["real_time"], b["time_unit"]
    sys.exit(f"report: {path} has no benchmark {name}")


def to_ms(value, unit):
    return value * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def plot(results, sample_runs, rds_runs, disk_runs):
    """latency-c1.png: p50/p99 of every RPC at concurrency 1 (sample); throughput.png:
    scenario iterations per second against concurrency."""
    data = os.path.join(results, "latency-c1.dat")
    with open(data, "w") as f:
        f.write("# label p50_ms p99_ms\n")
        for scenario in ("probe", "create-delete", "lifecycle", "migration"):
            for rpc in rpc_names(sample_runs, scenario):
                p50 = rpc_figure(sample_runs, scenario, 1, rpc, lambda r: r["latency_ms"]["p50"])
                p99 = rpc_figure(sample_runs, scenario, 1, rpc, lambda r: r["latency_ms"]["p99"])
                if p50 is not None:
                    label = f"{scenario[0]}:{rpc}".replace("ControllerPublishVolume", "CtrlPublish") \
                        .replace("ControllerUnpublishVolume", "CtrlUnpublish").replace("Volume", "")
                    f.write(f"\"{label}\" {p50} {p99}\n")
    tput = os.path.join(results, "throughput.dat")
    levels = sorted({e["concurrency"] for e in sample_runs[0]["levels"]})
    columns = [("sample", s) for s in ("probe", "create-delete", "lifecycle", "migration")] + \
              [("disk", "create-delete")] + [("rds", s) for s in ("create-delete", "migration")]
    with open(tput, "w") as f:
        f.write("# concurrency " + " ".join(f"{d}:{s}" for d, s in columns) + "\n")
        for c in levels:
            row = []
            for driver, scenario in columns:
                source = {"sample": sample_runs, "disk": disk_runs, "rds": rds_runs}[driver]
                v = level_figure(source, scenario, c, "iterations_per_second")
                row.append("NaN" if v is None else str(v))
            f.write(f"{c} " + " ".join(row) + "\n")
    script = f"""
set terminal pngcairo size 1200,600 noenhanced
set output '{results}/latency-c1.png'
set title 'polycsi + sample (tmpfs), concurrency 1: latency per RPC (median of runs)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'ms'
set xtics rotate by -45 scale 0
set key top left
plot '{data}' using 2:xtic(1) title 'p50', '' using 3 title 'p99'
set output '{results}/throughput.png'
set title 'scenario iterations per second against client concurrency (median of runs)'
set style data linespoints
set logscale x 2
set xrange [0.8:90]
set logscale y 10
set xlabel 'concurrency'
set ylabel 'iterations / s'
set xtics ({", ".join(str(c) for c in levels)}) rotate by 0
set key outside right
plot for [i=2:{len(columns) + 1}] '{tput}' using 1:i title columnheader(i)
"""
    # columnheader needs a header row without '#': write one for gnuplot.
    with open(tput) as f:
        lines = f.read().splitlines()
    lines[0] = "concurrency " + " ".join(f"{d}:{s}" for d, s in columns)
    with open(tput, "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def comparison_lines(results, polycsi_runs, polycsi_memory):
    """The table of polycsi against the second CSI driver of this run (csi-other-run*.json and
    other.json from bench/run.sh), or a line saying that there was none."""
    other_path = os.path.join(results, "other.json")
    other_paths = sorted(glob.glob(os.path.join(results, "csi-other-run*.json")))
    if not os.path.exists(other_path) or not other_paths:
        return ["No second CSI driver answered on this machine in this run, so there is no "
                "comparison (`bench/run.sh --compare-endpoint unix:///path/csi.sock` names one)."]
    other = load(other_path)
    other_runs = [load(p) for p in other_paths]
    lines = [f"polycsi + sample against {other['name']} {other['version']} "
             f"(`{other['endpoint']}`), the same scenarios in the same run, medians of "
             f"{len(other_runs)} runs; ratio = polycsi / other (below 1 is better for latency, "
             "above 1 for calls/s):", "",
             "| scenario | RPC | concurrency | polycsi p50 ms | other p50 ms | ratio | "
             "polycsi calls/s | other calls/s | ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario in ("probe", "create-delete"):
        for rpc in rpc_names(other_runs, scenario):
            for c in (1, 8, 64):
                mine = rpc_figure(polycsi_runs, scenario, c, rpc, lambda r: r["latency_ms"]["p50"])
                theirs = rpc_figure(other_runs, scenario, c, rpc, lambda r: r["latency_ms"]["p50"])
                mine_cps = rpc_figure(polycsi_runs, scenario, c, rpc,
                                      lambda r: r["calls_per_second"])
                theirs_cps = rpc_figure(other_runs, scenario, c, rpc,
                                        lambda r: r["calls_per_second"])
                if theirs is None:
                    continue
                ratio = mine / theirs if mine is not None and theirs else None
                cps_ratio = mine_cps / theirs_cps if mine_cps is not None and theirs_cps else None
                lines.append(f"| {scenario} | {rpc} | {c} | {fmt(mine, 3)} | {fmt(theirs, 3)} | "
                             f"{fmt(ratio)} | {fmt(mine_cps, 0)} | {fmt(theirs_cps, 0)} | "
                             f"{fmt(cps_ratio)} |")
    for when in ("idle", "after_scenarios"):
        if other.get(when) and polycsi_memory.get(when):
            mine, theirs = polycsi_memory[when]["vm_rss_mib"], other[when]["vm_rss_mib"]
            lines.append(f"| memory {when.replace('_', ' ')} | VmRSS MiB | | {mine:.1f} | "
                         f"{theirs:.1f} | {mine / theirs:.2f} | | | |")
    if not other.get("idle"):
        lines += ["", "The other driver's process was not visible here (`ss -xlp`), so its "
                  "memory is not compared."]
    return lines


def machine_note(results):
    """Cores and load average as run.sh recorded them; runs before it did say only the cores."""
    path = os.path.join(results, "machine.json")
    if not os.path.exists(path):
        return f"{os.cpu_count()} cores"
    with open(path) as f:
        machine = json.load(f)
    return (f"{machine['cores']} cores; 1-minute load average {machine['load_average_1min_at_start']}"
            f" at the start, {machine['load_average_1min_at_end']} at the end")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True)
    parser.add_argument("--readme", help="README whose results section is rewritten")
    parser.add_argument("--compare-only", action="store_true",
                        help="print only the comparison with the second CSI driver")
    args = parser.parse_args()
    results = os.path.abspath(args.results)
    if args.compare_only:
        lines = comparison_lines(results, runs(results, "sample-compare"),
                                 load(os.path.join(results, "memory-sample-compare.json")))
        print("\n".join(lines))
        return
    if not args.readme:
        sys.exit("report: --readme is required unless --compare-only")

    sample_runs = runs(results, "sample")
    rds_runs = runs(results, "rds")
    disk_runs = runs(results, "sample-disk")
    driver = load(os.path.join(results, "driver.json"))
    memory = load(os.path.join(results, "memory-sample.json"))
    parser_path = os.path.join(results, "parser.json")
    parser_name = "BM_ParseDiskPrintDetail/{}/process_time/real_time"
    parser_error = gbench_error(parser_path, parser_name.format(10000))
    parser_ms = None if parser_error else to_ms(*gbench_median(parser_path,
                                                               parser_name.format(10000)))
    parser_100_ms = to_ms(*gbench_median(parser_path, parser_name.format(100)))
    # The SSH benchmark at rds-sim latency 0 and at the scan's latency (rds-pool-scan.json).
    scan = load(os.path.join(results, "rds-pool-scan.json"))
    latency = scan["latency_ms"]
    ssh_name = "BM_{}/{}/min_time:2.000/real_time"
    pooled_ms = to_ms(*gbench_median(os.path.join(results, "ssh.json"),
                                     ssh_name.format("PooledSession", latency)))
    fresh_ms = to_ms(*gbench_median(os.path.join(results, "ssh.json"),
                                    ssh_name.format("FreshConnection", latency)))
    pooled0_ms = to_ms(*gbench_median(os.path.join(results, "ssh.json"),
                                      ssh_name.format("PooledSession", 0)))
    fresh0_ms = to_ms(*gbench_median(os.path.join(results, "ssh.json"),
                                     ssh_name.format("FreshConnection", 0)))

    steady_ms = to_ms(*gbench_median(os.path.join(results, "reconcile.json"),
                                     "BM_ReconcileSteady/10000/iterations:3/real_time"))
    rebuild_ms = to_ms(*gbench_median(os.path.join(results, "reconcile.json"),
                                      "BM_ReconcileRebuild/10000/iterations:3/real_time"))
    probe1 = rpc_figure(sample_runs, "probe", 1, "Probe", lambda r: r["latency_ms"]["p50"])
    # Driver overhead: the controller RPCs of scenarios b and d, whose storage work on tmpfs is
    # a few file operations, as multiples of the Probe round trip.
    overhead = []
    for scenario in ("create-delete", "migration"):
        for rpc in rpc_names(sample_runs, scenario):
            ratio = rpc_figure(sample_runs, scenario, 1, rpc, lambda r: r["p50_over_probe_p50"])
            p50 = rpc_figure(sample_runs, scenario, 1, rpc, lambda r: r["latency_ms"]["p50"])
            overhead.append((f"{scenario} {rpc}", p50, ratio))
    worst = max(overhead, key=lambda o: o[2])
    cd1 = level_figure(disk_runs, "create-delete", 1, "iterations_per_second")
    cd64 = level_figure(disk_runs, "create-delete", 64, "iterations_per_second")
    tmpfs1 = level_figure(sample_runs, "create-delete", 1, "iterations_per_second")
    tmpfs64 = level_figure(sample_runs, "create-delete", 64, "iterations_per_second")
    list_default = next(l for l in driver["scale"]["list"] if l["max_entries"] == 0)
    list_1000 = next(l for l in driver["scale"]["list"] if l["max_entries"] == 1000)

    targets = [
        ("driver overhead per call, concurrency 1 (worst controller RPC p50 / Probe p50)",
         f"{worst[2]:.2f}x ({worst[0]}: {worst[1]:.3f} ms)", f"Probe p50 {probe1:.3f} ms",
         "<= 2x", worst[2] <= 2.0),
        ("create+delete throughput, 64 vs 1 (sample, volumes on disk)",
         f"{cd64 / cd1:.1f}x ({cd64:.0f}/s vs {cd1:.0f}/s)",
         f"on tmpfs (CPU-bound, 2 cores): {tmpfs64 / tmpfs1:.1f}x ({tmpfs64:.0f}/s vs "
         f"{tmpfs1:.0f}/s)", ">= 8x", cd64 / cd1 >= 8.0),
        ("resident memory idle (VmRSS)", f"{memory['idle']['vm_rss_mib']:.1f} MiB",
         f"of it private (RssAnon) {memory['idle']['rss_anon_mib']:.1f} MiB, the rest pages of "
         f"the executable and shared libraries; driver-bench idle "
         f"{driver['memory_idle']['vm_rss_mib']:.1f} MiB", "<= 12 MiB",
         memory["idle"]["vm_rss_mib"] <= 12.0),
        ("resident memory peak (VmHWM) after scenarios a-d at 1/8/64",
         f"{memory['after_scenarios']['vm_hwm_mib']:.1f} MiB",
         f"private (RssAnon) after them {memory['after_scenarios']['rss_anon_mib']:.1f} MiB; "
         f"with {driver['scale']['volumes']} volumes: "
         f"{driver['memory_loaded']['vm_hwm_mib']:.1f} MiB", "<= 24 MiB",
         memory["after_scenarios"]["vm_hwm_mib"] <= 24.0),
        ("exec to served Probe (median)", f"{driver['startup']['exec_to_probe_ms_median']:.1f} ms",
         f"`polycsi --version` (loading its libraries only) "
         f"{driver['startup']['baseline_polycsi_version_ms_median']:.1f} ms; /bin/true "
         f"{driver['startup']['baseline_spawn_true_ms_median']:.2f} ms",
         "< 20 ms", driver["startup"]["exec_to_probe_ms_median"] < 20.0),
        (f"SSH command, pooled session vs fresh connection (rds-sim {latency} ms per command)",
         f"{fresh_ms / pooled_ms:.2f}x ({pooled_ms:.2f} ms vs {fresh_ms:.2f} ms)",
         f"both against rds-sim in the same run; answering at once: "
         f"{fresh0_ms / pooled0_ms:.1f}x ({pooled0_ms:.3f} ms vs {fresh0_ms:.2f} ms)", ">= 20x",
         fresh_ms / pooled_ms >= 20.0),
        *[(f"rds_nvme create+delete, 64 vs 1 concurrent, pool_size {p['pool_size']} "
           f"(rds-sim {latency} ms per command)",
           f"{p['ratio']:.2f}x ({p['c64']['iterations_per_second']:.1f}/s vs "
           f"{p['c1']['iterations_per_second']:.1f}/s)",
           f"c64 p50 CreateVolume {p['c64']['create_p50_ms']:.0f} ms, c1 "
           f"{p['c1']['create_p50_ms']:.0f} ms", f">= {p['goal']:.1f}x (0.7 x pool_size)",
           p["met"]) for p in scan["pools"]],
        (f"ListVolumes, {driver['scale']['volumes']} volumes, every page (driver's page size)",
         f"{list_default['total_ms_median']:.0f} ms in {list_default['pages']} pages",
         f"max_entries 1000: {list_1000['total_ms_median']:.0f} ms in {list_1000['pages']} pages",
         "< 1000 ms", list_default["total_ms_median"] < 1000.0),
        ("RouterOS print parser, 10,000 disks (median)",
         f"not measured: {parser_error}" if parser_error else f"{parser_ms:.1f} ms",
         f"100 disks: {parser_100_ms:.2f} ms", "< 50 ms",
         parser_ms is not None and parser_ms < 50.0),
    ]
    summary = {
        "targets": [{"target": t[0], "measured": t[1], "baseline": t[2], "goal": t[3],
                     "met": t[4]} for t in targets],
        "driver_overhead_c1": [{"rpc": o[0], "p50_ms": o[1], "over_probe": o[2]}
                               for o in overhead],
        "scale": driver["scale"],
        "startup": driver["startup"],
        "reconcile_ms": {"steady_10000": steady_ms, "rebuild_10000": rebuild_ms},
    }
    with open(os.path.join(results, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    plot(results, sample_runs, rds_runs, disk_runs)

    lines = [BEGIN, "",
             f"Measured {sample_runs[0]['started_at']} on this machine ({machine_note(results)}); "
             f"CSI figures are medians of {len(sample_runs)} runs.", "",
             "| target | measured | baseline (same run) | goal | met |", "|---|---|---|---|---|"]
    for t in targets:
        lines.append(f"| {t[0]} | {t[1]} | {t[2]} | {t[3]} | {'met' if t[4] else 'missed'} |")
    lines += ["", "Per RPC at concurrency 1 and 64, polycsi + sample on tmpfs (p50 / p99 ms, "
              "calls/s, p50 as a multiple of Probe p50 at the same concurrency):", "",
              "| scenario | RPC | c1 p50 | c1 p99 | c1 xProbe | c64 p50 | c64 p99 | c64 calls/s |",
              "|---|---|---|---|---|---|---|---|"]
    for scenario in ("probe", "create-delete", "lifecycle", "migration"):
        for rpc in rpc_names(sample_runs, scenario):
            g = lambda c, k: rpc_figure(sample_runs, scenario, c, rpc, lambda r: r["latency_ms"][k])
            x = rpc_figure(sample_runs, scenario, 1, rpc, lambda r: r["p50_over_probe_p50"])
            cps = rpc_figure(sample_runs, scenario, 64, rpc, lambda r: r["calls_per_second"])
            lines.append(f"| {scenario} | {rpc} | {fmt(g(1, 'p50'), 3)} | {fmt(g(1, 'p99'), 3)} | "
                         f"{fmt(x)} | {fmt(g(64, 'p50'), 3)} | {fmt(g(64, 'p99'), 3)} | "
                         f"{fmt(cps, 0)} |")
    lines += ["", "polycsi + rds_nvme (controller) against rds-sim over SSH:", "",
              "| scenario | RPC | c1 p50 | c1 xProbe | c64 p50 | c64 calls/s |",
              "|---|---|---|---|---|---|"]
    for scenario in ("probe", "create-delete", "migration"):
        for rpc in rpc_names(rds_runs, scenario):
            g = lambda c, k: rpc_figure(rds_runs, scenario, c, rpc, lambda r: r["latency_ms"][k])
            x = rpc_figure(rds_runs, scenario, 1, rpc, lambda r: r["p50_over_probe_p50"])
            cps = rpc_figure(rds_runs, scenario, 64, rpc, lambda r: r["calls_per_second"])
            lines.append(f"| {scenario} | {rpc} | {fmt(g(1, 'p50'), 3)} | {fmt(x)} | "
                         f"{fmt(g(64, 'p50'), 3)} | {fmt(cps, 0)} |")
    s = driver["scale"]
    lines += ["", f"Scale ({s['volumes']} volumes, sample on tmpfs, {s['threads']} client threads): "
              f"create {s['create_seconds']:.1f} s ({s['creates_per_second']:.0f}/s), publish "
              f"{s['publish_seconds']:.1f} s ({s['publishes_per_second']:.0f}/s), restart to a "
              f"served Probe with every volume attached {s['restart_exec_to_probe_ms_median']:.1f} ms "
              f"(median), Probe afterwards {s['probe_round_trip_ms_median_after_restart']:.3f} ms. "
              f"VolumeAttachment reconciliation of 10000 attachments (fake API on loopback): "
              f"{steady_ms:.0f} ms per periodic pass, {rebuild_ms:.0f} ms to rebuild a lost store.",
              "", *comparison_lines(results, sample_runs, memory),
              "", "![latency at concurrency 1](results/latency-c1.png)",
              "![throughput](results/throughput.png)", "", END]
    with open(args.readme) as f:
        text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + "\n".join(lines) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    with open(args.readme, "w") as f:
        f.write(text)
    for t in targets:
        print(f"{'met   ' if t[4] else 'MISSED'} {t[0]}: {t[1]} (goal {t[3]}; {t[2]})")


if __name__ == "__main__":
    main()
