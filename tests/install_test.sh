#!/bin/sh
# install_test.sh: `make install` into a temporary prefix, then build examples/xor.c the way a
# user would, with pkg-config, against the shared library, and run it.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MAKEFLAGS= make -s install B="${B:-build}" PREFIX="$tmp" >/dev/null || { echo "install: 0 passed, 1 failed"; exit 1; }
export PKG_CONFIG_PATH="$tmp/lib/pkgconfig"
pass=0 fail=0
for f in include/glia.h lib/libglia.a lib/libglia.so bin/glia lib/pkgconfig/glia.pc; do
  if [ -e "$tmp/$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL install: missing $f"; fi
done
if ${CC:-cc} examples/xor.c $(pkg-config --cflags --libs glia) -lm -o "$tmp/xor" &&
   LD_LIBRARY_PATH="$tmp/lib" "$tmp/xor" >"$tmp/out" 2>&1 && grep -q "4 of 4 right" "$tmp/out"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL install: examples/xor.c via pkg-config"; cat "$tmp/out" 2>/dev/null
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
