#!/bin/sh
# build.sh OUT_DIR - build test_fast_unwind and its helpers by hand (what
# meson does), then run it.  Extra variants: -O2 ASan+UBSan, and the
# build that walks every frame with every pc of a module in one cache slot
# (and reads stack mappings from the text of /proc/self/maps).
set -eu
src=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:-/tmp/fast_unwind}
d=$src/tests/unit/fast_unwind
mkdir -p "$out"
cc=${CC:-gcc}
$cc -std=gnu11 -O0 -g -fPIC -shared -o "$out/libfu_plugin_o0.so" "$d/plugin.c"
$cc -std=gnu11 -O2 -g -fomit-frame-pointer -fPIC -shared -o "$out/libfu_plugin_o2.so" "$d/plugin.c"
$cc -fPIC -shared -o "$out/libfu_stale_a.so" "$d/stale_a.S"
$cc -fPIC -shared -o "$out/libfu_stale_b.so" "$d/stale_b.S"
$cc -std=gnu11 -O0 -g -c -o "$out/chain_o0.o" "$d/chain_o0.c"
$cc -std=gnu11 -O2 -g0 -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-omit-frame-pointer -c -o "$out/no_cfi.o" "$d/no_cfi.c"
$cc -c -o "$out/two_sites.o" "$d/two_sites.S"
$cc -c -o "$out/realigned.o" "$d/realigned.S"
u=$src/src/unwind
main="$src/tests/unit/test_fast_unwind.c $u/fast_unwind.c $u/cfi.c $u/stack_bounds.c $out/chain_o0.o $out/no_cfi.o $out/two_sites.o $out/realigned.o"
libs="-lunwind -ldl -lpthread"
$cc -std=gnu11 -O2 -g -Wall -Wextra -fomit-frame-pointer -I"$src/src" \
	-o "$out/test_fast_unwind" $main $libs
$cc -std=gnu11 -O2 -g -fomit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I"$src/src" -DFU_WALKS=3000 \
	-o "$out/test_fast_unwind_san" $main $libs
$cc -std=gnu11 -O2 -g -fomit-frame-pointer -I"$src/src" -DLP_FAST_UNWIND_MEMO=0 \
	-DLP_FAST_UNWIND_HASH_MUL=1 -DFU_WALKS=2000 \
	-o "$out/test_fast_unwind_collide" $main $libs
for t in test_fast_unwind test_fast_unwind_san test_fast_unwind_collide; do
	echo "== $t"
	flags=
	[ $t = test_fast_unwind_collide ] && flags=--maps-text
	"$out/$t" "$out" $flags | tail -1
done
