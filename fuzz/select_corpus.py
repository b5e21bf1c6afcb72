"""Picks a small committed corpus from a big working one.

libFuzzer's `-merge=1` keeps every input that adds a feature, in size order,
which still leaves ~900 files here. This is a greedy set cover over the
per-input edges that `-merge=1 -merge_control_file=CTL` records: it picks
the input adding the most not-yet-covered edges (per byte**EXP, EXP=0 by
default), until every edge is covered or the file/byte budget is spent.

usage: EXP=0 python3 select_corpus.py CTL MAX_FILES MAX_BYTES OUT_DIR
(see docs/fuzzing.md)"""
import os, sys
ctl, budget_files, budget_bytes, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = open(ctl, errors='replace').read().split('\n')
nfiles = int(lines[0]); names = lines[2:2+nfiles]
cov = {}
for l in lines[2+nfiles:]:
    if l.startswith('COV '):
        p = l.split(); cov[int(p[1])] = set(map(int, p[2:]))
size = {i: os.path.getsize(names[i]) for i in cov if os.path.exists(names[i])}
universe = set().union(*[cov[i] for i in size])
covered, chosen, total = set(), [], 0
while len(chosen) < budget_files:
    best, score = None, 0
    for i in size:
        gain = len(cov[i] - covered)
        if gain == 0: continue
        s = gain / (size[i] + 200) ** float(os.environ.get("EXP", "0"))
        if s > score and total + size[i] <= budget_bytes: best, score = i, s
    if best is None: break
    covered |= cov[best]; chosen.append(best); total += size[best]
os.makedirs(out, exist_ok=True)
import shutil
for i in chosen: shutil.copy(names[i], out)
print(f"{len(chosen)} files, {total} bytes, {len(covered)}/{len(universe)} edges ({100*len(covered)/len(universe):.1f}%)")
