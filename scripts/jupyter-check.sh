#!/usr/bin/env bash
# Runs every notebook in notebooks/ (quick mode) in Jupyter's .NET kernel, the Microsoft.dotnet-interactive 1.0.712001
# tool, headless with nbconvert, and exits 1 if any cell of any notebook errors. CI runs it on Debian 12 after
#   sudo apt-get install jupyter-nbconvert jupyter-notebook python3-ipykernel
# (environment.md, "Jupyter"). The tool and the kernel spec go into a temporary folder, not the user's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work" "$root"/notebooks/.jupyter-check-*.ipynb' EXIT

command -v jupyter >/dev/null || { echo "jupyter-check: jupyter is not installed (apt-get install jupyter-nbconvert jupyter-notebook python3-ipykernel)" >&2; exit 2; }
dotnet build "$root/src/RlRig.Notebook" -v quiet -nologo >/dev/null
dotnet tool install Microsoft.dotnet-interactive --version 1.0.712001 --tool-path "$work/tools" >/dev/null
# The kernel spec starts dotnet-interactive by name: the folder must be on PATH of the Jupyter process, or the kernel
# dies before replying to kernel_info.
export PATH="$work/tools:$PATH"
export JUPYTER_PATH="$work/jupyter" DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1
mkdir -p "$JUPYTER_PATH/kernels"
dotnet-interactive jupyter install --path "$JUPYTER_PATH/kernels" >/dev/null

status=0
for notebook in "$root"/notebooks/*.ipynb; do
  name=$(basename "$notebook")
  # Quick mode as rlrig run --param quick=true sets it: the parameters cell's assignment, edited in a copy beside the
  # original so the notebook's relative paths (#r, data files) still resolve.
  copy="$root/notebooks/.jupyter-check-$name"
  python3 - "$notebook" "$copy" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
for cell in nb["cells"]:
    if "parameters" in cell.get("metadata", {}).get("tags", []):
        cell["source"] = "".join(cell["source"]).replace("var quick = false;", "var quick = true;")
json.dump(nb, open(sys.argv[2], "w"))
PY
  start=$(date +%s)
  if jupyter nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=.net-csharp \
       --ExecutePreprocessor.timeout=600 --output-dir "$work/out" --output "$name" "$copy" >"$work/$name.log" 2>&1; then
    errors=$(python3 -c 'import json,sys; nb=json.load(open(sys.argv[1])); print(sum(o.get("output_type")=="error" for c in nb["cells"] for o in c.get("outputs",[])))' "$work/out/$name")
    if [ "$errors" = "0" ]; then echo "jupyter-check: $name ran in $(( $(date +%s) - start )) s"; else echo "jupyter-check: $name has $errors error outputs" >&2; status=1; fi
  else
    echo "jupyter-check: $name failed:" >&2; tail -30 "$work/$name.log" >&2; status=1
  fi
  rm -f "$copy"
done
exit $status
