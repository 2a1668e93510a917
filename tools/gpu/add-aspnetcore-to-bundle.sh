#!/usr/bin/env bash
# The kernelsharp CLI runs on ASP.NET Core's shared framework too (`serve`); the GPU bundle (.gpu/bundle.tar.xz, see
# tools/gpu/README.md) holds only Microsoft.NETCore.App. Run this right after making the bundle: it adds this machine's
# Microsoft.AspNetCore.App of the same version.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root/.gpu"
ver=$(dotnet --list-runtimes | awk '/^Microsoft.AspNetCore.App /{v=$2} END{print v}')
base=$(dirname "$(readlink -f "$(command -v dotnet)")")
rm -rf stage && mkdir stage
tar -C stage -xJf bundle.tar.xz
mkdir -p stage/dotnet/shared/Microsoft.AspNetCore.App
cp -r "$base/shared/Microsoft.AspNetCore.App/$ver" stage/dotnet/shared/Microsoft.AspNetCore.App/
tar -C stage -cJf bundle.tar.xz dotnet app
rm -rf stage
echo "added Microsoft.AspNetCore.App $ver to .gpu/bundle.tar.xz ($(du -h bundle.tar.xz | cut -f1))"
