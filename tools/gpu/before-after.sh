#!/usr/bin/env bash
# Sourced by the before/after scripts (h200-decode-kernels.sh, h200-batch-decode.sh, h200-fold-check.sh): unpacks the
# bundle and the base commit's CLI (.gpu/before-app.tar.xz) and writes /tmp/ks-before.sh and /tmp/ks-after.sh, which run
# the two builds' `kernelsharp` on the same .NET (the bundle's), each with its own autotune file.
bash .gpu/run.sh --help > /dev/null 2>&1 || true   # unpacks the bundle: its .NET runs the "before" CLI too
dotnet_dir=$(ls -d /tmp/ks-gpu-*/dotnet | head -1)
mkdir -p /tmp/before-app && tar -C /tmp/before-app -xJf .gpu/before-app.tar.xz
cat > /tmp/ks-after.sh <<'SH'
#!/usr/bin/env bash
GPU_APP=kernelsharp.dll KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-after.json exec bash "$KS_CHECKOUT/.gpu/run.sh" "$@"
SH
cat > /tmp/ks-before.sh <<SH
#!/usr/bin/env bash
DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-before.json \
  exec $dotnet_dir/dotnet /tmp/before-app/kernelsharp.dll "\$@"
SH
chmod +x /tmp/ks-after.sh /tmp/ks-before.sh
export KS_CHECKOUT=$PWD
