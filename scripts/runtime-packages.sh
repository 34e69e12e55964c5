#!/usr/bin/env bash
# Prints the Debian packages that provide the shared libraries the given ELF files load, one per
# line, sorted. The container build (Dockerfile) uses it to install in the runtime image exactly
# the libraries the driver, polycsictl and the plugins need, whatever the build linked.
# Usage: scripts/runtime-packages.sh FILE...   (fails, naming it, on a library no package owns)
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 ELF-FILE..." >&2
  exit 2
fi

declare -A packages=()
for file in "$@"; do
  [[ -f "$file" ]] || { echo "runtime-packages: no such file: $file" >&2; exit 1; }
  # "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)"; "not found" is an error.
  if ldd "$file" | grep -q "not found"; then
    echo "runtime-packages: $file has unresolved libraries:" >&2
    ldd "$file" | grep "not found" >&2
    exit 1
  fi
  while read -r library; do
    # dpkg knows the path the package shipped, /lib/... or /usr/lib/... (merged /usr): search
    # by name, then keep the package whose path is the loaded one, not a /lib32 namesake.
    owner=$(dpkg -S "*/$(basename "$library")" 2>/dev/null |
              awk -F': ' -v a="$library" -v b="/usr$library" -v c="${library#/usr}" \
                '$2 == a || $2 == b || $2 == c {print $1; exit}' | cut -d: -f1) || true
    [[ -n "$owner" ]] || { echo "runtime-packages: no Debian package owns $library" >&2; exit 1; }
    packages["$owner"]=1
  done < <(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
done
printf '%s\n' "${!packages[@]}" | sort
