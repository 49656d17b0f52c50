#!/usr/bin/python3
"""check_multinode.py: checks of records from runs across the simulated cluster's nodes.

  check_multinode.py spans FILE --count N --hosts h1,h2 --cpus h1=0,h2=1
      every record ok and verified, nodes = number of hosts, every host in the placement with the
      same number of ranks, every thread on a CPU of its own node's cpuset
  check_multinode.py same FILE_A POINTER FILE_B
      the value at POINTER (a JSON pointer) is the same in every record of both files
  check_multinode.py b_copies FILE --nodes N --n ORDER [--vs FILE]
      matmul: variant shared holds one B per node (b_copies = N); with --vs (a rowblock run of the
      same ranks and n), PSS total is smaller by at least (ranks - N) - 0.5 copies of B
  check_multinode.py launched FILE --hosts-source S --cores-source S --extra-args JSON
      hk run's record: launch.hosts_source, cores_source, extra_args as given, one host per node,
      ranks_per_node x nodes = ranks
  check_multinode.py sweep_nodes DIR --hosts h1,h2 --cores N
      hk sweep --nodes 1,2: every configuration ok on the first 1 or 2 hosts, budget N per node,
      and sweep.json lists the hosts with their own topology (N cores each)
Exit 0 when every check holds, 1 otherwise (each failure printed).
"""
import argparse
import json
import os
import sys
from collections import Counter


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pointer(record, path):
    value = record
    for part in path.strip("/").split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def cpu_list(text):
    cpus = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def describe(r):
    return f'{r.get("kernel")} {r.get("variant")} {r.get("ranks")}x{r.get("threads")}'


def check_spans(args):
    failures = []
    hosts = args.hosts.split(",")
    node_cpus = {}
    for item in args.cpus.split(","):
        host, _, cpus = item.partition("=")
        node_cpus.setdefault(host, set()).update(cpu_list(cpus))
    found = records(args.file)
    if len(found) != args.count:
        failures.append(f"{args.file}: {len(found)} records, expected {args.count}")
    for r in found:
        what = describe(r)
        if r.get("status") != "ok" or not r.get("verification", {}).get("passed"):
            failures.append(f'{what}: status {r.get("status")}, verified {r.get("verification", {}).get("passed")}')
        if r.get("nodes") != len(hosts):
            failures.append(f'{what}: nodes {r.get("nodes")}, expected {len(hosts)}')
        placement = r.get("placement", [])
        ranks_on = Counter(p["host"] for p in placement if p["thread"] == 0)
        if set(ranks_on) != set(hosts) or len(set(ranks_on.values())) != 1:
            failures.append(f"{what}: ranks per host {dict(ranks_on)}, expected the same number on each of {hosts}")
        for p in placement:
            if p["cpu"] not in node_cpus.get(p["host"], set()):
                failures.append(f'{what}: rank {p["rank"]} thread {p["thread"]} on {p["host"]} ran on CPU {p["cpu"]}, '
                                f'not one of that node\'s CPUs {sorted(node_cpus.get(p["host"], []))}')
        print(f"{what}: {r.get('status')}, nodes {r.get('nodes')}, ranks per host {dict(ranks_on)}, CPUs "
              + " ".join(f'r{p["rank"]}.t{p["thread"]}@{p["host"]}:{p["cpu"]}' for p in placement))
    return failures


def check_same(args):
    failures = []
    values = {}
    for path in (args.file, args.other):
        for r in records(path):
            values.setdefault(json.dumps(pointer(r, args.pointer)), []).append(f"{path}: {describe(r)}")
    if len(values) != 1:
        for value, where in values.items():
            failures.append(f"{args.pointer} = {value} in {', '.join(where)}")
    else:
        value, where = next(iter(values.items()))
        print(f"{args.pointer} = {value} in all {len(where)} records")
    return failures


def check_b_copies(args):
    failures = []
    shared = [r for r in records(args.file) if r.get("variant") == "shared"]
    if not shared:
        return [f"{args.file}: no shared record"]
    for r in shared:
        copies = r["metrics"]["b_copies"]
        print(f"{describe(r)} on {r['nodes']} node(s): b_copies {copies}, PSS total "
              f"{r['metrics']['pss_bytes']['total'] / 2**20:.1f} MiB")
        if r["nodes"] != args.nodes or copies != args.nodes:
            failures.append(f"{describe(r)}: {copies} copies of B on {r['nodes']} nodes, expected one per node ({args.nodes})")
    if args.vs:
        b_bytes = 8.0 * args.n * args.n
        for r in shared:
            rows = [o for o in records(args.vs) if o.get("variant") == "rowblock" and o["ranks"] == r["ranks"]]
            if not rows:
                failures.append(f"{args.vs}: no rowblock record with {r['ranks']} ranks")
                continue
            saved = rows[0]["metrics"]["pss_bytes"]["total"] - r["metrics"]["pss_bytes"]["total"]
            want = (r["ranks"] - args.nodes - 0.5) * b_bytes
            print(f"PSS total: rowblock {r['ranks']} ranks holds {saved / 2**20:.1f} MiB more than shared "
                  f"(B = {b_bytes / 2**20:.1f} MiB; expected at least {want / 2**20:.1f} MiB)")
            if saved < want:
                failures.append(f"PSS: shared saves {saved / 2**20:.1f} MiB over rowblock, expected >= {want / 2**20:.1f} MiB")
    return failures


def check_launched(args):
    failures = []
    extra = json.loads(args.extra_args)
    for r in records(args.file):
        launch = r.get("launch", {})
        shown = {k: launch.get(k) for k in ("hosts_source", "hosts", "cores_source", "cores_per_node", "map_by",
                                             "extra_args")}
        print(f"{describe(r)}: launch {shown}, ranks_per_node {r.get('ranks_per_node')}")
        if launch.get("hosts_source") != args.hosts_source or launch.get("cores_source") != args.cores_source:
            failures.append(f"{describe(r)}: hosts_source/cores_source {shown}, expected {args.hosts_source}/"
                            f"{args.cores_source}")
        if launch.get("extra_args") != extra:
            failures.append(f"{describe(r)}: extra_args {launch.get('extra_args')}, expected {extra}")
        if len(launch.get("hosts", [])) != r.get("nodes") or (r.get("ranks_per_node") or 0) * r["nodes"] != r["ranks"]:
            failures.append(f"{describe(r)}: hosts {launch.get('hosts')}, ranks_per_node {r.get('ranks_per_node')} "
                            f"for {r['ranks']} ranks on {r['nodes']} nodes")
    return failures


def check_sweep_nodes(args):
    failures = []
    hosts = args.hosts.split(",")
    runs = records(os.path.join(args.dir, "runs.jsonl"))
    for r in runs:
        used = sorted({p["host"] for p in r.get("placement", [])})
        print(f"{describe(r)} on {r.get('nodes')} node(s) {used}: {r.get('status')}, ranks_per_node "
              f"{r.get('ranks_per_node')}, budget {r.get('sweep', {}).get('budget_cores')}")
        if r.get("status") != "ok":
            failures.append(f"{describe(r)} on {r.get('nodes')} node(s): {r.get('status')} {r.get('error')}")
        if used != sorted(hosts[: r["nodes"]]):
            failures.append(f"{describe(r)}: ran on {used}, expected the first {r['nodes']} of {hosts}")
        if r.get("sweep", {}).get("budget_cores") != args.cores * r["nodes"]:
            failures.append(f"{describe(r)}: budget {r.get('sweep', {}).get('budget_cores')}, expected "
                            f"{args.cores * r['nodes']}")
    if sorted({r.get("nodes") for r in runs}) != [1, 2]:
        failures.append(f"node counts {sorted({r.get('nodes') for r in runs})}, expected [1, 2]")
    with open(os.path.join(args.dir, "sweep.json")) as f:
        sweep = json.load(f)
    print(f"sweep.json: nodes {sweep.get('nodes')}, cores_per_node {sweep.get('cores_per_node')} "
          f"({sweep.get('cores_source')}), hosts {sweep.get('hosts')}")
    if sweep.get("nodes") != [1, 2] or sweep.get("cores_per_node") != args.cores:
        failures.append(f"sweep.json: nodes {sweep.get('nodes')}, cores_per_node {sweep.get('cores_per_node')}")
    described = sweep.get("hosts", [])
    if [h.get("hostname") for h in described] != sorted(hosts) or any(
            h.get("topology", {}).get("cores") != args.cores for h in described):
        failures.append(f"sweep.json hosts {described}: expected {sorted(hosts)} with {args.cores} core(s) each")
    return failures


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="check", required=True)
    spans = sub.add_parser("spans")
    spans.add_argument("file")
    spans.add_argument("--count", type=int, required=True)
    spans.add_argument("--hosts", required=True)
    spans.add_argument("--cpus", required=True)
    same = sub.add_parser("same")
    same.add_argument("file")
    same.add_argument("pointer")
    same.add_argument("other")
    copies = sub.add_parser("b_copies")
    copies.add_argument("file")
    copies.add_argument("--nodes", type=int, required=True)
    copies.add_argument("--n", type=int, required=True)
    copies.add_argument("--vs")
    launched = sub.add_parser("launched")
    launched.add_argument("file")
    launched.add_argument("--hosts-source", required=True)
    launched.add_argument("--cores-source", required=True)
    launched.add_argument("--extra-args", required=True)
    sweep_nodes = sub.add_parser("sweep_nodes")
    sweep_nodes.add_argument("dir")
    sweep_nodes.add_argument("--hosts", required=True)
    sweep_nodes.add_argument("--cores", type=int, required=True)
    args = parser.parse_args()
    failures = {"spans": check_spans, "same": check_same, "b_copies": check_b_copies, "launched": check_launched,
                "sweep_nodes": check_sweep_nodes}[args.check](args)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
