"""Regenerates every golden file in tests/golden/ by running each gen_*.py beside this file.

Usage: /usr/bin/python3 scripts/golden/gen_all.py   (Debian's python3-torch)
"""
import glob
import os
import runpy

here = os.path.dirname(os.path.abspath(__file__))
for path in sorted(glob.glob(os.path.join(here, "gen_*.py"))):
    if os.path.basename(path) == "gen_all.py":
        continue
    print("running", os.path.basename(path))
    runpy.run_path(path, run_name="__main__")
