"""`hk export DIR --format extrap|thicket|csv`: every timed repetition of a sweep, for the tools
performance engineers already use. Needs every repetition's time (time_s.reps, schema
hybridkit.run/2): records of schema /1 keep only min/median/max, and passing their median off as
a repetition would fake the spread, so they are refused.

  extrap   Extra-P's JSON Lines input: one line per repetition,
           {"params": {"ranks": R, "threads": T, "nodes": N}, "callpath": "KERNEL[VARIANT]",
            "metric": "time_s", "value": SECONDS}
           (weak-scaling configurations get the callpath "KERNEL[VARIANT] weak").
  thicket  Thicket's JSON (Thicket.from_json): one call-tree node per KERNEL[VARIANT], one profile per
           repetition with its time in the performance data and the configuration as metadata.
  csv      a tidy CSV: one row per repetition, the parameters as columns, units in column names;
           a configuration that failed has one row with its status and no time.
"""
import csv
import json
import os
import sys

import hk_records as records
from hk_records import InputError, note, warn

PARAM_PREFIX = "param_"
CSV_FIRST = ["kernel", "variant", "scaling", "weak_factor", "nodes", "ranks", "threads", "cores", "aligned",
             "oversubscribed", "status", "rep", "time_s"]
CSV_LAST = ["memory_pss_total_bytes", "memory_rss_total_bytes", "memory_rss_max_bytes", "work_flops",
            "work_bytes", "work_items", "schema", "line", "key"]
DEFAULT_NAMES = {"extrap": "export.extrap.jsonl", "thicket": "export.thicket.json", "csv": "export.tidy.csv"}


def callpath(row):
    return "%s[%s]%s" % (row["kernel"], row["variant"], " weak" if row["weak_factor"] != 1.0 else "")


def repetitions(table):
    """(row, rep number from 1, seconds) of every repetition of every ok configuration, in file order."""
    for _, row in table.iterrows():
        if row["status"] == "ok":
            for number, seconds in enumerate(row["reps"], start=1):
                yield row, number, float(seconds)


def check_exportable(sweep):
    if sweep.schema != records.SCHEMA_WITH_REPS:
        raise InputError("%s holds records of schema %s, which keep min/median/max but not every repetition; "
                         "hk export needs time_s.reps (%s): sweep again with this hybridkit"
                         % (sweep.runs_path, sweep.schema, records.SCHEMA_WITH_REPS))
    failed = sweep.table[sweep.table["status"] != "ok"]
    for _, row in failed.iterrows():
        warn("%s:%d: %s has status %s: no repetitions to export" % (
            sweep.runs_path, row["line"], callpath(row) + " %dx%d" % (row["ranks"], row["threads"]), row["status"]))


def check_points_unique(table):
    """Extra-P and Thicket see a configuration only as (callpath, ranks, threads, nodes): two
    configurations with different params there would be merged into one point."""
    seen = {}
    for _, row in table[table["status"] == "ok"].iterrows():
        point = (callpath(row), int(row["ranks"]), int(row["threads"]), int(row["nodes"]))
        if point in seen and seen[point] != row["params_text"]:
            raise InputError("%s %dx%d on %d node(s) was recorded with two different params (%s and %s); export "
                             "one problem per directory" % (point[0], point[1], point[2], point[3], seen[point],
                                                             row["params_text"]))
        seen[point] = row["params_text"]


def extrap_lines(table):
    for row, _, seconds in repetitions(table):
        yield json.dumps({"params": {"ranks": int(row["ranks"]), "threads": int(row["threads"]),
                                     "nodes": int(row["nodes"])},
                          "callpath": callpath(row), "metric": "time_s", "value": seconds}) + "\n"


def number_or_empty(value):
    value = records._none_if_nan(value)
    return "" if value is None else value


def csv_rows(table):
    param_names = sorted({k for p in table["params"] for k in p})
    header = CSV_FIRST + [PARAM_PREFIX + k for k in param_names] + CSV_LAST
    yield header
    for _, row in table.iterrows():
        reps = list(enumerate(row["reps"], start=1)) if row["status"] == "ok" else [("", "")]
        for number, seconds in reps:
            cells = {"kernel": row["kernel"], "variant": row["variant"], "scaling": row["scaling"] or "",
                     "weak_factor": row["weak_factor"], "nodes": row["nodes"], "ranks": row["ranks"],
                     "threads": row["threads"], "cores": row["cores"], "aligned": bool_cell(row["aligned"]),
                     "oversubscribed": bool_cell(row["oversubscribed"]), "status": row["status"], "rep": number,
                     "time_s": seconds, "memory_pss_total_bytes": number_or_empty(row["pss_total_bytes"]),
                     "memory_rss_total_bytes": number_or_empty(row["rss_total_bytes"]),
                     "memory_rss_max_bytes": number_or_empty(row["rss_max_bytes"]),
                     "work_flops": number_or_empty(row["work_flops"]), "work_bytes": number_or_empty(row["work_bytes"]),
                     "work_items": number_or_empty(row["work_items"]), "schema": row["schema"], "line": row["line"],
                     "key": row["key"]}
            for k in param_names:
                value = row["params"].get(k, "")
                cells[PARAM_PREFIX + k] = json.dumps(value) if isinstance(value, (dict, list)) else value
            yield [cells[c] for c in header]


def bool_cell(value):
    return "" if value is None else ("true" if value else "false")


def thicket_document(table, source):
    """Thicket.to_json's shape: graph, dataframe (+ indices), metadata, metrics, profiles."""
    names = sorted({callpath(row) for row, _, _ in repetitions(table)})
    node_of = {name: i for i, name in enumerate(names)}
    graph = {str(i): {"data": {"name": name, "type": "kernel"}, "children": [], "parents": []}
             for name, i in node_of.items()}
    dataframe, metadata, profiles, mapping = [], [], [], {}
    for row, number, seconds in repetitions(table):
        profile = "runs.jsonl:%d:rep%d" % (row["line"], number)
        profiles.append(profile)
        mapping[profile] = "%s line %d, repetition %d" % (source, row["line"], number)
        dataframe.append({"node": node_of[callpath(row)], "profile": profile, "name": callpath(row),
                          "time_s": seconds})
        meta = {"profile": profile, "kernel": row["kernel"], "variant": row["variant"], "ranks": int(row["ranks"]),
                "threads": int(row["threads"]), "nodes": int(row["nodes"]), "cores": int(row["cores"]),
                "rep": number, "scaling": row["scaling"], "weak_factor": float(row["weak_factor"]),
                "aligned": row["aligned"], "oversubscribed": row["oversubscribed"], "key": row["key"]}
        meta.update({PARAM_PREFIX + k: v for k, v in row["params"].items()})
        metadata.append(meta)
    return {"graph": [graph], "dataframe_indices": ["node", "profile"], "dataframe": dataframe,
            "metadata": metadata, "inclusive_metrics": ["time_s"], "exclusive_metrics": [],
            "profile": profiles, "profile_mapping": mapping}


def open_output(path):
    if path == "-":
        return sys.stdout
    try:
        return open(path, "w", newline="")
    except OSError as error:
        raise InputError("--out: cannot write '%s': %s" % (path, error.strerror))


def write(stream, fmt, table, source):
    if fmt == "extrap":
        stream.writelines(extrap_lines(table))
    elif fmt == "csv":
        csv.writer(stream, lineterminator="\n").writerows(csv_rows(table))
    else:
        json.dump(thicket_document(table, source), stream, indent=1)
        stream.write("\n")


def export(sweep, fmt, out):
    check_exportable(sweep)
    table = sweep.table
    if fmt in ("extrap", "thicket"):
        check_points_unique(table)
    path = out or os.path.join(sweep.directory, DEFAULT_NAMES[fmt])
    stream = open_output(path)
    try:
        write(stream, fmt, table, sweep.runs_path)
        if stream is not sys.stdout:
            stream.close()
        else:
            stream.flush()
    except OSError as error:  # disk full, a closed pipe: reported with the file's name
        raise OSError(error.errno, error.strerror, path)
    count = sum(1 for _ in repetitions(table))
    if path != "-":
        note("wrote %s (%d repetitions of %d configurations)" % (path, count, (table["status"] == "ok").sum()))
    return 0
