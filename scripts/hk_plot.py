#!/usr/bin/python3
"""Figures of an `hk sweep` directory (runs.jsonl + sweep.json), written next to the data.

  time_per_mix    median time per mix at the full core budget, stacked compute / comm / other
  strong_scaling  speedup and parallel efficiency against cores, one line per mix family, ideal line
  weak_scaling    weak-scaling efficiency against cores (only when the sweep ran --scaling weak)
  memory          sum of the per-rank peak RSS per mix at the full core budget
  rate_heatmap    ranks x threads map of the headline rate

Failed configurations (any status but ok) are drawn as missing, labelled with their status,
never as zero. Run with a Python that has matplotlib (Debian: /usr/bin/python3).
"""
import argparse
import json
import math
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write(
        "hk_plot: error: matplotlib is not available to %s; use a Python that has it "
        "(Debian: apt-get install python3-matplotlib, then hk plot --python /usr/bin/python3)\n" % sys.executable
    )
    sys.exit(3)

MIB = 1024.0 * 1024.0
PHASE_COLOURS = {"compute": "#4C72B0", "comm": "#DD8452", "other": "#A5A5A5"}


def read_runs(path):
    """Records of runs.jsonl; a partial or broken line is skipped with a note."""
    records = []
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    lines = data.split("\n")
    if lines and lines[-1] != "":
        sys.stderr.write("hk_plot: note: %s: partial last line skipped\n" % path)
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            sys.stderr.write("hk_plot: note: %s:%d: not JSON, skipped\n" % (path, number))
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def sweep_of(record):
    return record.get("sweep") or {}


def latest_per_configuration(records):
    """The last record of each (kernel, variant, params, mix, weak factor): a resumed or repeated
    sweep supersedes earlier attempts."""
    latest = {}
    for r in records:
        key = (
            r.get("kernel"),
            r.get("variant"),
            json.dumps(r.get("params"), sort_keys=True),
            r.get("ranks"),
            r.get("threads"),
            sweep_of(r).get("weak_factor", 1.0),
        )
        latest[key] = r
    return list(latest.values())


def panel_name(record):
    return "%s [%s]" % (record.get("kernel"), record.get("variant"))


def group_by_panel(records):
    panels = {}
    for r in records:
        panels.setdefault(panel_name(r), []).append(r)
    return dict(sorted(panels.items()))


def ok(record):
    return record.get("status") == "ok" and (record.get("time_s") or {}).get("median") is not None


def mix_label(record):
    return "%dx%d" % (record.get("ranks", 0), record.get("threads", 0))


def params_text(records):
    texts = []
    for name, rs in group_by_panel(records).items():
        params = dict(rs[0].get("params") or {})
        shown = ", ".join("%s=%s" % (k, v) for k, v in sorted(params.items()))
        texts.append("%s: %s" % (name, shown))
    return "; ".join(texts)


def subtitle(sweep, records):
    machine = sweep.get("machine") or {}
    host = machine.get("hostname") or ((records[0].get("provenance") or {}).get("hostname") if records else "?")
    cpu = machine.get("cpu_model") or "CPU model unknown"
    cores = machine.get("cores", "?")
    date = (sweep.get("started_at") or "")[:10] or ((records[0].get("provenance") or {}).get("started_at", "")[:10])
    reps = records[0].get("reps") if records else "?"
    return "%s (%s, %s physical cores), %s, median of %s reps\n%s" % (
        host,
        cpu,
        cores,
        date,
        reps,
        params_text(records),
    )


def finish(fig, directory, name, formats, written):
    for fmt in formats:
        path = os.path.join(directory, "%s.%s" % (name, fmt))
        fig.savefig(path, dpi=130, bbox_inches="tight")
        written.append(path)
    plt.close(fig)


def panel_grid(count, width=5.2, height=4.0, rows=1):
    columns = max(1, count)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows + 0.9), squeeze=False,
                             constrained_layout=True)
    return fig, axes


def failed_marker(ax, x, record, y=0.0):
    ax.annotate(
        "%s\n(not measured)" % record.get("status", "?"),
        (x, y),
        xytext=(0, 6),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=8,
        color="#C44E52",
    )
    ax.plot([x], [y], marker="x", color="#C44E52", markersize=9, linestyle="none")


def full_budget(records, budget):
    return [
        r
        for r in records
        if sweep_of(r).get("weak_factor", 1.0) == 1.0 and r.get("ranks", 0) * r.get("threads", 0) == budget
    ]


def plot_time_per_mix(records, sweep, budget, directory, formats, written):
    chosen = full_budget(records, budget)
    panels = group_by_panel(chosen)
    if not panels:
        return
    fig, axes = panel_grid(len(panels))
    for ax, (name, rs) in zip(axes[0], panels.items()):
        rs = sorted(rs, key=lambda r: -r.get("ranks", 0))
        labels = [mix_label(r) for r in rs]
        xs = list(range(len(rs)))
        bottoms = [0.0] * len(rs)
        for phase in ("compute", "comm", "other"):
            heights = []
            for r in rs:
                value = (r.get("phases_s") or {}).get(phase) if ok(r) else None
                heights.append(value if value is not None else float("nan"))
            ax.bar(xs, [0 if math.isnan(h) else h for h in heights], bottom=bottoms, color=PHASE_COLOURS[phase],
                   label=phase, width=0.6)
            bottoms = [b + (0 if math.isnan(h) else h) for b, h in zip(bottoms, heights)]
        for x, r in zip(xs, rs):
            if ok(r):
                ax.annotate("%.3g s" % r["time_s"]["median"], (x, bottoms[x]), xytext=(0, 3),
                            textcoords="offset points", ha="center", fontsize=8)
            else:
                failed_marker(ax, x, r)
        ax.set_xticks(xs)
        ax.set_xticklabels(labels)
        ax.set_xlabel("mix (ranks x threads), %d cores" % budget)
        ax.set_ylabel("time per repetition (s), median rep")
        ax.set_title(name)
        # Headroom above the tallest bar for its label and the legend, side by side.
        ax.set_ylim(0, max(bottoms + [1e-9]) * 1.6)
        ax.legend(title="phase (max over ranks)", fontsize=8, loc="upper center", ncol=3)
    fig.suptitle("Time per mix at the full core budget\n" + subtitle(sweep, chosen), fontsize=9)
    finish(fig, directory, "time_per_mix", formats, written)


def family_members(rs, family):
    return [r for r in rs if family in (sweep_of(r).get("families") or [r.get("threads")])]


def family_label(family, budget):
    if family == 1:
        return "1 thread/rank (pure MPI)"
    if family == budget:
        return "%d threads, 1 rank (pure OpenMP)" % family
    return "%d threads/rank" % family


def plot_strong_scaling(records, sweep, budget, directory, formats, written, notes):
    strong = [r for r in records if sweep_of(r).get("scaling") == "strong"]
    panels = group_by_panel(strong)
    if not panels:
        notes.append("no strong-scaling runs (hk sweep ... --scaling strong): strong_scaling not drawn")
        return
    fig, axes = panel_grid(len(panels), rows=2, height=3.6)
    for column, (name, rs) in enumerate(panels.items()):
        speed_ax, eff_ax = axes[0][column], axes[1][column]
        base = [r for r in rs if r.get("ranks") == 1 and r.get("threads") == 1]
        families = sorted({f for r in rs for f in (sweep_of(r).get("families") or [])})
        max_cores = max(r.get("ranks", 1) * r.get("threads", 1) for r in rs)
        ideal = [1, max_cores]
        speed_ax.plot(ideal, ideal, linestyle="--", color="black", linewidth=1, label="ideal")
        eff_ax.plot(ideal, [100, 100], linestyle="--", color="black", linewidth=1, label="ideal")
        if not base or not ok(base[-1]):
            speed_ax.text(0.5, 0.5, "1x1 baseline failed or missing:\nno speedup to show", ha="center",
                          transform=speed_ax.transAxes, color="#C44E52")
        else:
            t1 = base[-1]["time_s"]["median"]
            for family in families:
                members = sorted(family_members(rs, family), key=lambda r: r.get("ranks", 1) * r.get("threads", 1))
                cores, speedups, efficiencies = [], [], []
                for r in members:
                    c = r.get("ranks", 1) * r.get("threads", 1)
                    cores.append(c)
                    if ok(r):
                        s = t1 / r["time_s"]["median"]
                        speedups.append(s)
                        efficiencies.append(100.0 * s / c)
                    else:
                        speedups.append(float("nan"))
                        efficiencies.append(float("nan"))
                        failed_marker(speed_ax, c, r, 1.0)
                line, = speed_ax.plot(cores, speedups, marker="o", label=family_label(family, budget))
                eff_ax.plot(cores, efficiencies, marker="o", color=line.get_color(), label=family_label(family, budget))
                for c, s, r in zip(cores, speedups, members):
                    if not math.isnan(s):
                        speed_ax.annotate(mix_label(r), (c, s), xytext=(4, -10), textcoords="offset points", fontsize=7)
        for ax in (speed_ax, eff_ax):
            ax.set_xscale("log", base=2)
            ticks = sorted({r.get("ranks", 1) * r.get("threads", 1) for r in rs})
            ax.set_xticks(ticks)
            ax.set_xticklabels([str(t) for t in ticks])
            ax.set_xlabel("cores (ranks x threads)")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7, title="mix family")
        speed_ax.set_ylabel("speedup over 1x1 (times)")
        eff_ax.set_ylabel("parallel efficiency (%)")
        top = max([l for line in eff_ax.get_lines() for l in line.get_ydata() if not math.isnan(l)] + [100])
        eff_ax.set_ylim(0, max(120, top * 1.1))
        speed_ax.set_title(name)
    fig.suptitle("Strong scaling: fixed problem, growing core count\n" + subtitle(sweep, strong), fontsize=9)
    finish(fig, directory, "strong_scaling", formats, written)


def plot_weak_scaling(records, sweep, budget, directory, formats, written):
    weak = [r for r in records if sweep_of(r).get("scaling") == "weak"]
    panels = group_by_panel(weak)
    if not panels:
        return
    fig, axes = panel_grid(len(panels))
    for ax, (name, rs) in zip(axes[0], panels.items()):
        base = [r for r in rs if r.get("ranks") == 1 and r.get("threads") == 1 and ok(r)]
        families = sorted({f for r in rs for f in (sweep_of(r).get("families") or [])})
        max_cores = max(r.get("ranks", 1) * r.get("threads", 1) for r in rs)
        ax.plot([1, max_cores], [100, 100], linestyle="--", color="black", linewidth=1, label="ideal")
        if base:
            t1 = base[-1]["time_s"]["median"]
            for family in families:
                members = sorted(family_members(rs, family), key=lambda r: r.get("ranks", 1) * r.get("threads", 1))
                cores = [r.get("ranks", 1) * r.get("threads", 1) for r in members]
                eff = [100.0 * t1 / r["time_s"]["median"] if ok(r) else float("nan") for r in members]
                ax.plot(cores, eff, marker="o", label=family_label(family, budget))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("cores (problem grows with the cores)")
        ax.set_ylabel("weak-scaling efficiency t(1 core) / t(cores) (%)")
        ax.set_ylim(0, 120)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, title="mix family")
    fig.suptitle("Weak scaling\n" + subtitle(sweep, weak), fontsize=9)
    finish(fig, directory, "weak_scaling", formats, written)


def plot_memory(records, sweep, budget, directory, formats, written):
    chosen = full_budget(records, budget)
    panels = group_by_panel(chosen)
    if not panels:
        return
    fig, axes = panel_grid(len(panels))
    for ax, (name, rs) in zip(axes[0], panels.items()):
        rs = sorted(rs, key=lambda r: -r.get("ranks", 0))
        xs = list(range(len(rs)))
        tops = []
        for x, r in zip(xs, rs):
            total = (r.get("memory") or {}).get("rss_total_bytes")
            if ok(r) and total:
                ax.bar([x], [total / MIB], color="#55A868", width=0.6)
                ax.annotate("%.0f MiB" % (total / MIB), (x, total / MIB), xytext=(0, 3), textcoords="offset points",
                            ha="center", fontsize=8)
                tops.append(total / MIB)
            else:
                failed_marker(ax, x, r)
        ax.set_xticks(xs)
        ax.set_xticklabels([mix_label(r) for r in rs])
        ax.set_xlabel("mix (ranks x threads), %d cores" % budget)
        ax.set_ylabel("sum of per-rank peak RSS (MiB)")
        ax.set_ylim(0, max(tops + [1]) * 1.25)
        ax.set_title(name)
    fig.suptitle("Memory footprint per mix (every rank pays its own copies and MPI buffers)\n"
                 + subtitle(sweep, chosen), fontsize=9)
    finish(fig, directory, "memory", formats, written)


def plot_rate_heatmap(records, sweep, budget, directory, formats, written):
    chosen = [r for r in records if sweep_of(r).get("weak_factor", 1.0) == 1.0]
    panels = group_by_panel(chosen)
    if not panels:
        return
    fig, axes = panel_grid(len(panels), width=4.6, height=4.0)
    for ax, (name, rs) in zip(axes[0], panels.items()):
        ranks = sorted({r.get("ranks", 1) for r in rs})
        threads = sorted({r.get("threads", 1) for r in rs})
        grid = [[float("nan")] * len(threads) for _ in ranks]
        status = {}
        unit = ""
        for r in rs:
            i, j = ranks.index(r.get("ranks", 1)), threads.index(r.get("threads", 1))
            rate = (r.get("rate") or {}).get("value")
            unit = (r.get("rate") or {}).get("unit") or unit
            if ok(r) and rate is not None:
                grid[i][j] = rate
            else:
                status[(i, j)] = r.get("status", "?")
        cmap = matplotlib.colormaps["viridis"].copy() if hasattr(matplotlib, "colormaps") else plt.get_cmap("viridis")
        cmap.set_bad("#EEEEEE")
        import numpy

        data = numpy.ma.masked_invalid(numpy.array(grid, dtype=float))
        image = ax.imshow(data, cmap=cmap, origin="lower", aspect="auto")
        finite = [v for row in grid for v in row if not math.isnan(v)]
        top = max(finite) if finite else 1.0
        for i in range(len(ranks)):
            for j in range(len(threads)):
                if not math.isnan(grid[i][j]):
                    ax.text(j, i, "%.4g" % grid[i][j], ha="center", va="center", fontsize=8,
                            color="white" if grid[i][j] < 0.6 * top else "black")
                elif (i, j) in status:
                    ax.text(j, i, status[(i, j)], ha="center", va="center", fontsize=8, color="#C44E52")
                else:
                    ax.text(j, i, "not run", ha="center", va="center", fontsize=7, color="#999999")
        ax.set_xticks(range(len(threads)))
        ax.set_xticklabels([str(t) for t in threads])
        ax.set_yticks(range(len(ranks)))
        ax.set_yticklabels([str(r) for r in ranks])
        ax.set_xlabel("OpenMP threads per rank")
        ax.set_ylabel("MPI ranks")
        ax.set_title(name)
        bar = fig.colorbar(image, ax=ax)
        bar.set_label("rate (%s)" % (unit or "?"))
    fig.suptitle("Rate by ranks x threads (grey: not run or failed)\n" + subtitle(sweep, chosen), fontsize=9)
    finish(fig, directory, "rate_heatmap", formats, written)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="directory written by hk sweep")
    parser.add_argument("--formats", default="png,svg", help="comma-separated image formats (default png,svg)")
    args = parser.parse_args()
    runs = os.path.join(args.dir, "runs.jsonl")
    if not os.path.exists(runs):
        sys.stderr.write("hk_plot: error: %s does not exist\n" % runs)
        return 2
    sweep = {}
    sweep_path = os.path.join(args.dir, "sweep.json")
    if os.path.exists(sweep_path):
        with open(sweep_path) as f:
            sweep = json.load(f)
    records = latest_per_configuration(read_runs(runs))
    if not records:
        sys.stderr.write("hk_plot: error: %s holds no records\n" % runs)
        return 2
    budget = sweep.get("budget_cores") or max(sweep_of(r).get("budget_cores", 0) for r in records) or max(
        r.get("ranks", 1) * r.get("threads", 1) for r in records)
    formats = [f for f in args.formats.split(",") if f]
    written, notes = [], []
    plot_time_per_mix(records, sweep, budget, args.dir, formats, written)
    plot_strong_scaling(records, sweep, budget, args.dir, formats, written, notes)
    plot_weak_scaling(records, sweep, budget, args.dir, formats, written)
    plot_memory(records, sweep, budget, args.dir, formats, written)
    plot_rate_heatmap(records, sweep, budget, args.dir, formats, written)
    for note in notes:
        print("hk_plot: note: " + note)
    for path in written:
        print("hk_plot: wrote " + path)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
