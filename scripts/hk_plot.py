#!/usr/bin/python3
"""Figures and exports of `hk sweep` directories (runs.jsonl + sweep.json). Run by `hk plot` and
`hk export` with a Python that has matplotlib and pandas (Debian: /usr/bin/python3).

  hk_plot.py plot DIR [DIR ...] [--labels a,b] [--out OUTDIR] [--formats png,svg]
                                [--spread auto|minmax|iqr] [--dump-data FILE]
  hk_plot.py export DIR --format extrap|thicket|csv [--out FILE]

Figures (docs/plots.md says how to read each one):
  time_per_mix    median time per repetition of each mix at the largest core count, with error bars
  strong_scaling  speedup and parallel efficiency against cores, one line per mix family
  weak_scaling    weak-scaling efficiency against cores (sweeps run with --scaling weak)
  memory          PSS (shared pages split between the ranks that map them) beside RSS, per mix
  rate_heatmap    ranks x threads map of the headline rate and the spread of its time

Several directories are overlaid on the same axes; configurations are matched by their sweep key
(kernel, variant, params, ranks x threads x nodes), and those not in every directory are listed.
Failed configurations are drawn as missing (a red x and their status), never as zero.
"""
import argparse
import json
import math
import os
import signal
import sys
import textwrap

import hk_records as records
from hk_records import InputError, note, warn

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("hk: error: matplotlib is not available to %s; use a Python that has it (Debian: apt-get "
                     "install python3-matplotlib, then --python /usr/bin/python3)\n" % sys.executable)
    sys.exit(3)

import numpy as np

PHASE_COLOURS = {"compute": "#4C72B0", "comm": "#DD8452", "other": "#A5A5A5"}
DIR_COLOURS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
DIR_LINESTYLES = ["-", "--", ":", "-."]
NODE_MARKERS = ["o", "s", "^", "D", "v", "P"]
FAILED_COLOUR = "#C44E52"
LOG2_ABOVE_CORES = 8  # the cores axis turns log2 once the largest core count exceeds this


# ---- labels --------------------------------------------------------------------------------------

def panel_name(row):
    if row["kernel"] == "exec":  # a user's own program (hk sweep --exec): its --name
        return "%s (own program)" % row["variant"]
    return "%s [%s]" % (row["kernel"], row["variant"])


def nodes_text(nodes):
    return "%d node%s" % (nodes, "" if nodes == 1 else "s")


def flags_text(row):
    """The marks the records carry: aligned to the node's topology, oversubscribed."""
    flags = []
    if row["aligned"] is True:
        flags.append("aligned")
    if row["oversubscribed"] is True:
        flags.append("oversubscribed")
    return flags


def varying_params(rows):
    """Names of the params whose values differ between these rows (shown in their labels)."""
    names = sorted({k for p in rows["params"] for k in p})
    return [k for k in names if len({json.dumps(p.get(k), sort_keys=True) for p in rows["params"]}) > 1]


def param_text(value):
    """A param's value in a label: a list (a program's arguments) as words, not Python's repr."""
    return " ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def params_label(params, names):
    return ", ".join("%s=%s" % (k, param_text(params.get(k))) for k in names)


def mix_label(row, several_nodes, param_names):
    """Tick label of a mix: threads per rank first (the family), then ranks x threads."""
    lines = ["%d thread%s/rank" % (row["threads"], "" if row["threads"] == 1 else "s"),
             "%d\u00d7%d" % (row["ranks"], row["threads"])]
    if several_nodes:
        lines.append("on " + nodes_text(row["nodes"]))
    if param_names:  # wrapped: a program's arguments must not run into the next bar's label
        lines.append(textwrap.fill(params_label(row["params"], param_names), width=22))
    return "\n".join(lines + flags_text(row))


def describe(row):
    """One configuration in words, for notes and lists."""
    return "%s %dx%d on %s (%s)" % (panel_name(row), row["ranks"], row["threads"], nodes_text(row["nodes"]),
                                    records.params_text(row["params"]))


def reps_phrase(rows):
    counts = sorted({int(n) for n in rows["n_reps"] if n is not None})
    if not counts:
        return "no successful repetitions"
    if len(counts) == 1:
        return "median of %d repetition%s" % (counts[0], "" if counts[0] == 1 else "s")
    return "median of %d-%d repetitions (n per bar)" % (counts[0], counts[-1])


def machine_line(sweep):
    info = sweep.info
    machine = info.get("machine") if isinstance(info.get("machine"), dict) else {}
    t = sweep.table
    host = machine.get("hostname") or next((h for h in t["hostname"] if h), "?")
    cpu = " ".join(str(machine.get("cpu_model") or "CPU model unknown").split())
    cores = machine.get("cores", "?")
    date = str(info.get("started_at") or next((d for d in t["started_at"] if d), ""))[:10]
    return "%s%s (%s, %s physical cores), %s, %s" % (
        sweep.label + ": " if sweep.several else "", host, cpu, cores, date or "date unknown", sweep.schema)


def subtitle(sweeps, rows, spread, what):
    lines = [machine_line(s) for s in sweeps]
    for name, panel_rows in sorted(rows.groupby("panel")):
        common = {k: v for k, v in panel_rows["params"].iloc[0].items()
                  if all(p.get(k) == v for p in panel_rows["params"])}
        text = params_label(common, sorted(common)) or "no params"
        lines.append("%s: %s" % (name, text if len(text) <= 150 else text[:147] + "..."))  # exec args can be long
    if what:
        lines.append(what + "; error bars: " + records.SPREADS[spread])
    return "\n".join(lines)


# ---- drawing helpers ---------------------------------------------------------------------------

def failed_marker(ax, x, row, y=0.0):
    ax.annotate("%s\n(not measured)" % row["status"], (x, y), xytext=(0, 6), textcoords="offset points",
                ha="center", va="bottom", fontsize=7, color=FAILED_COLOUR)
    ax.plot([x], [y], marker="x", color=FAILED_COLOUR, markersize=9, linestyle="none")


def error_bar(ax, x, middle, low, high, colour="black"):
    ax.errorbar([x], [middle], yerr=[[middle - low], [high - middle]], fmt="none", ecolor=colour, capsize=4,
                elinewidth=1.2, zorder=5)


def panel_grid(count, width=5.4, height=4.2, rows=1):
    fig, axes = plt.subplots(rows, max(1, count), figsize=(width * max(1, count), height * rows + 1.2),
                             squeeze=False, constrained_layout=True)
    return fig, axes


def finish(fig, out_dir, name, formats, written):
    for fmt in formats:
        path = os.path.join(out_dir, "%s.%s" % (name, fmt))
        fig.savefig(path, dpi=130, bbox_inches="tight")
        written.append(path)
    plt.close(fig)


def cores_axis(ax, cores):
    """Cores on a linear axis up to 8, log2 above; a tick at every core count swept."""
    ticks = sorted(set(int(c) for c in cores))
    log = max(ticks) > LOG2_ABOVE_CORES
    if log:
        ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("cores (ranks \u00d7 threads)" + (", log\u2082 scale" if log else ""))


def as_number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def bar_record(row):
    """The data behind one bar or point, for --dump-data."""
    return {
        "dir": row["dir"], "line": int(row["line"]), "key": row["key"], "status": row["status"],
        "kernel": row["kernel"], "variant": row["variant"], "ranks": int(row["ranks"]),
        "threads": int(row["threads"]), "nodes": int(row["nodes"]),
        "median_s": as_number(row["median_s"]), "low_s": as_number(row["low_s"]), "high_s": as_number(row["high_s"]),
        "n_reps": None if row["n_reps"] is None else int(row["n_reps"]),
        "aligned": row["aligned"], "oversubscribed": row["oversubscribed"],
    }


def ok(row):
    return row["status"] == "ok"


# ---- choosing what each figure shows -----------------------------------------------------------

def largest_core_count(rows):
    """Per panel and node count, the rows at the largest core count: the full budget."""
    if rows.empty:
        return rows
    top = rows.groupby(["panel", "nodes"])["cores"].transform("max")
    return rows[rows["cores"] == top]


def side_by_side_rows(context):
    """Rows of the bar figures (time per mix, memory): one directory: every mix at the full budget;
    several: the configurations recorded in every directory, at the largest such core count."""
    rows = context.table[context.table["weak_factor"] == 1.0]
    if context.several:
        rows = rows[rows["config"].isin(context.matched)]
    return largest_core_count(rows)


def slots_of(rows):
    """x positions: one slot per configuration (matched across directories), node groups apart."""
    first = rows.drop_duplicates("config").sort_values(["nodes", "params_text", "threads", "ranks"])
    positions, x, previous_nodes = {}, 0.0, None
    for _, row in first.iterrows():
        if previous_nodes is not None and row["nodes"] != previous_nodes:
            x += 0.5
        positions[row["config"]] = x
        previous_nodes = row["nodes"]
        x += 1.0
    return first, positions


def bar_offsets(count, group_width=0.8):
    width = group_width / count
    return [(i - (count - 1) / 2.0) * width for i in range(count)], width


# ---- time per mix --------------------------------------------------------------------------------

def draw_phase_stack(ax, x, row, width):
    """Single directory: the median repetition's phases stacked (each the maximum over ranks)."""
    phases = [row["compute_s"], row["comm_s"], row["other_s"]]
    if any(p is None or math.isnan(p) for p in phases):
        ax.bar([x], [row["median_s"]], width=width, color="#CCCCCC", hatch="..", edgecolor="#888888",
               label="total (phases not recorded)")
        return
    bottom = 0.0
    for phase, value in zip(("compute", "comm", "other"), phases):
        ax.bar([x], [value], bottom=bottom, width=width, color=PHASE_COLOURS[phase], label=phase)
        bottom += value


def draw_time_bars(ax, context, rows, positions):
    offsets, width = bar_offsets(len(context.labels))
    dumped, uneven = [], len({n for n in rows["n_reps"] if n is not None}) > 1
    for _, row in rows.iterrows():
        i = context.labels.index(row["dir"])
        x = positions[row["config"]] + offsets[i]
        dumped.append(dict(bar_record(row), x=x, phases_s={p: as_number(row[p + "_s"])
                                                           for p in ("compute", "comm", "other")}))
        if not ok(row):
            failed_marker(ax, x, row)
            continue
        if context.several:
            ax.bar([x], [row["median_s"]], width=width, color=DIR_COLOURS[i % len(DIR_COLOURS)], label=row["dir"])
        else:
            draw_phase_stack(ax, x, row, width)
        error_bar(ax, x, row["median_s"], row["low_s"], row["high_s"])
        text = "%.3g s" % row["median_s"] + ("\nn=%d" % row["n_reps"] if uneven else "")
        ax.annotate(text, (x, row["high_s"]), xytext=(0, 3), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7)
    return dumped


def unique_legend(ax, **kwargs):
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, l in zip(handles, labels):
        seen.setdefault(l, h)
    if seen:
        ax.legend(list(seen.values()), list(seen.keys()), **kwargs)


def label_slots(ax, first, positions, param_names):
    several_nodes = first["nodes"].nunique() > 1
    xs = [positions[c] for c in first["config"]]
    ax.set_xticks(xs)
    ax.set_xticklabels([mix_label(r, several_nodes, param_names) for _, r in first.iterrows()], fontsize=8)
    for tick, (_, r) in zip(ax.get_xticklabels(), first.iterrows()):
        if r["oversubscribed"] is True:
            tick.set_color(FAILED_COLOUR)
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)


def plot_time_per_mix(context):
    chosen = side_by_side_rows(context)
    if chosen.empty:
        context.notes.append("no configuration to compare: time_per_mix not drawn")
        return
    panels = sorted(chosen.groupby("panel"))
    fig, axes = panel_grid(len(panels))
    dump = []
    for ax, (name, rows) in zip(axes[0], panels):
        first, positions = slots_of(rows)
        dumped = draw_time_bars(ax, context, rows, positions)
        label_slots(ax, first, positions, varying_params(rows))
        tops = [b["high_s"] for b in dumped if b["high_s"] is not None]
        ax.set_ylim(0, max(tops + [1e-9]) * 1.45)
        ax.set_ylabel("time per repetition (s)")
        ax.set_xlabel("mix, at %s cores" % "/".join(str(c) for c in sorted(rows["cores"].unique())))
        ax.set_title(name)
        unique_legend(ax, title=None if context.several else "phase (max over ranks), median rep", fontsize=7,
                      title_fontsize=7, loc="upper center", ncol=4)
        dump.append({"panel": name, "bars": dumped})
    fig.suptitle("Time per mix at the largest core count\n" + subtitle(context.sweeps, chosen, context.spread,
                                                                     reps_phrase(chosen)), fontsize=8)
    context.finish(fig, "time_per_mix", dump)


# ---- memory ------------------------------------------------------------------------------------

MEMORY_NOTE = ("PSS (proportional set size, summed over ranks, read after the timed repetitions): a page shared by k "
               "ranks counts 1/k for each, so a shared window is counted once.\n"
               "RSS (peak resident set size, summed over ranks): every page a rank maps counts in full, so a shared "
               "page is counted once per rank that maps it. One value per configuration: no spread.")


def memory_values(row):
    pss = as_number(row["pss_total_bytes"])
    rss = as_number(row["rss_total_bytes"])
    return (pss / records.MIB if pss else None), (rss / records.MIB if rss else None)


def draw_memory_pair(ax, x, width, row, colour, several):
    pss, rss = memory_values(row)
    label_dir = row["dir"] + ": " if several else ""
    if pss is not None:
        ax.bar([x - width / 4], [pss], width=width / 2, color=colour, label=label_dir + "PSS")
        ax.annotate("%.0f" % pss, (x - width / 4, pss), xytext=(0, 2), textcoords="offset points", ha="center",
                    fontsize=7)
    else:
        ax.annotate("PSS not\nrecorded", (x - width / 4, 0), xytext=(0, 2), textcoords="offset points",
                    ha="center", fontsize=6, color="#666666")
    if rss is not None:
        ax.bar([x + width / 4], [rss], width=width / 2, color=colour, alpha=0.35, hatch="//", edgecolor=colour,
               label=label_dir + "RSS")
        ax.annotate("%.0f" % rss, (x + width / 4, rss), xytext=(0, 2), textcoords="offset points", ha="center",
                    fontsize=7, color="#444444")
    return pss, rss


def plot_memory(context):
    chosen = side_by_side_rows(context)
    if chosen.empty:
        return
    panels = sorted(chosen.groupby("panel"))
    fig, axes = panel_grid(len(panels))
    dump = []
    for ax, (name, rows) in zip(axes[0], panels):
        first, positions = slots_of(rows)
        offsets, width = bar_offsets(len(context.labels))
        bars, tops = [], [1.0]
        for _, row in rows.iterrows():
            i = context.labels.index(row["dir"])
            x = positions[row["config"]] + offsets[i]
            entry = dict(bar_record(row), x=x, pss_total_bytes=as_number(row["pss_total_bytes"]),
                         rss_total_bytes=as_number(row["rss_total_bytes"]))
            bars.append(entry)
            if not ok(row):
                failed_marker(ax, x, row)
                continue
            colour = DIR_COLOURS[i % len(DIR_COLOURS)] if context.several else "#55A868"
            tops.extend(v for v in draw_memory_pair(ax, x, width, row, colour, context.several) if v)
        label_slots(ax, first, positions, varying_params(rows))
        ax.set_ylim(0, max(tops) * 1.3)
        ax.set_ylabel("memory, summed over ranks (MiB)")
        ax.set_xlabel("mix, at %s cores" % "/".join(str(c) for c in sorted(rows["cores"].unique())))
        ax.set_title(name)
        unique_legend(ax, fontsize=7, loc="upper center", ncol=4 if context.several else 2)
        dump.append({"panel": name, "bars": bars})
    fig.suptitle("Memory per mix: PSS (shared pages split between the ranks that map them) beside RSS\n"
                 + subtitle(context.sweeps, chosen, context.spread, None), fontsize=8)
    width = int(fig.get_size_inches()[0] * 15)  # characters of 7-point text across the figure
    fig.text(0.01, -0.02, "\n".join(textwrap.fill(line, width) for line in MEMORY_NOTE.split("\n")), fontsize=7,
             va="top", ha="left")
    context.finish(fig, "memory", dump)


# ---- scaling -----------------------------------------------------------------------------------

def family_label(family, nodes, context, several_nodes, budget):
    if family == 1:
        text = "1 thread/rank (pure MPI)"
    elif family == budget:
        text = "%d threads/rank (pure OpenMP at %d cores)" % (family, family)
    else:
        text = "%d threads/rank" % family
    if several_nodes:
        text += ", %s" % nodes_text(nodes)
    return text


def baseline(rows):
    """The 1x1 on one node: the reference time of speedup and efficiency."""
    base = rows[(rows["ranks"] == 1) & (rows["threads"] == 1) & (rows["nodes"] == 1)]
    base = base[base["status"] == "ok"]
    return None if base.empty else base.iloc[-1]


def series_of(rows):
    """(nodes, family) -> rows of that family on that node count, by cores."""
    out = {}
    for _, row in rows.iterrows():
        for family in row["families"]:
            out.setdefault((int(row["nodes"]), int(family)), []).append(row)
    return {k: sorted(v, key=lambda r: r["cores"]) for k, v in sorted(out.items())}


def scaling_points(members, t1, efficiency_only):
    """Speedup (or weak efficiency) of each member against t1, with the member's spread."""
    points = []
    for row in members:
        p = dict(bar_record(row), cores=int(row["cores"]))
        if ok(row):
            s, s_low, s_high = t1 / row["median_s"], t1 / row["high_s"], t1 / row["low_s"]
            if efficiency_only:
                p.update(efficiency_pct=100 * s, efficiency_pct_low=100 * s_low, efficiency_pct_high=100 * s_high)
            else:
                c = row["cores"]
                p.update(speedup=s, speedup_low=s_low, speedup_high=s_high, efficiency_pct=100 * s / c,
                         efficiency_pct_low=100 * s_low / c, efficiency_pct_high=100 * s_high / c)
        points.append(p)
    return points


def draw_series(ax, points, value, style, label):
    good = [p for p in points if p.get(value) is not None]
    xs = [p["cores"] for p in points]
    ys = [p.get(value) if p.get(value) is not None else float("nan") for p in points]
    line, = ax.plot(xs, ys, label=label, **style)
    if good:
        ax.errorbar([p["cores"] for p in good], [p[value] for p in good],
                    yerr=[[p[value] - p[value + "_low"] for p in good], [p[value + "_high"] - p[value] for p in good]],
                    fmt="none", ecolor=line.get_color(), capsize=3, elinewidth=1)
    return line


def series_style(context, dir_label, nodes_index, family_index):
    colour = DIR_COLOURS[family_index % len(DIR_COLOURS)]
    return {"color": colour, "linestyle": DIR_LINESTYLES[context.labels.index(dir_label) % len(DIR_LINESTYLES)],
            "marker": NODE_MARKERS[nodes_index % len(NODE_MARKERS)], "markersize": 5}


def mark_points(ax, points, value, flags_only, family_index, labelled):
    """Each point's mix (only its marks when several directories share the axes), once per point
    although a mix belongs to several families (`labelled` remembers); alternate families are
    labelled below and above their points so that close lines keep apart."""
    below = family_index % 2 == 0
    for p in points:
        if (p["dir"], p["line"], value) in labelled:
            continue
        labelled.add((p["dir"], p["line"], value))
        if p.get(value) is None:
            if p["status"] != "ok":
                failed_marker(ax, p["cores"], p, 1.0 if value == "speedup" else 0.0)
            continue
        flags = "".join(" (%s)" % m for m, f in (("A", p["aligned"]), ("O", p["oversubscribed"])) if f is True)
        if flags_only and not flags:
            continue
        text = ("" if flags_only else "%dx%d" % (p["ranks"], p["threads"])) + flags
        ax.annotate(text, (p["cores"], p[value]), xytext=(4, -10 if below else 4), textcoords="offset points",
                    fontsize=6)


def scaling_panel(context, rows, axes_by_value, efficiency_only):
    """One kernel: for each directory, each node count and each family, one line per value axis."""
    dumped, several_nodes, labelled = [], rows["nodes"].nunique() > 1, set()
    families = sorted({f for fs in rows["families"] for f in fs})
    node_counts = sorted(rows["nodes"].unique())
    for label in context.labels:
        mine = rows[rows["dir"] == label]
        base = baseline(mine)
        if mine.empty:
            continue
        if base is None:
            first_ax = next(iter(axes_by_value.values()))
            first_ax.text(0.5, 0.5 - 0.08 * context.labels.index(label),
                          "%s1x1 baseline failed or missing: no %s" % (
                              label + ": " if context.several else "", "efficiency" if efficiency_only else "speedup"),
                          ha="center", transform=first_ax.transAxes, color=FAILED_COLOUR, fontsize=8)
            continue
        budget = int(mine["cores"].max())
        for (nodes, family), members in series_of(mine).items():
            points = scaling_points(members, base["median_s"], efficiency_only)
            style = series_style(context, label, node_counts.index(nodes), families.index(family))
            name = (label + ": " if context.several else "") + family_label(family, nodes, context, several_nodes,
                                                                          budget)
            for value, ax in axes_by_value.items():
                draw_series(ax, points, value, style, name)
                mark_points(ax, points, value, context.several, families.index(family), labelled)
            dumped.append({"dir": label, "nodes": nodes, "family": family, "baseline_line": int(base["line"]),
                           "baseline_median_s": float(base["median_s"]), "points": points})
    return dumped


def scaling_axes_done(ax, cores, ylabel, top):
    cores_axis(ax, cores)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    # The medians set the range; an error bar that leaves it is cut at the edge (docs/plots.md).
    ax.set_ylim(0, top)


def figure_legend(fig, axes, panels):
    """One legend for all panels, below them, so that it never hides a line."""
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    fig.legend(list(seen.values()), list(seen.keys()), loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=max(1, min(len(seen), 2 * panels, 4)), fontsize=7, title="mix family (threads per rank)", title_fontsize=7)


def highest(series, value):
    return max([p.get(value) or 0 for s in series for p in s["points"]] + [0])


def plot_strong_scaling(context):
    strong = context.table[context.table["scaling"] == "strong"]
    if strong.empty:
        context.notes.append("no strong-scaling runs (hk sweep ... --scaling strong): strong_scaling not drawn")
        return
    panels = sorted(strong.groupby("panel"))
    fig, axes = panel_grid(len(panels), rows=2, height=3.8)
    dump = []
    for column, (name, rows) in enumerate(panels):
        speed_ax, eff_ax = axes[0][column], axes[1][column]
        top = int(rows["cores"].max())
        speed_ax.plot([1, top], [1, top], linestyle="--", color="black", linewidth=1, label="ideal")
        eff_ax.plot([1, top], [100, 100], linestyle="--", color="black", linewidth=1, label="ideal")
        series = scaling_panel(context, rows, {"speedup": speed_ax, "efficiency_pct": eff_ax}, False)
        scaling_axes_done(speed_ax, rows["cores"], "speedup over 1\u00d71 (times)",
                          max(top, highest(series, "speedup")) * 1.15)
        scaling_axes_done(eff_ax, rows["cores"], "parallel efficiency (%)",
                          max(120, highest(series, "efficiency_pct") * 1.15))
        speed_ax.set_title(name)
        dump.append({"panel": name, "series": series})
    figure_legend(fig, [ax for row in axes for ax in row], len(panels))
    fig.suptitle("Strong scaling: fixed problem, growing core count; (A) aligned, (O) oversubscribed\n"
                 + subtitle(context.sweeps, strong, context.spread, reps_phrase(strong) + " per point"), fontsize=8)
    context.finish(fig, "strong_scaling", dump)


def plot_weak_scaling(context):
    weak = context.table[context.table["scaling"] == "weak"]
    if weak.empty:
        return
    panels = sorted(weak.groupby("panel"))
    fig, axes = panel_grid(len(panels))
    dump = []
    for ax, (name, rows) in zip(axes[0], panels):
        top = int(rows["cores"].max())
        ax.plot([1, top], [100, 100], linestyle="--", color="black", linewidth=1, label="ideal")
        series = scaling_panel(context, rows, {"efficiency_pct": ax}, True)
        scaling_axes_done(ax, rows["cores"], "weak-scaling efficiency t(1 core) / t(cores) (%)",
                          max(120, highest(series, "efficiency_pct") * 1.15))
        ax.set_title(name)
        dump.append({"panel": name, "series": series})
    figure_legend(fig, axes[0], len(panels))
    fig.suptitle("Weak scaling: the problem grows with the cores\n"
                 + subtitle(context.sweeps, weak, context.spread, reps_phrase(weak) + " per point"), fontsize=8)
    context.finish(fig, "weak_scaling", dump)


# ---- rate heat map -----------------------------------------------------------------------------

def heatmap_cells(rows, ranks, threads):
    grid = np.full((len(ranks), len(threads)), np.nan)
    cells = []
    for _, row in rows.iterrows():
        i, j = ranks.index(row["ranks"]), threads.index(row["threads"])
        cell = dict(bar_record(row), rate=as_number(row["rate"]), rate_unit=row["rate_unit"])
        if ok(row) and cell["rate"] is not None:
            grid[i][j] = cell["rate"]
            cell["spread_pct"] = 100.0 * (row["high_s"] - row["low_s"]) / row["median_s"]
        cells.append(cell)
    return grid, cells


def cell_text(cell):
    marks = "".join(m for m, f in (("A", cell["aligned"]), ("O", cell["oversubscribed"])) if f is True)
    return "%.4g\nspread %.1f%%%s" % (cell["rate"], cell["spread_pct"], ("\n" + marks) if marks else "")


def draw_heatmap(fig, ax, rows, axes_values, rate_range):
    """One directory's panel, on the ranks x threads grid and colour scale of every directory's
    panel of the same kernel, so that panels compare cell by cell and colour by colour."""
    ranks, threads = axes_values
    grid, cells = heatmap_cells(rows, ranks, threads)
    cmap = matplotlib.colormaps["viridis"].copy()
    cmap.set_bad("#EEEEEE")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, origin="lower", aspect="auto",
                      vmin=rate_range[0], vmax=rate_range[1])
    for cell in cells:
        i, j = ranks.index(cell["ranks"]), threads.index(cell["threads"])
        if cell.get("spread_pct") is not None:
            dark = image.norm(grid[i][j]) < 0.55  # viridis is dark below the middle
            ax.text(j, i, cell_text(cell), ha="center", va="center", fontsize=7, color="white" if dark else "black")
        else:
            ax.text(j, i, cell["status"], ha="center", va="center", fontsize=7, color=FAILED_COLOUR)
    recorded = {(c["ranks"], c["threads"]) for c in cells}
    for i, r in enumerate(ranks):
        for j, t in enumerate(threads):
            if (r, t) not in recorded:
                ax.text(j, i, "not run", ha="center", va="center", fontsize=6, color="#999999")
    ax.set_xticks(range(len(threads)))
    ax.set_xticklabels([str(t) for t in threads])
    ax.set_yticks(range(len(ranks)))
    ax.set_yticklabels([str(r) for r in ranks])
    ax.set_xlabel("OpenMP threads per rank")
    ax.set_ylabel("MPI ranks")
    unit = next((u for u in rows["rate_unit"] if u), "?")
    fig.colorbar(image, ax=ax).set_label("rate (%s)" % unit)
    return cells


def rate_range(rows):
    rates = [r for r, ok_ in zip(rows["rate"], rows["status"] == "ok") if ok_ and not math.isnan(r)]
    return (min(rates), max(rates)) if rates else (0.0, 1.0)


def plot_rate_heatmap(context):
    chosen = context.table[context.table["weak_factor"] == 1.0]
    if chosen.empty:
        return
    groups = sorted(chosen.groupby(["panel", "nodes"]))
    several_nodes = chosen["nodes"].nunique() > 1
    fig, axes = panel_grid(len(groups), width=5.4, height=4.0, rows=len(context.labels))
    dump = []
    for column, ((name, nodes), rows) in enumerate(groups):
        axes_values = (sorted(int(r) for r in rows["ranks"].unique()), sorted(int(t) for t in rows["threads"].unique()))
        for row_index, label in enumerate(context.labels):
            ax = axes[row_index][column]
            mine = rows[rows["dir"] == label]
            title = (label + ": " if context.several else "") + name + (
                ", " + nodes_text(nodes) if several_nodes else "")
            if mine.empty:
                ax.set_axis_off()
                ax.set_title(title + "\nnot recorded", fontsize=9)
                continue
            cells = draw_heatmap(fig, ax, mine, axes_values, rate_range(rows))
            ax.set_title("%s\n%s" % (title, reps_phrase(mine)), fontsize=9)
            dump.append({"panel": name, "dir": label, "nodes": int(nodes), "cells": cells})
    formula = {"iqr": "(Q3 - Q1)", "minmax": "(max - min)"}[context.spread]
    fig.suptitle("Rate by ranks \u00d7 threads (grey: not run or failed; A aligned, O oversubscribed)\n"
                 + subtitle(context.sweeps, chosen, context.spread, None)
                 + "\ncells: rate from the median time; spread = %s / median of the repetitions' times" % formula,
                 fontsize=8)
    context.finish(fig, "rate_heatmap", dump)


# ---- the run -------------------------------------------------------------------------------------

class Context:
    """What every figure needs: the sweeps, their joint table, options, and what was written."""

    def __init__(self, sweeps, spread, out_dir, formats):
        self.sweeps = sweeps
        self.labels = [s.label for s in sweeps]
        self.several = len(sweeps) > 1
        for s in sweeps:
            s.several = self.several
        self.spread = spread
        self.out_dir = out_dir
        self.formats = formats
        self.table = records.pd.concat([records.add_spread(s.table, spread) for s in sweeps], ignore_index=True)
        self.table["panel"] = [panel_name(r) for _, r in self.table.iterrows()]
        self.matched, self.unmatched = match_configurations(self.table, self.labels)
        self.written, self.notes, self.dump = [], [], {}

    def finish(self, fig, name, dump):
        finish(fig, self.out_dir, name, self.formats, self.written)
        self.dump[name] = dump


def match_configurations(table, labels):
    """Configurations (sweep key + weak factor) recorded in every directory, and the rows of the rest."""
    present = table.groupby("config")["dir"].agg(lambda d: set(d))
    matched = {c for c, dirs in present.items() if dirs == set(labels)}
    return matched, table[~table["config"].isin(matched)]


def report_unmatched(context):
    if not context.several or context.unmatched.empty:
        return []
    listed = []
    for _, row in context.unmatched.iterrows():
        missing = sorted(set(context.labels) - {d for d in context.table[context.table["config"] == row["config"]]["dir"]})
        listed.append({"dir": row["dir"], "line": int(row["line"]), "key": row["key"], "status": row["status"],
                       "missing_in": missing})
        note("not in every directory, left out of time_per_mix and memory: %s: %s, line %d, status %s; missing in %s"
             % (row["dir"], describe(row), row["line"], row["status"], ", ".join(missing)))
    return listed


def parse_labels(text, dirs):
    if text is None:
        names = [os.path.basename(os.path.normpath(d)) or d for d in dirs]
        return names if len(set(names)) == len(names) else [os.path.normpath(d) for d in dirs]
    labels = [label.strip() for label in text.split(",")]
    if len(labels) != len(dirs):
        raise InputError("--labels: %d label(s) for %d director%s; give one per directory, comma-separated"
                         % (len(labels), len(dirs), "y" if len(dirs) == 1 else "ies"))
    if any(not label for label in labels) or len(set(labels)) != len(labels):
        raise InputError("--labels: '%s' has an empty or repeated label; labels must be distinct" % text)
    return labels


def parse_formats(text):
    supported = sorted(plt.figure().canvas.get_supported_filetypes())
    plt.close("all")
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in supported]
    if not formats or bad:
        raise InputError("--formats: '%s' is not an image format matplotlib writes; choose from %s"
                         % (bad[0] if bad else text, ", ".join(supported)))
    return formats


def output_dir(out, dirs):
    if out is None:
        if len(dirs) > 1:
            raise InputError("--out: comparing %d directories needs --out DIR for the figures" % len(dirs))
        out = dirs[0]
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise InputError("--out: cannot create '%s': %s" % (out, error.strerror))
    if not os.access(out, os.W_OK):
        raise InputError("--out: '%s' is not writable" % out)
    return out


def open_dump(path):
    """Opened before anything is drawn, so that an unwritable path costs nothing."""
    if not path:
        return None
    try:
        return open(path, "w")
    except OSError as error:
        raise InputError("--dump-data: cannot write '%s': %s" % (path, error.strerror))


def run_plot(args):
    labels = parse_labels(args.labels, args.dirs)
    formats = parse_formats(args.formats)
    out_dir = output_dir(args.out, args.dirs)
    dump_file = open_dump(args.dump_data)
    sweeps = [records.Sweep(d, label) for d, label in zip(args.dirs, labels)]
    if len({s.schema for s in sweeps}) > 1:
        note("directories of different record schemas: %s; spread is min-max unless every one has time_s.reps"
             % ", ".join("%s %s" % (s.label, s.schema) for s in sweeps))
    spread = records.choose_spread([s.table for s in sweeps], args.spread)
    context = Context(sweeps, spread, out_dir, formats)
    unmatched = report_unmatched(context)
    for draw in (plot_time_per_mix, plot_strong_scaling, plot_weak_scaling, plot_memory, plot_rate_heatmap):
        draw(context)
    for text in context.notes:
        note("note: " + text)
    for path in context.written:
        note("wrote " + path)
    if dump_file:
        write_dump(dump_file, context, unmatched)
    return 0 if context.written else 1


def write_dump(stream, context, unmatched):
    data = {"spread": context.spread, "spread_meaning": records.SPREADS[context.spread],
            "directories": [{"label": s.label, "dir": s.directory, "schema": s.schema, "superseded": s.superseded}
                            for s in context.sweeps],
            "unmatched": unmatched, "figures": context.dump}
    with stream:
        json.dump(data, stream, indent=1, sort_keys=True)
    note("wrote " + stream.name)


def run_export(args):
    import hk_export

    if args.out == "-":
        records.NOTES[0] = sys.stderr
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the export quietly, as it would cat
    sweep = records.Sweep(args.dirs[0], os.path.basename(os.path.normpath(args.dirs[0])))
    return hk_export.export(sweep, args.format, args.out)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write("%s: error: %s\n" % (records.PROGRAM[0], message))
        sys.exit(2)


def parse_arguments(argv):
    parser = OneLineParser(prog="hk_plot.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True, parser_class=OneLineParser)
    plot = modes.add_parser("plot", help="draw the figures")
    plot.add_argument("dirs", nargs="+", metavar="DIR", help="directories written by hk sweep")
    plot.add_argument("--labels", help="comma-separated names of the directories in the figures")
    plot.add_argument("--out", help="directory for the figures (default: DIR; needed for several)")
    plot.add_argument("--formats", default="png,svg", help="comma-separated image formats (default png,svg)")
    plot.add_argument("--spread", choices=("auto", "minmax", "iqr"), default="auto", help="what the error bars show")
    plot.add_argument("--dump-data", help="write the data behind every figure to this JSON file")
    export = modes.add_parser("export", help="write the repetitions for other tools")
    export.add_argument("dirs", nargs=1, metavar="DIR", help="directory written by hk sweep")
    export.add_argument("--format", required=True, choices=("extrap", "thicket", "csv"))
    export.add_argument("--out", help="output file ('-': standard output; default: in DIR)")
    return parser.parse_args(argv)


def main(argv):
    args = parse_arguments(argv)
    records.PROGRAM[0] = "hk " + args.mode
    try:
        return run_plot(args) if args.mode == "plot" else run_export(args)
    except InputError as error:
        sys.stderr.write("%s: error: %s\n" % (records.PROGRAM[0], error))
        return 2
    except OSError as error:  # a figure or export that cannot be written (disk full, ...)
        sys.stderr.write("%s: error: cannot write %s: %s\n" % (records.PROGRAM[0], error.filename, error.strerror))
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
