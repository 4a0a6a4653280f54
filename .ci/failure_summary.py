"""Print a short account of a failed test run at the very end of CI's output, where it is seen.

Reads the run's log: the tests that failed, the last file pytest was in (with how many of its tests
had finished), and for a timeout the innermost frames of every thread's stack."""

from __future__ import annotations

import re
import sys
from pathlib import Path

FRAMES_PER_THREAD = 3


def main(path: str) -> None:
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    failed = [line for line in lines if re.match(r"^(FAILED|ERROR) ", line)]
    progress = [line for line in lines if re.match(r"^tests/\S+\.py [.sFEx]*", line)]
    print(f"--- summary of the failed run ({path}) ---")
    for line in failed[-10:]:
        print(line[:200])
    if progress:
        name, _, marks = progress[-1].partition(" ")
        done = len(re.sub(r"[^.sFEx]", "", marks.split("[")[0]))
        print(f"last file: {name}, {done} of its tests finished before it stopped")
    stack_name, frames = None, []
    for line in [*lines, "~~~ end"]:
        if line.startswith("~") or "+ Timeout +" in line:
            if stack_name is not None:
                print(f"{stack_name}: " + " <- ".join(reversed(frames[-FRAMES_PER_THREAD:])))
            match = re.search(r"Stack of (.+?) \(", line)
            stack_name, frames = (match.group(1) if match else None), []
        elif stack_name is not None:
            match = re.match(r'\s*File "(.+?)", line (\d+), in (\S+)', line)
            if match:
                file = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", match.group(1))
                frames.append(f"{file}:{match.group(2)} {match.group(3)}")


if __name__ == "__main__":
    main(sys.argv[1])
