#!/usr/bin/python3
"""Re-reads an `hk export` file and checks it against the records, read here on their own (plain
json): every repetition of every ok configuration present exactly once, with its parameters.

  check_export.py extrap|thicket|csv FILE DIR
"""
import collections
import csv
import json
import sys


def fail(message):
    print("FAILED: " + message)
    sys.exit(1)


def latest_records(directory):
    latest = {}
    with open(directory + "/runs.jsonl", encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            r = json.loads(line)
            s = r["sweep"]
            latest[(s["key"], float(s.get("weak_factor", 1.0)))] = (number, r)
    return [x for x in sorted(latest.values(), key=lambda x: x[0])]


def nodes(r):
    return r["sweep"].get("nodes") or r.get("nodes") or 1


def callpath(r):
    weak = float(r["sweep"].get("weak_factor", 1.0)) != 1.0
    return "%s[%s]%s" % (r["kernel"], r["variant"], " weak" if weak else "")


def expected(directory):
    """Multiset of (callpath, ranks, threads, nodes, rep number, seconds) of every repetition."""
    reps = collections.Counter()
    for _, r in latest_records(directory):
        if r["status"] == "ok":
            for number, seconds in enumerate(r["time_s"]["reps"], start=1):
                reps[(callpath(r), r["ranks"], r["threads"], nodes(r), number, seconds)] += 1
    if not reps:
        fail("the fixture has no repetitions to compare")
    return reps


def without_rep_number(counter):
    out = collections.Counter()
    for (path, ranks, threads, n, _, seconds), count in counter.items():
        out[(path, ranks, threads, n, seconds)] += count
    return out


def read_extrap(path):
    got = collections.Counter()
    params_keys = None
    with open(path) as f:
        for line in f:
            item = json.loads(line)
            if set(item) != {"params", "callpath", "metric", "value"} or item["metric"] != "time_s":
                fail("extrap line has fields %s" % sorted(item))
            if params_keys is None:
                params_keys = list(item["params"])
            if list(item["params"]) != params_keys or params_keys != ["ranks", "threads", "nodes"]:
                fail("extrap params must be ranks, threads, nodes on every line: %s" % item["params"])
            if not all(isinstance(v, int) for v in item["params"].values()):
                fail("extrap coordinates must be numbers: %s" % item["params"])
            p = item["params"]
            got[(item["callpath"], p["ranks"], p["threads"], p["nodes"], item["value"])] += 1
    return got


def read_csv_rows(path, directory):
    got = collections.Counter()
    by_line = dict(latest_records(directory))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for column in ("kernel", "variant", "ranks", "threads", "nodes", "rep", "time_s", "status"):
            if column not in row:
                fail("csv has no column %s" % column)
        r = by_line[int(row["line"])]
        for name, value in r["params"].items():
            cell = row["param_" + name]
            if cell != (json.dumps(value) if isinstance(value, (dict, list)) else str(value)):
                fail("csv line %s param_%s is %r, record %r" % (row["line"], name, cell, value))
        if row["status"] != "ok":
            if row["time_s"] or row["rep"]:
                fail("a failed configuration has a time in the csv")
            continue
        path_ = "%s[%s]%s" % (row["kernel"], row["variant"], " weak" if float(row["weak_factor"]) != 1.0 else "")
        got[(path_, int(row["ranks"]), int(row["threads"]), int(row["nodes"]), int(row["rep"]),
             float(row["time_s"]))] += 1
    failed = sum(1 for _, r in latest_records(directory) if r["status"] != "ok")
    if sum(1 for row in rows if row["status"] != "ok") != failed:
        fail("csv should list each of the %d failed configurations once" % failed)
    check_pandas(path, len(rows))
    return got


def check_pandas(path, count):
    """The tidy CSV loads straight into pandas with numeric columns."""
    import pandas

    frame = pandas.read_csv(path)
    if len(frame) != count or frame["time_s"].dtype.kind != "f" or frame["ranks"].dtype.kind != "i":
        fail("pandas reads %d rows, time_s %s, ranks %s" % (len(frame), frame["time_s"].dtype, frame["ranks"].dtype))


def read_thicket(path):
    with open(path) as f:
        doc = json.load(f)
    for field in ("graph", "dataframe", "dataframe_indices", "metadata", "inclusive_metrics", "exclusive_metrics",
                  "profile", "profile_mapping"):
        if field not in doc:
            fail("thicket JSON has no %s" % field)
    names = {int(k): v["data"]["name"] for k, v in doc["graph"][0].items()}
    meta = {m["profile"]: m for m in doc["metadata"]}
    if len(meta) != len(doc["metadata"]) or set(meta) != set(doc["profile"]):
        fail("thicket profiles and metadata disagree")
    got = collections.Counter()
    for row in doc["dataframe"]:
        m = meta[row["profile"]]
        if names[row["node"]] != row["name"]:
            fail("thicket row names node %s as %s" % (row["node"], row["name"]))
        got[(row["name"], m["ranks"], m["threads"], m["nodes"], m["rep"], row["time_s"])] += 1
    return got


def main():
    fmt, path, directory = sys.argv[1:4]
    want = expected(directory)
    if fmt == "extrap":
        got, want = read_extrap(path), without_rep_number(want)
    elif fmt == "csv":
        got = read_csv_rows(path, directory)
    else:
        got = read_thicket(path)
    if got != want:
        missing, extra = want - got, got - want
        fail("%d repetition(s) missing, %d extra or repeated; e.g. missing %s extra %s"
             % (sum(missing.values()), sum(extra.values()), list(missing)[:2], list(extra)[:2]))
    print("ok: %s export holds each of the %d repetitions exactly once" % (fmt, sum(want.values())))


if __name__ == "__main__":
    main()
