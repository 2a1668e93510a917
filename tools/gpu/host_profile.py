#!/usr/bin/env python3
"""Where a decode step's host time goes, from tools/gpu/h200-host-profile.sh's EventPipe trace.

Here:  xz -dk decode.nettrace.xz && dotnet-trace convert decode.nettrace --format speedscope -o decode
       python3 tools/gpu/host_profile.py decode.speedscope.json [FRAME]
Prints, for the samples of the busiest thread that lie inside InferenceSession.Decode (kernel compilation left
out), the share of time under each frame (inclusive); with FRAME, the callers that lead to it instead.
"""
import collections
import json
import sys


def short(name):
    return name.split("(")[0].split("!")[-1][-110:]


def main():
    trace = json.load(open(sys.argv[1]))
    target = sys.argv[2] if len(sys.argv) > 2 else None
    frames = [f["name"] for f in trace["shared"]["frames"]]
    thread = max(trace["profiles"], key=lambda p: len(p.get("events", [])))
    inclusive, callers, total = collections.Counter(), collections.Counter(), 0.0
    stack, last = [], None
    for event in thread["events"]:
        now = event["at"]
        if stack and last is not None:
            names = [frames[f] for f in stack]
            if any("InferenceSession.Decode" in n for n in names) and not any("LoadKernel" in n or "CompileKernel" in n for n in names):
                spent = now - last
                total += spent
                for n in set(short(x) for x in names):
                    inclusive[n] += spent
                hits = [i for i, n in enumerate(names) if target and target in n]
                if hits:
                    i = hits[0]
                    callers[" < ".join(short(x)[-60:] for x in names[max(0, i - 3):i + 1][::-1])] += spent
        last = now
        if event["type"] == "O":
            stack.append(event["frame"])
        elif stack:
            stack.pop()
    print(f"decode samples: {total:.0f} ms")
    for name, spent in (callers if target else inclusive).most_common(60):
        print(f"{spent / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
