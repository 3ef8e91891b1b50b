#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ for the classifier targets from the labelled corpus and
# the Terraform plan fixtures of airlock-classify, plus the few hand-written seeds in
# fuzz/seeds/. The corpora are not committed (fuzz/corpus is in .gitignore).
#
#     cd fuzz && ./seed-corpus.sh
set -euo pipefail
cd "$(dirname "$0")"
src=../crates/airlock-classify/tests
mkdir -p corpus/classify_shell corpus/classify_sql corpus/classify_plan corpus/classify_manifests

# One file per `bash` line (every corpus file), named by line number.
i=0
while IFS= read -r -d '' cmd; do
    printf '%s' "$cmd" > "corpus/classify_shell/seed-$i"
    i=$((i + 1))
done < <(jq -j 'select(.bash) | .bash + "\u0000"' "$src"/corpus/*.jsonl)

# One file per `sql` line: the first byte picks the dialect, as in the target
# (0 postgres, 1 mysql, 2 sqlite, 3 generic).
i=0
while IFS= read -r -d '' line; do
    d=${line%%$'\t'*}
    q=${line#*$'\t'}
    case $d in postgres) b='\x00' ;; mysql) b='\x01' ;; sqlite) b='\x02' ;; *) b='\x03' ;; esac
    { printf "$b"; printf '%s' "$q"; } > "corpus/classify_sql/seed-$i"
    i=$((i + 1))
done < <(jq -j 'select(.sql) | (.dialect // "generic") + "\t" + .sql + "\u0000"' "$src"/corpus/*.jsonl)

cp "$src"/fixtures/terraform-plans/*.json corpus/classify_plan/
cp seeds/classify_manifests/* corpus/classify_manifests/
for t in classify_shell classify_sql classify_plan classify_manifests; do
    echo "$t: $(ls corpus/$t | wc -l) seeds"
done
