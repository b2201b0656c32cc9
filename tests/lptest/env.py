"""env - where things are, and the environment a program under test gets.

Set by meson for every test:
  LP_SHIM   absolute path of libleakprobe.so
  LP_BUILD  the build directory (test programs live in LP_BUILD/tests/)
  LP_SRC    the source tree
"""
import os

from lptest.checks import check

SHIM = os.environ.get("LP_SHIM", "")
BUILD = os.environ.get("LP_BUILD", "")
SRC = os.environ.get("LP_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def prog(name, where="tests"):
    """Path of a test program (or plugin) built in LP_BUILD/<where>."""
    p = os.path.join(BUILD, where, name)
    check(os.path.exists(p), f"test program {p} was not built")
    return p


def program_source(name):
    return os.path.join(SRC, "tests", "programs", name)


def launcher_build_dir(top):
    """A build directory in top whose ninja has nothing to do and which
    holds the shim under test: tools/leakprobe (LEAKPROBE_BUILD_DIR) runs
    exactly that shim and never rebuilds in the middle of the suite."""
    d = os.path.join(top, "build")
    os.mkdir(d)
    with open(os.path.join(d, "build.ninja"), "w") as fh:
        fh.write("ninja_required_version = 1.5\nbuild nothing: phony\ndefault nothing\n")
    os.symlink(SHIM, os.path.join(d, "libleakprobe.so"))
    return d


def clean_env(env=None, shim=True, json_reports=True, output=None, tmp=None):
    """The environment for a run: nothing of ours inherited (LEAKPROBE_*,
    LD_PRELOAD); under the shim, JSON reports into tmp unless told
    otherwise; then env's entries (None removes one)."""
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKPROBE_") or k == "LD_PRELOAD":
            del e[k]
    if tmp:
        e["LP_TRUTH"] = os.path.join(tmp, "truth.json")
    if shim:
        e["LD_PRELOAD"] = SHIM
        # One report per signal: the tests count them (coalescing has a
        # test of its own, which sets this).
        e["LEAKPROBE_SIGNAL_COALESCE_MS"] = "0"
        if json_reports:
            e["LEAKPROBE_FORMAT"] = "json"
            e["LEAKPROBE_OUTPUT"] = output or os.path.join(tmp, "r.%p.%n.json")
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    return e
