#!/usr/bin/env bash
# Fails when a C or C++ source of the tree differs from what clang-format makes of it with the
# repository's .clang-format, and names each such file with the command that fixes it.
#   check_format.sh <source dir> [clang-format binary]
set -euo pipefail
source_dir=$1
formatter=${2:-clang-format-14}
cd "$source_dir"
command -v "$formatter" >/dev/null || { echo "check_format: $formatter is not installed" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -d '' files < <(git ls-files -z -- '*.cc' '*.hpp' '*.h')
else
  mapfile -d '' files < <(find . -path ./build -prune -o -path './build-*' -prune -o \
    -type f \( -name '*.cc' -o -name '*.hpp' -o -name '*.h' \) -print0)
fi
((${#files[@]})) || { echo "check_format: no sources found under $source_dir" >&2; exit 1; }
unformatted=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  "$formatter" --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "check_format: ${#unformatted[@]} of ${#files[@]} files are not formatted; fix with:"
  printf '  %s -i %s\n' "$formatter" "${unformatted[@]}"
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
