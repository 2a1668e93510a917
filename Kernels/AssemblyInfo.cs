// The kernel library: see README.md ("Kernel library") for the list of operations and where their tests live.
