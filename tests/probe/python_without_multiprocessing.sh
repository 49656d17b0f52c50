#!/bin/sh
# A Python 3 without multiprocessing, for hk probe's bad-input tests: Debian's interpreter with
# the module hidden (a None entry in sys.modules makes `import multiprocessing` fail), running the
# script the way `python3 -I SCRIPT ARGS` would. The options before the script are dropped.
exec /usr/bin/python3 -I -c '
import runpy, sys
sys.modules["multiprocessing"] = None
args = sys.argv[1:]
while args and args[0].startswith("-"):
    args.pop(0)
sys.argv = args
runpy.run_path(args[0], run_name="__main__")
' "$@"
