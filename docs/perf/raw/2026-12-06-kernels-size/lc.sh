#!/bin/bash
# usage: lc.sh REV  -> "lines path" for every Kernels/**/*.cs at REV (excluding obj/ bin/)
rev=$1
git -C . ls-tree -r --name-only $rev Kernels | grep '\.cs$' | grep -v -e '/obj/' -e '/bin/' | while read f; do
  printf "%d %s\n" $(git -C . show $rev:$f | wc -l) $f; done
