#!/usr/bin/env bash
# Distributed runs through the `mlcn` binary under mpirun (ctest dist_cli; needs Fashion-MNIST,
# else exits 77 = skipped):
#  1. a 2-rank model-parallel run of 300 steps and its checkpoint, bitwise equal to one process;
#  2. that run resumed for one more epoch in 1 process and in 3 ranks: both equal the
#     uninterrupted 1-process run bitwise (the placement is solved again for each);
#  3. a rank killed mid-step (SIGKILL) and a rank failing with an error: every rank exits
#     non-zero within 60 s, the message names the rank, the last checkpoint still loads;
#  4. `mlcn info` under mpirun lists every rank's devices.
# Usage: cli_dist.sh MLCN MPIEXEC
set -uo pipefail
mlcn=$1
mpiexec=$2
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || { echo "no Fashion-MNIST: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fail() { echo "FAIL: $*"; exit 1; }
mpi() { local n=$1; shift; "$mpiexec" --oversubscribe -np "$n" "$@"; }
cat > cfg.json <<'JSON'
{"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1}, {"type": "mlcn1", "width": 1, "depth": 2},
                     {"type": "mlcn2", "width": 1, "depth": 1}], "lane_dropout": 0.3},
 "data": {"train_limit": 600, "test_limit": 100},
 "train": {"epochs": 2, "batch_size": 4, "shift_fraction": 0.1, "log_every": 1000},
 "runtime": {"threads": 1}}
JSON
params() { python3 -c "
import json, struct, sys, hashlib
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
print(hashlib.sha256(b''.join(b[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]] for k, v in sorted(h.items()) if k != '__metadata__')).hexdigest())" "$1"; }

# 1. 300 steps on 2 ranks against one process.
mpi 2 "$mlcn" train --config cfg.json --out two > two.log 2>&1 || { cat two.log; fail "2-rank run"; }
"$mlcn" train --config cfg.json --out one > one.log 2>&1 || { cat one.log; fail "1-process run"; }
[ "$(params two/last.safetensors)" = "$(params one/last.safetensors)" ] || fail "2-rank checkpoint differs from 1 process"
[ "$(ls two | wc -l)" -ge 5 ] || fail "run directory incomplete: $(ls two)"
echo "ok: 2 ranks x 300 steps equal one process bitwise"

# 2. Resume one more epoch in 1 process and in 3 ranks; the uninterrupted run for reference.
"$mlcn" train --config cfg.json --set train.epochs=3 --out ref3 > ref3.log 2>&1 || fail "reference run"
cp -r two resume1 && cp -r two resume3
"$mlcn" train --resume resume1 --set train.epochs=3 > r1.log 2>&1 || { cat r1.log; fail "resume in 1 process"; }
mpi 3 "$mlcn" train --resume resume3 --set train.epochs=3 > r3.log 2>&1 || { cat r3.log; fail "resume in 3 ranks"; }
ref=$(params ref3/last.safetensors)
[ "$(params resume1/last.safetensors)" = "$ref" ] || fail "resumed in 1 process differs from the uninterrupted run"
[ "$(params resume3/last.safetensors)" = "$ref" ] || fail "resumed in 3 ranks differs from the uninterrupted run"
echo "ok: resumed in 1 process and in 3 ranks equal the uninterrupted run bitwise"

# 3. Failures in epoch 2 (step 200 of 150 per epoch): bounded exit, rank named, checkpoint intact.
for kind in kill error; do
  cp -r two "f_$kind"
  start=$(date +%s)
  MLCN_FAULT=$kind:1:200 timeout 90 "$mpiexec" --oversubscribe -np 2 "$mlcn" train --config cfg.json --out "f_$kind" \
    > "f_$kind.log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "f_$kind.log"; fail "$kind: exit status $rc"; }
  [ "$took" -le 60 ] || fail "$kind: took $took s"
  grep -q "rank 1" "f_$kind.log" || { cat "f_$kind.log"; fail "$kind: rank 1 not named"; }
  "$mlcn" eval --checkpoint "f_$kind/last.safetensors" --set data.test_limit=20 > /dev/null 2>&1 \
    || fail "$kind: last checkpoint damaged"
  echo "ok: $kind on rank 1: exit $rc after $took s, rank named, checkpoint loads"
done

# 4. mlcn info lists both ranks.
mpi 2 "$mlcn" info > info.json 2> info.log || fail "info"
python3 -c "import json,sys; j=json.load(open('info.json')); sys.exit(0 if len(j['ranks']) == 2 else 1)" \
  || { cat info.json; fail "info does not list 2 ranks"; }
echo "ok: info lists 2 ranks"
