#!/usr/bin/python3
"""Checks `hk plot --dump-data` against the records, read here on their own (plain json, none of
the plot script's code or pandas): each figure holds exactly the configurations it should, and
every number in it equals the record field it must come from, so a wrong column cannot pass.

  check_plot_data.py DUMP.json [--spread auto|minmax|iqr]

The directories and their labels are taken from the dump; the records are read from their
runs.jsonl files.
"""
import argparse
import json
import math
import sys


def fail(message):
    print("FAILED: " + message)
    sys.exit(1)


def same(a, b, what):
    if a is None or b is None:
        if a is not b:
            fail("%s: %r != %r" % (what, a, b))
        return
    if abs(a - b) > 1e-9 * max(abs(a), abs(b)) + 1e-12:
        fail("%s: %r != %r" % (what, a, b))


def usable(r):
    """The plot script skips records with a wrong type or a zero time; so does this reader."""
    if not isinstance(r, dict) or r.get("schema") not in ("hybridkit.run/1", "hybridkit.run/2"):
        return False
    if not all(isinstance(r.get(f), int) and not isinstance(r.get(f), bool) and r[f] >= 1
               for f in ("ranks", "threads")):
        return False
    if r.get("status") == "ok":
        t = r.get("time_s") or {}
        return all(isinstance(t.get(f), (int, float)) and t[f] > 0 for f in ("min", "median", "max"))
    return isinstance(r.get("status"), str)


def config_of(r):
    s = r.get("sweep") or {}
    return "%s\tweak %r" % (s["key"], float(s.get("weak_factor", 1.0)))


def read_latest(path):
    """line -> record, the last record of each configuration only."""
    latest = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith("\n"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if usable(r):
                latest[config_of(r)] = (number, r)
    return {number: r for number, r in latest.values()}


def percentile(values, q):
    v = sorted(values)
    position = (len(v) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return v[low] + (v[high] - v[low]) * (position - low)


def bounds(r, spread):
    t = r["time_s"]
    if spread == "minmax":
        return t["min"], t["max"]
    return percentile(t["reps"], 0.25), percentile(t["reps"], 0.75)


def n_reps(r):
    reps = (r.get("time_s") or {}).get("reps")
    return len(reps) if isinstance(reps, list) else r.get("reps")


def nodes(r):
    return (r.get("sweep") or {}).get("nodes") or r.get("nodes") or 1


def cores(r):
    return r["ranks"] * r["threads"]


def weak(r):
    return float((r.get("sweep") or {}).get("weak_factor", 1.0)) != 1.0


class Data:
    def __init__(self, dump):
        self.dump = dump
        self.labels = [d["label"] for d in dump["directories"]]
        self.records = {d["label"]: read_latest(d["dir"] + "/runs.jsonl") for d in dump["directories"]}

    def record(self, item):
        r = self.records[item["dir"]].get(item["line"])
        if r is None:
            fail("%s line %d is in the figures but is not the latest usable record" % (item["dir"], item["line"]))
        if r["sweep"]["key"] != item["key"] or r["status"] != item["status"]:
            fail("%s line %d: key or status differs from the record" % (item["dir"], item["line"]))
        return r

    def all(self):
        return [(label, n, r) for label in self.labels for n, r in self.records[label].items()]

    def matched_configs(self):
        by_config = {}
        for label, _, r in self.all():
            by_config.setdefault(config_of(r), set()).add(label)
        return {c for c, dirs in by_config.items() if dirs == set(self.labels)}


def expected_spread(data, asked):
    if asked != "auto":
        return asked
    ok = [r for _, _, r in data.all() if r["status"] == "ok"]
    has = bool(ok) and all(isinstance(r["time_s"].get("reps"), list) and len(r["time_s"]["reps"]) >= 4 for r in ok)
    return "iqr" if has else "minmax"


def expected_bars(data):
    rows = [(label, n, r) for label, n, r in data.all() if not weak(r)]
    if len(data.labels) > 1:
        matched = data.matched_configs()
        rows = [x for x in rows if config_of(x[2]) in matched]
    top = {}
    for _, _, r in rows:
        group = (r["kernel"], r["variant"], nodes(r))
        top[group] = max(top.get(group, 0), cores(r))
    return {(label, n) for label, n, r in rows if cores(r) == top[(r["kernel"], r["variant"], nodes(r))]}


def check_time_bar(data, bar, spread):
    r = data.record(bar)
    what = "time_per_mix %s line %d" % (bar["dir"], bar["line"])
    if r["status"] != "ok":
        if bar["median_s"] is not None:
            fail(what + ": a failed configuration has a time")
        return
    same(bar["median_s"], r["time_s"]["median"], what + " median")
    low, high = bounds(r, spread)
    same(bar["low_s"], low, what + " low")
    same(bar["high_s"], high, what + " high")
    if bar["n_reps"] != n_reps(r):
        fail(what + ": n_reps %r, record %r" % (bar["n_reps"], n_reps(r)))
    for phase in ("compute", "comm", "other"):
        same(bar["phases_s"][phase], r["phases_s"][phase], what + " " + phase)


def check_memory_bar(data, bar):
    r = data.record(bar)
    what = "memory %s line %d" % (bar["dir"], bar["line"])
    same(bar["pss_total_bytes"], (r.get("memory") or {}).get("pss_total_bytes"), what + " PSS")
    same(bar["rss_total_bytes"], (r.get("memory") or {}).get("rss_total_bytes"), what + " RSS")


def bars_of(data, figure):
    items = [b for panel in data.dump["figures"].get(figure, []) for b in panel["bars"]]
    if len({(b["dir"], b["line"]) for b in items}) != len(items):
        fail(figure + ": a configuration is drawn twice")
    return items


def check_bar_figures(data, spread):
    expected = expected_bars(data)
    for figure in ("time_per_mix", "memory"):
        items = bars_of(data, figure)
        got = {(b["dir"], b["line"]) for b in items}
        if got != expected:
            fail("%s shows %s, expected %s" % (figure, sorted(got), sorted(expected)))
        for b in items:
            check_time_bar(data, b, spread) if figure == "time_per_mix" else check_memory_bar(data, b)
    return len(expected)


def baseline_median(data, label, r):
    for other in data.records[label].values():
        if (other["kernel"], other["variant"]) == (r["kernel"], r["variant"]) and other["status"] == "ok" \
                and other["ranks"] == 1 and other["threads"] == 1 and nodes(other) == 1 \
                and other["sweep"].get("scaling") == r["sweep"].get("scaling"):
            return other["time_s"]["median"]
    return None


def check_point(data, series, p, spread, scaling):
    r = data.record(p)
    what = "%s_scaling %s line %d family %d" % (scaling, p["dir"], p["line"], series["family"])
    t1 = baseline_median(data, p["dir"], r)
    same(series["baseline_median_s"], t1, what + " baseline")
    if r["status"] != "ok":
        return
    low, high = bounds(r, spread)
    s, s_low, s_high = t1 / r["time_s"]["median"], t1 / high, t1 / low
    scale = 100.0 if scaling == "weak" else 100.0 / cores(r)
    if scaling == "strong":
        same(p["speedup"], s, what + " speedup")
        same(p["speedup_low"], s_low, what + " speedup low")
        same(p["speedup_high"], s_high, what + " speedup high")
    same(p["efficiency_pct"], s * scale, what + " efficiency")
    same(p["efficiency_pct_low"], s_low * scale, what + " efficiency low")
    same(p["efficiency_pct_high"], s_high * scale, what + " efficiency high")


def check_scaling(data, spread, scaling):
    expected = set()
    for label, n, r in data.all():
        if (r.get("sweep") or {}).get("scaling") == scaling and baseline_median(data, label, r) is not None:
            for family in r["sweep"].get("families") or [r["threads"]]:
                expected.add((label, n, family))
    got = set()
    for panel in data.dump["figures"].get(scaling + "_scaling", []):
        for series in panel["series"]:
            for p in series["points"]:
                got.add((p["dir"], p["line"], series["family"]))
                check_point(data, series, p, spread, scaling)
    if got != expected:
        fail("%s_scaling shows %s, expected %s" % (scaling, sorted(got), sorted(expected)))
    return len(got)


def check_heatmap(data):
    expected = {(label, n) for label, n, r in data.all() if not weak(r)}
    got = set()
    for panel in data.dump["figures"].get("rate_heatmap", []):
        for cell in panel["cells"]:
            r = data.record(cell)
            got.add((cell["dir"], cell["line"]))
            if r["status"] == "ok":
                same(cell["rate"], r["rate"]["value"], "rate_heatmap %s line %d" % (cell["dir"], cell["line"]))
    if got != expected:
        fail("rate_heatmap shows %s, expected %s" % (sorted(got), sorted(expected)))
    return len(got)


def check_unmatched(data):
    matched = data.matched_configs()
    expected = set() if len(data.labels) == 1 else {
        (label, n) for label, n, r in data.all() if config_of(r) not in matched}
    got = {(u["dir"], u["line"]) for u in data.dump["unmatched"]}
    if got != expected:
        fail("unmatched lists %s, expected %s" % (sorted(got), sorted(expected)))
    return len(got)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dump")
    parser.add_argument("--spread", default="auto")
    args = parser.parse_args()
    with open(args.dump) as f:
        data = Data(json.load(f))
    spread = expected_spread(data, args.spread)
    if data.dump["spread"] != spread:
        fail("spread %s, expected %s" % (data.dump["spread"], spread))
    counts = {
        "bars": check_bar_figures(data, spread),
        "strong points": check_scaling(data, spread, "strong"),
        "weak points": check_scaling(data, spread, "weak"),
        "heat-map cells": check_heatmap(data),
        "unmatched": check_unmatched(data),
    }
    print("ok: " + ", ".join("%d %s" % (n, what) for what, n in counts.items()) + " (spread %s)" % spread)


if __name__ == "__main__":
    main()
