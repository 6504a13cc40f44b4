#!/usr/bin/env bash
# Builds a counting stand-in for TorchSharp's native bridge, to count the native calls a training step makes.
#
#   bash tools/native-calls/build.sh path/to/libLibTorchSharp.so
#
# It renames the library to libLibTorchSharp.real.so and puts in its place a library that exports the same functions:
# each adds one to its own counter and jumps to the real function (registers and stack untouched, so every call
# behaves exactly as before). The counts are read in-process through two more exports, flora_native_calls_total()
# and flora_native_calls_dump(path) (Flora.Bench resnet reports the total per step when it finds them); with
# FLORA_NATIVE_CALLS_DUMP=path set, the counts per function are written there at exit. Run it on a published or
# built output folder, never on the NuGet cache. Needs gcc and nm (x86-64 Linux).
set -euo pipefail
lib=$(readlink -f "${1:?usage: build.sh path/to/libLibTorchSharp.so}")
dir=$(dirname "$lib"); real="$dir/libLibTorchSharp.real.so"
if [ -f "$real" ]; then echo "already counting: $real exists"; exit 0; fi
work=$(mktemp -d)
nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u > "$work/symbols"
n=$(wc -l < "$work/symbols")
{
  echo '    .text'
  i=0
  while read -r s; do
    printf '    .globl %s\n    .type %s, @function\n%s:\n    lock incq flora_counts+%d(%%rip)\n    jmp *flora_targets+%d(%%rip)\n' "$s" "$s" "$s" $((8 * i)) $((8 * i))
    i=$((i + 1))
  done < "$work/symbols"
  echo '    .section .note.GNU-stack,"",@progbits'
} > "$work/stubs.S"
{
  echo '#define _GNU_SOURCE'
  echo '#include <dlfcn.h>'
  echo '#include <stdio.h>'
  echo '#include <stdlib.h>'
  echo '#include <string.h>'
  echo "#define N $n"
  echo '__attribute__((visibility("hidden"))) unsigned long flora_counts[N];'
  echo '__attribute__((visibility("hidden"))) void *flora_targets[N];'
  echo 'static const char *names[N] = {'
  sed 's/.*/  "&",/' "$work/symbols"
  echo '};'
  cat <<'C'
__attribute__((constructor)) static void flora_bind(void) {
  Dl_info info;
  if (!dladdr((void *)&flora_bind, &info)) { fprintf(stderr, "native-calls: dladdr failed\n"); abort(); }
  char path[4096]; strncpy(path, info.dli_fname, sizeof path - 32); path[sizeof path - 32] = 0;
  char *slash = strrchr(path, '/'); strcpy(slash ? slash + 1 : path, "libLibTorchSharp.real.so");
  void *real = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!real) { fprintf(stderr, "native-calls: %s\n", dlerror()); abort(); }
  for (int i = 0; i < N; i++) {
    flora_targets[i] = dlsym(real, names[i]);
    if (!flora_targets[i]) { fprintf(stderr, "native-calls: %s missing\n", names[i]); abort(); }
  }
}
unsigned long flora_native_calls_total(void) {
  unsigned long total = 0;
  for (int i = 0; i < N; i++) total += __atomic_load_n(&flora_counts[i], __ATOMIC_RELAXED);
  return total;
}
int flora_native_calls_dump(const char *file) {
  FILE *f = fopen(file, "w");
  if (!f) return -1;
  for (int i = 0; i < N; i++) if (flora_counts[i]) fprintf(f, "%lu\t%s\n", flora_counts[i], names[i]);
  return fclose(f);
}
__attribute__((destructor)) static void flora_dump_at_exit(void) {
  const char *file = getenv("FLORA_NATIVE_CALLS_DUMP");
  if (file && *file) flora_native_calls_dump(file);
}
C
} > "$work/counts.c"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
gcc -shared -fPIC -O2 -o "$work/shim.so" ${soname:+-Wl,-soname,$soname} "$work/counts.c" "$work/stubs.S" -ldl
mv "$lib" "$real"
cp "$work/shim.so" "$lib"
rm -rf "$work"
echo "counting $n native functions of $real through $lib"
