#!/usr/bin/env bash
# ptxas -v (sm_90) and SASS of the PTX files in $KB_DIR/ptx.tgz → $OUT/ptxas.txt, $OUT/sass.tgz
kbdir=${KB_DIR:-.kb-bench14}; out=${OUT:-/tmp/kb-out}; mkdir -p "$out" /tmp/ptx /tmp/sass
tar -C /tmp/ptx -xzf $kbdir/ptx.tgz
for f in $(find /tmp/ptx -name '*.ptx' | sort); do
  rel=${f#/tmp/ptx/}; name=$(echo "$rel" | tr '/[],' '____')
  ptxas -arch=sm_90 -v "$f" -o /tmp/sass/$name.cubin > /tmp/sass/$name.log 2>&1
  echo "$rel: $(grep -E 'registers|stack' /tmp/sass/$name.log | tr -s ' ' | tr '\n' ' ')" >> $out/ptxas.txt
  cuobjdump -sass /tmp/sass/$name.cubin > /tmp/sass/$name.sass 2>&1
done
tar -C /tmp/sass -czf $out/sass.tgz $(cd /tmp/sass && ls *.sass)
