"""Reading `hk sweep` directories for `hk plot` and `hk export`.

Every line of runs.jsonl is parsed and checked on its own: a line that is not JSON, or a record
whose fields have the wrong type (a string in `ranks`, a zero median, ...), is skipped with a
warning naming the file and line. The records that pass are flattened with pandas
(`json_normalize`) into one table with fixed column names (see `_table`), one row per
configuration: when a configuration was recorded more than once (a resumed or repeated sweep), its
last record counts.

Schemas: hybridkit.run/1 (time_s min/median/max only) and hybridkit.run/2 (plus time_s.reps, every
repetition). One directory holds one schema: a directory that mixes them is refused (exit 2),
because its spread would silently mean two different things. Directories of different schemas
may be compared; the plot then says which schema each one has.
"""
import json
import math
import os
import sys

try:
    import numpy as np
    import pandas as pd
except ImportError as missing:
    sys.stderr.write(
        "hk: error: %s is not available to %s; use a Python that has it (Debian: apt-get install "
        "python3-pandas python3-matplotlib, then --python /usr/bin/python3)\n" % (missing.name, sys.executable))
    sys.exit(3)

SCHEMAS = ("hybridkit.run/1", "hybridkit.run/2")
SCHEMA_WITH_REPS = "hybridkit.run/2"
MIB = 1024.0 * 1024.0
# "hk plot" or "hk export": the prefix of every message (set by the entry point).
PROGRAM = ["hk plot"]
# Where notes go: standard output, or standard error when the output itself goes there.
NOTES = [sys.stdout]


class InputError(Exception):
    """Bad input: reported as one line, exit status 2."""


def warn(message):
    sys.stderr.write("%s: warning: %s\n" % (PROGRAM[0], message))


def note(message):
    NOTES[0].write("%s: %s\n" % (PROGRAM[0], message))
    NOTES[0].flush()


# ---- checking one record ----------------------------------------------------------------------

def _shown(value):
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


INT_LIMIT = 2 ** 31 - 1  # ranks, threads, nodes: beyond this a record is corrupt, not a big machine


def _count_problem(name, value):
    if not _is_int(value) or not 1 <= value <= INT_LIMIT:
        return "%s is %s, not a positive integer (at most %d)" % (name, _shown(value), INT_LIMIT)
    return None


def _check_identity(r):
    if r.get("schema") not in SCHEMAS:
        return "schema %s is not one this script reads (%s)" % (_shown(r.get("schema")), ", ".join(SCHEMAS))
    for field in ("kernel", "variant", "status"):
        if not isinstance(r.get(field), str) or not r.get(field):
            return "%s is %s, not a non-empty string" % (field, _shown(r.get(field)))
    for field in ("ranks", "threads"):
        if _count_problem(field, r.get(field)):
            return _count_problem(field, r.get(field))
    if "nodes" in r and _count_problem("nodes", r["nodes"]):
        return _count_problem("nodes", r["nodes"])
    if not isinstance(r.get("params", {}), dict):
        return "params is %s, not an object" % _shown(r.get("params"))
    return None


def _check_time(r):
    t = r.get("time_s")
    if r["status"] != "ok":
        return None if t is None or isinstance(t, dict) else "time_s is %s, not an object" % _shown(t)
    if not isinstance(t, dict):
        return "time_s is %s, not an object" % _shown(t)
    for field in ("min", "median", "max"):
        if not _is_number(t.get(field)) or t.get(field) <= 0:
            return "time_s.%s is %s, not a time > 0 s (status ok)" % (field, _shown(t.get(field)))
    if not t["min"] <= t["median"] <= t["max"]:
        return "time_s min %g, median %g, max %g are not in order" % (t["min"], t["median"], t["max"])
    if r["schema"] == SCHEMA_WITH_REPS:
        return _check_reps(t)
    return None


def _close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12


def _check_reps(t):
    reps = t.get("reps")
    if not isinstance(reps, list) or not reps or not all(_is_number(v) and v > 0 for v in reps):
        return "time_s.reps is %s, not a list of times > 0 s" % _shown(reps)
    if not (_close(min(reps), t["min"]) and _close(max(reps), t["max"])
            and _close(float(np.median(reps)), t["median"])):
        return "time_s min/median/max do not match time_s.reps"
    return None


def _check_numbers(r, block, fields, allow_negative=False):
    """Optional numbers (or null) of one block (phases_s, memory, rate, work)."""
    value = r.get(block)
    if value is None:
        return None
    if not isinstance(value, dict):
        return "%s is %s, not an object" % (block, _shown(value))
    for field in fields:
        v = value.get(field)
        if v is not None and (not _is_number(v) or (v < 0 and not allow_negative)):
            return "%s.%s is %s, not a number >= 0" % (block, field, _shown(v))
    return None


SWEEP_TYPES = {
    "key": (str,), "scaling": (str,), "oversubscribed": (bool,), "aligned": (bool,),
}


def _check_sweep(r):
    s = r.get("sweep")
    if s is None:
        return None
    if not isinstance(s, dict):
        return "sweep is %s, not an object" % _shown(s)
    for field, types in SWEEP_TYPES.items():
        if s.get(field) is not None and not isinstance(s[field], types):
            return "sweep.%s is %s, not a %s" % (field, _shown(s[field]), types[0].__name__)
    for field in ("nodes", "budget_cores"):
        if s.get(field) is not None and _count_problem("sweep." + field, s[field]):
            return _count_problem("sweep." + field, s[field])
    if s.get("weak_factor") is not None and (not _is_number(s["weak_factor"]) or s["weak_factor"] <= 0):
        return "sweep.weak_factor is %s, not a number > 0" % _shown(s["weak_factor"])
    families = s.get("families")
    if families is not None and (not isinstance(families, list)
                                 or any(_count_problem("family", f) for f in families)):
        return "sweep.families is %s, not a list of positive integers" % _shown(families)
    return None


def record_problem(r):
    """Why record r cannot be used, or None."""
    checks = (
        _check_identity,
        _check_time,
        lambda r: _check_numbers(r, "phases_s", ("compute", "comm", "other")),
        lambda r: _check_numbers(r, "memory", ("rss_max_bytes", "rss_total_bytes", "pss_total_bytes")),
        lambda r: _check_numbers(r, "rate", ("value",)),
        lambda r: _check_numbers(r, "work", ("flops", "bytes", "items")),
        _check_sweep,
    )
    for check in checks:
        problem = check(r)
        if problem:
            return problem
    if r.get("rate") is not None and r["rate"].get("unit") is not None and not isinstance(r["rate"]["unit"], str):
        return "rate.unit is %s, not a string" % _shown(r["rate"]["unit"])
    if r.get("reps") is not None and (not _is_int(r["reps"]) or r["reps"] < 0):
        return "reps is %s, not a count" % _shown(r["reps"])
    return None


# ---- reading a directory ----------------------------------------------------------------------

def _lines(path):
    """(line number, text) of every complete, non-blank line; a partial last line is reported."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    lines = text.split("\n")
    if lines[-1].strip():
        warn("%s:%d: skipped: partial last line (no newline; a sweep still writing, or killed)" % (path, len(lines)))
    return [(number, line) for number, line in enumerate(lines[:-1], start=1) if line.strip()]


def _parse(path, number, line):
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:
        warn("%s:%d: skipped: not JSON (%s)" % (path, number, getattr(error, "msg", "nested too deeply")))
        return None
    if not isinstance(record, dict):
        warn("%s:%d: skipped: not a JSON object" % (path, number))
        return None
    problem = record_problem(record)
    if problem:
        warn("%s:%d: skipped: %s" % (path, number, problem))
        return None
    return record


def read_records(path):
    """The usable records of a runs.jsonl, each with its line number in `_line`; skipped count."""
    records, skipped = [], 0
    for number, line in _lines(path):
        record = _parse(path, number, line)
        if record is None:
            skipped += 1
            continue
        record["_line"] = number
        records.append(record)
    return records, skipped


def _schema_of(path, records):
    lines_by_schema = {}
    for r in records:
        lines_by_schema.setdefault(r["schema"], []).append(r["_line"])
    if len(lines_by_schema) > 1:
        parts = []
        for schema, lines in sorted(lines_by_schema.items()):
            shown = ", ".join(str(n) for n in lines[:3]) + (", ..." if len(lines) > 3 else "")
            parts.append("%s (line %s)" % (schema, shown))
        raise InputError("%s mixes record schemas %s; one directory must hold one schema (sweep into a new "
                         "directory, or compare the two as separate directories)" % (path, " and ".join(parts)))
    return next(iter(lines_by_schema))


def read_sweep_info(directory):
    """sweep.json as a dict; {} (with a warning) when it is missing or unreadable."""
    path = os.path.join(directory, "sweep.json")
    if not os.path.exists(path):
        return {}
    try:
        with open(path, "rb") as f:
            info = json.loads(f.read().decode("utf-8", "replace"))
    except (ValueError, RecursionError, OSError) as error:
        warn("%s: ignored, not readable JSON (%s); the figures use the records alone"
             % (path, getattr(error, "msg", None) or getattr(error, "strerror", None) or "nested too deeply"))
        return {}
    if not isinstance(info, dict):
        warn("%s: ignored, not a JSON object; the figures use the records alone" % path)
        return {}
    return info


class Sweep:
    """One directory: its label, sweep.json, schema and the table of its configurations."""

    def __init__(self, directory, label):
        self.directory = directory
        self.label = label
        self.runs_path = os.path.join(directory, "runs.jsonl")
        if not os.path.isdir(directory):
            raise InputError("%s is not a directory" % directory)
        if not os.path.isfile(self.runs_path):
            raise InputError("%s has no runs.jsonl (run hk sweep ... --out %s first)" % (directory, directory))
        records, skipped = read_records(self.runs_path)
        if not records:
            raise InputError("%s holds no readable records%s" % (
                self.runs_path, " (%d line(s) skipped, see the warnings above)" % skipped if skipped else ""))
        self.schema = _schema_of(self.runs_path, records)
        self.info = read_sweep_info(directory)
        table = _table(records, label)
        self.table = table.drop_duplicates("config", keep="last").reset_index(drop=True)
        self.superseded = len(table) - len(self.table)
        if self.superseded:
            note("%s: %d earlier record(s) of configurations recorded again (a resumed or repeated sweep) "
                 "superseded by the last one" % (self.runs_path, self.superseded))


# ---- the table ---------------------------------------------------------------------------------

def _column(flat, name, default=None):
    if name in flat.columns:
        return flat[name].where(flat[name].notna(), default) if default is not None else flat[name]
    return pd.Series([default] * len(flat), index=flat.index, dtype=object)


def _none_if_nan(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def params_text(params):
    """Compact JSON of a params object, keys sorted: the same text as the sweep's resume key."""
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"))


def resume_key(kernel, variant, params, ranks, threads, nodes):
    return "%s\t%s\t%s\t%dx%dx%d" % (kernel, variant, params_text(params), ranks, threads, nodes)


def _figure_params(record):
    """The params the figures compare runs by. A user's own program (kernel exec) has its arguments
    as run in params ({threads} replaced per mix); the figures take its argument template instead,
    so that its mixes are one application, not one per argument list."""
    params = dict(record.get("params") or {})
    template = ((record.get("metrics") or {}).get("exec") or {}).get("args_template")
    if record.get("kernel") == "exec" and isinstance(template, list):
        params["args"] = template
    return params


def _table(records, label):
    """One row per record with the columns the figures and exports use (flattened by pandas)."""
    flat = pd.json_normalize(records)
    t = pd.DataFrame(index=flat.index)
    t["dir"] = label
    t["line"] = flat["_line"].astype(int)
    t["schema"] = flat["schema"]
    for name in ("kernel", "variant", "status"):
        t[name] = flat[name]
    t["params"] = [_figure_params(r) for r in records]
    t["params_text"] = t["params"].map(params_text)
    t["ranks"] = flat["ranks"].astype(int)
    t["threads"] = flat["threads"].astype(int)
    # sweep.nodes (the sweep's node count of this configuration) wins over the runtime's nodes.
    t["nodes"] = _column(flat, "sweep.nodes").fillna(_column(flat, "nodes")).fillna(1).astype(int)
    t["cores"] = t["ranks"] * t["threads"]
    t["scaling"] = _column(flat, "sweep.scaling").map(_none_if_nan)
    t["weak_factor"] = _column(flat, "sweep.weak_factor").fillna(1.0).astype(float)
    t["families"] = [list((r.get("sweep") or {}).get("families") or [r["threads"]]) for r in records]
    t["aligned"] = [(r.get("sweep") or {}).get("aligned") for r in records]
    t["oversubscribed"] = [(r.get("sweep") or {}).get("oversubscribed") for r in records]
    _time_columns(t, flat, records)
    for column, field in (("compute_s", "phases_s.compute"), ("comm_s", "phases_s.comm"),
                          ("other_s", "phases_s.other"), ("pss_total_bytes", "memory.pss_total_bytes"),
                          ("rss_total_bytes", "memory.rss_total_bytes"), ("rss_max_bytes", "memory.rss_max_bytes"),
                          ("rate", "rate.value"), ("work_flops", "work.flops"), ("work_bytes", "work.bytes"),
                          ("work_items", "work.items")):
        t[column] = pd.to_numeric(_column(flat, field), errors="coerce")
    t["rate_unit"] = _column(flat, "rate.unit").map(_none_if_nan)
    t["hostname"] = _column(flat, "provenance.hostname").map(_none_if_nan)
    t["started_at"] = _column(flat, "provenance.started_at").map(_none_if_nan)
    t["key"] = [(r.get("sweep") or {}).get("key") or resume_key(r["kernel"], r["variant"], r.get("params"),
                                                                  r["ranks"], r["threads"], n)
                for r, n in zip(records, t["nodes"])]
    t["config"] = t["key"] + "\tweak " + t["weak_factor"].map(repr)
    return t


def _time_columns(t, flat, records):
    ok = t["status"] == "ok"
    for column, field in (("min_s", "time_s.min"), ("median_s", "time_s.median"), ("max_s", "time_s.max")):
        t[column] = pd.to_numeric(_column(flat, field), errors="coerce").where(ok)
    t["reps"] = [list(r["time_s"]["reps"]) if ok_ and isinstance((r.get("time_s") or {}).get("reps"), list) else None
                 for r, ok_ in zip(records, ok)]
    counted = [len(reps) if reps is not None else r.get("reps") for r, reps in zip(records, t["reps"])]
    t["n_reps"] = pd.Series(counted, index=t.index, dtype=object).where(ok, None)


# ---- statistics --------------------------------------------------------------------------------

SPREADS = {
    "minmax": "min-max of the repetitions",
    "iqr": "interquartile range (25th-75th percentile, numpy's linear interpolation) of the repetitions",
}


def choose_spread(tables, asked):
    """'minmax' or 'iqr'. auto: the IQR when every ok configuration has at least 4 repetitions
    recorded (schema /2); with fewer, or only min/median/max (schema /1), min-max."""
    ok = pd.concat([t[t["status"] == "ok"] for t in tables])
    has_reps = len(ok) > 0 and all(reps is not None and len(reps) >= 4 for reps in ok["reps"])
    if asked == "iqr" and not all(reps is not None for reps in ok["reps"]):
        raise InputError("--spread iqr needs every repetition's time (time_s.reps, schema %s); these records "
                         "have min/median/max only: use --spread minmax" % SCHEMA_WITH_REPS)
    if asked == "auto":
        return "iqr" if has_reps else "minmax"
    return asked


def add_spread(t, spread):
    """low_s/high_s: the error bar of each configuration's median time."""
    if spread == "minmax":
        t["low_s"], t["high_s"] = t["min_s"], t["max_s"]
        return t
    bounds = [np.percentile(reps, [25, 75]) if reps is not None else (math.nan, math.nan) for reps in t["reps"]]
    t["low_s"] = [float(b[0]) for b in bounds]
    t["high_s"] = [float(b[1]) for b in bounds]
    return t
