"""Replaces the text between <!-- NAME:start --> and <!-- NAME:end --> in docs/performance.md
with a results file. Usage: write_docs.py NAME RESULTS (bench/run.sh and bench/micro.sh call it)."""
import sys

name, results = sys.argv[1], sys.argv[2]
doc_path = "docs/performance.md"
table, doc = open(results).read().strip(), open(doc_path).read()
start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
head, rest = doc.split(start, 1)
open(doc_path, "w").write(head + start + "\n" + table + "\n" + end + rest.split(end, 1)[1])
print(f"{doc_path} updated", file=sys.stderr)
