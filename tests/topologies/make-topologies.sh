#!/usr/bin/env bash
# Regenerates the node descriptions in this folder from hwloc's synthetic syntax (see README.md
# for the real machine each one models and where its shape comes from). Needs lstopo (hwloc 2.x).
# Usage: tests/topologies/make-topologies.sh   (writes the .xml files next to this script)
set -euo pipefail
cd "$(dirname "$0")"
GiB=1073741824
MiB=1048576
KiB=1024

make_node() {  # name "synthetic description"
  lstopo-no-graphics --no-io --if synthetic --input "$2" --of xml "$1.xml.tmp"
  mv "$1.xml.tmp" "$1.xml"
}

# LUMI-C: 2 x AMD EPYC 7763 (Zen 3 "Milan"), NPS4: 4 NUMA domains per socket, 2 CCDs (one 32 MiB
# L3 each, 8 cores) per domain, SMT2; 256 GiB. Linux numbers the second hardware thread of core c as c + 128.
make_node epyc7763-2s-nps4 \
  "package:2 group:4 [numa(memory=$((32 * GiB)))] l3cache:2(size=$((32 * MiB))) l2cache:8(size=$((512 * KiB))) core:1 pu:2(indexes=2*128:1*2)"

# ARCHER2: 2 x AMD EPYC 7742 (Zen 2 "Rome"), NPS4: 4 NUMA domains per socket, 4 CCXs (one 16 MiB
# L3 each, 4 cores) per domain, SMT2; 256 GiB.
make_node epyc7742-2s-nps4 \
  "package:2 group:4 [numa(memory=$((32 * GiB)))] l3cache:4(size=$((16 * MiB))) l2cache:4(size=$((512 * KiB))) core:1 pu:2(indexes=2*128:1*2)"

# 2 x Intel Xeon Platinum 8480+ (Sapphire Rapids, 56 cores = 4 tiles of 14), sub-NUMA clustering
# SNC4: one NUMA domain per tile, the 105 MiB L3 shared by the whole socket, Hyper-Threading; 256 GiB.
make_node xeon8480-2s-snc4 \
  "package:2 l3cache:1(size=$((105 * MiB))) group:4 [numa(memory=$((32 * GiB)))] l2cache:14(size=$((2 * MiB))) core:1 pu:2(indexes=2*112:1*2)"

# 1 x AMD EPYC 9654 (Zen 4 "Genoa", 96 cores = 12 CCDs of 8, 32 MiB L3 each), NPS1, SMT2; 384 GiB.
make_node epyc9654-1s-nps1 \
  "package:1 [numa(memory=$((384 * GiB)))] l3cache:12(size=$((32 * MiB))) l2cache:8(size=$((1 * MiB))) core:1 pu:2(indexes=2*96:1*2)"

# A laptop: Intel Core i7-1165G7 (Tiger Lake), 4 cores / 8 threads, 12 MiB L3; 16 GiB.
make_node laptop-i7-1165g7 \
  "package:1 [numa(memory=$((16 * GiB)))] l3cache:1(size=$((12 * MiB))) l2cache:4(size=$((1280 * KiB))) core:1 pu:2(indexes=2*4:1*2)"

# Bad input for the tests: a node without Core objects (hwloc reads it; hk must refuse it).
# invalid/truncated.xml is written by hand: an XML document cut off in the middle.
make_node invalid/no-cores "package:1 [numa] pu:4"
