#!/usr/bin/env bash
# Builds every connector in this workspace as a wasm32-wasip2 component
# (release profile) and copies each to dist/<folder>.wasm, printing sizes.
#
#   plugins/build.sh              the connectors (plugins/*/ with a cdylib)
#   plugins/build.sh --examples   also plugins/examples/*/
#
# Safe to call from the host's build.rs: it uses this workspace's own target
# dir and drops flags meant for the host's build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

dirs=(*/)
if [[ "${1:-}" == "--examples" ]]; then
  dirs+=(examples/*/)
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--examples]" >&2
  exit 2
fi

# Flags and wrappers of an outer cargo (e.g. the host's build.rs) must not
# leak into the wasm build.
unset CARGO_ENCODED_RUSTFLAGS RUSTFLAGS CARGO_BUILD_TARGET RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER

packages=()
names=()
for dir in "${dirs[@]}"; do
  manifest="${dir}Cargo.toml"
  [[ -f "$manifest" ]] && grep -q 'crate-type *= *\[ *"cdylib"' "$manifest" || continue
  package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n1)
  packages+=("$package")
  names+=("$(basename "$dir")")
done
if [[ ${#packages[@]} -eq 0 ]]; then
  echo "build.sh: no connector crates found" >&2
  exit 1
fi

cargo build --target wasm32-wasip2 --release --locked $(printf -- '-p %s ' "${packages[@]}")

target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p dist
printf '%-24s %10s\n' component bytes
for i in "${!packages[@]}"; do
  built="$target_dir/wasm32-wasip2/release/${packages[$i]//-/_}.wasm"
  out="dist/${names[$i]}.wasm"
  # A component starts with \0asm, version 0x0d, layer 1 (a core module has layer 0).
  if [[ "$(head -c 8 "$built" | od -An -tx1 | tr -d ' \n')" != "0061736d0d000100" ]]; then
    echo "build.sh: $built is not a WebAssembly component" >&2
    exit 1
  fi
  cp "$built" "$out"
  printf '%-24s %10s\n' "$out" "$(stat -c %s "$out")"
done
