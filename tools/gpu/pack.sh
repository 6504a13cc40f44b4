#!/usr/bin/env bash
# Packs a .NET program of this repository so that it runs on a Linux GPU machine that has no .NET SDK and no NuGet
# access but has PyTorch's CUDA build (its libtorch in torch/lib). TorchSharp 0.107's native bridge is built for
# libtorch 2.10; our H100 and H200 runs loaded it against PyTorch 2.11's libraries. So this carries a .NET runtime and
# the program published against TorchSharp-cpu, drops the CPU libtorch from it, and points the loader at PyTorch's.
#
#   usage (here, in the clone):  bash tools/gpu/pack.sh path/to/Program.csproj [extra dotnet publish args]
#   then, on the GPU machine, with .devcarry/ copied there:  bash .devcarry/run.sh [program args]
#
# .devcarry/ is ignored by git (.gitignore). This packed the programs behind the GPU results in docs/ (BENCHMARKS.md,
# results/). The app is about 32 MB; data goes separately (tools/gpu/pack-data.sh). A machine with the .NET SDK and
# TorchSharp-cuda-linux needs none of this: build with -p:FloraBackend=cuda (README, Backends).
set -euo pipefail
proj=${1:?usage: tools/gpu/pack.sh path/to/Program.csproj [publish args]}; shift || true
root=$(git rev-parse --show-toplevel)
out="$root/.devcarry"; pub=$(mktemp -d)
rm -rf "$out"; mkdir -p "$out"
dotnet publish "$proj" -c Release -r linux-x64 --self-contained false -o "$pub/app" -p:DebugType=none "$@" >/dev/null
# Drop native libraries for other platforms and the CPU libtorch: the GPU machine brings its own CUDA libtorch.
find "$pub/app" -name 'libtorch*.so*' -o -name 'libc10*.so' -o -name 'libgomp*' | xargs -r rm -f
rm -rf "$pub/app/runtimes"/{win,osx}* 2>/dev/null || true
# The counting stand-in of TorchSharp's bridge beside the real one (tools/native-calls): FLORA_NATIVE_CALLS=1 bash run.sh …
# puts it in place for that run, so Flora.Bench reports native calls per step.
if command -v gcc >/dev/null && [ -f "$pub/app/libLibTorchSharp.so" ]; then
  mkdir -p "$pub/native-calls" && cp "$pub/app/libLibTorchSharp.so" "$pub/native-calls/"
  bash "$root/tools/native-calls/build.sh" "$pub/native-calls/libLibTorchSharp.so" >/dev/null
  mv "$pub/native-calls" "$pub/app/native-calls"
fi
# The pretrained network's ONNX files (64 MB, Flora.Pretrained) travel apart: with the app and the data they exceed what
# one call to our GPU machine takes (64 MiB). They go into .devonnx/ as a tar split into 32 MiB parts, carried one per
# call; on the device `bash tools/gpu/unpack-onnx.sh` joins the parts carried so far into /tmp/flora-onnx, and run.sh
# points FLORA_PRETRAINED_DIR there when the app has no ONNX files of its own.
rm -rf "$root/.devonnx"
if [ -d "$pub/app/FloraPretrained" ]; then
  mkdir -p "$root/.devonnx"
  tar -C "$pub/app" -cf - FloraPretrained | split -b 32M -d - "$root/.devonnx/onnx.tar.part-"
  rm -rf "$pub/app/FloraPretrained"
fi
# The .NET runtime this machine's dotnet runs on, carried next to the program (the GPU machine has none).
dn=$(dirname "$(readlink -f "$(command -v dotnet)")")
rtver=$(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/{v=$2} END{print v}')
XZ_OPT=-T0 tar -C "$dn" -cJf "$out/dotnet-rt.tar.xz" dotnet host "shared/Microsoft.NETCore.App/$rtver"
XZ_OPT=-T0 tar -C "$pub" -cJf "$out/app.tar.xz" app
entry=$(basename "$proj" .csproj).dll
cat > "$out/run.sh" <<RUN
#!/usr/bin/env bash
# Runs the packed program on the GPU machine against PyTorch's CUDA libtorch.
set -e
here=\$(cd "\$(dirname "\$0")" && pwd)
mkdir -p /tmp/flora-rt /tmp/flora-app
# Unpack once per packed app: several runs may start at once (a sweep's processes), so under a lock and keyed by checksum.
exec 9>/tmp/flora-unpack.lock; flock 9
[ -x /tmp/flora-rt/dotnet ] || tar -C /tmp/flora-rt -xJf "\$here/dotnet-rt.tar.xz"
stamp=\$(md5sum "\$here/app.tar.xz" | cut -d' ' -f1)
if [ "\$(cat /tmp/flora-app/.stamp 2>/dev/null)" != "\$stamp" ]; then
  rm -rf /tmp/flora-app/app && tar -C /tmp/flora-app -xJf "\$here/app.tar.xz" && echo "\$stamp" > /tmp/flora-app/.stamp
fi
flock -u 9; exec 9>&-
if [ "\${FLORA_NATIVE_CALLS:-0}" = 1 ] && [ -d /tmp/flora-app/app/native-calls ]; then cp /tmp/flora-app/app/native-calls/* /tmp/flora-app/app/; fi
torchlib=\$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
export LD_LIBRARY_PATH="\$torchlib:\${LD_LIBRARY_PATH:-}" DOTNET_ROOT=/tmp/flora-rt DOTNET_CLI_TELEMETRY_OPTOUT=1
if [ -z "\${FLORA_PRETRAINED_DIR:-}" ] && [ ! -d /tmp/flora-app/app/FloraPretrained ] && [ -d /tmp/flora-onnx/FloraPretrained ]; then export FLORA_PRETRAINED_DIR=/tmp/flora-onnx/FloraPretrained; fi
exec /tmp/flora-rt/dotnet /tmp/flora-app/app/$entry "\$@"
RUN
chmod +x "$out/run.sh"
du -sh "$out" | awk '{print "packed " $1 " into .devcarry/"}'
