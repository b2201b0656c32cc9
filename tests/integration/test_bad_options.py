"""Bad option values, for every option in src/core/options.def: garbage,
negative, huge, empty (where empty is not a valid value) and out of range.
Each gives exactly one warning line naming the option, the program's stdout
and exit code are unchanged, and the option's default is what is used
(checked by its effect: full stacks, text format, 1 MiB large threshold,
20 sites in the text report, SIGUSR1 reports, children traced, this
process reports, help not printed).  A valid non-default value of each
option is run too, to show each effect check can tell the difference."""
import os
import re
import signal

from lptest import (SRC, Failure, Session, Soft, check, check_eq, json_reports_in_text, main, prog, run,
                    sites_with)

HUGE = "99999999999999999999999999"
KNOBS = prog("knobs")


def options_in_def():
    """[(type, NAME, default, min, max)] from src/core/options.def."""
    with open(os.path.join(SRC, "src", "core", "options.def")) as fh:
        text = fh.read()
    return re.findall(r'^LP_OPTION\(\s*(\w+)\s*,\s*\w+\s*,\s*(\w+)\s*,\s*"([^"]*)"\s*,'
                      r'\s*([^,]+?)\s*,\s*([^,]+?)\s*,', text, re.M)


def number(expr):
    try:
        return int(expr, 0)
    except ValueError:
        return None  # e.g. UINT64_MAX


def bad_values(kind, lo, hi):
    """Garbage, negative, huge, empty and out-of-range values for a type."""
    lo, hi = number(lo), number(hi)
    if kind == "string":  # any string is a path pattern; empty means stderr
        return ["o" * 5000]
    if kind == "program":  # any path (a missing one is said in the report)
        return ["o" * 5000]
    if kind == "format":
        return ["xml", "", "-1", "jsonx", HUGE]
    if kind == "classify":
        return ["sometimes", "", "2", "-1", "exitall", HUGE]
    if kind == "kinds":
        return ["", "definitely", "definite,,", "definite;indirect", "cycles,bogus", HUGE]
    if kind == "size":
        return ["garbage", "", "-1", HUGE, "1T", "18446744073709551615G", "1.5M"] + \
            (["0"] if lo and lo > 0 else [])
    if kind == "uint":
        return ["garbage", "", "-1", HUGE, "12k", " 1"] + \
            ([str(hi + 1)] if hi is not None else []) + ([str(lo - 1)] if lo else [])
    if kind == "signal":
        return ["garbage", "", "-1", "9", "SIGSEGV", "11", "99999", "SIG"]
    if kind == "bool":
        return ["garbage", "", "2", "-1"]
    if kind == "triple":
        return ["", "garbage", "1,2", "1,2,3,4", "-1,0,0", "1,,2", HUGE + ",0,0"] + \
            ([f"{hi + 1},0,0"] if hi is not None else [])
    raise Failure(f"this test does not know the option type {kind!r}: give it bad values")


# --- how each default shows ------------------------------------------------

def json_report(r):
    reps = r.reports or json_reports_in_text(r.stderr)
    check(len(reps) >= 1, f"no report; stderr:\n{r.stderr[-800:]}")
    return reps[-1]


def full_stacks(r):
    """Default depth 64: every leak_deep stack (<= 30 frames) reaches _start."""
    rep = json_report(r)
    deep = sites_with(rep, "leak_deep")
    check_eq(len(deep), int(r.truth["facts"]["deep_sites"]), "leak_deep sites")
    for s in deep:
        names = [f["function"] for f in s["stack"]]
        check(names and names[-1] == "_start", f"a stack cut short (depth default 64 not used): "
                                              f"{len(names)} frames ending {names[-3:]}")


def text_format(r):
    check(not json_reports_in_text(r.stderr), "a JSON report on stderr (format default is text)")
    check(re.search(r"^==\d+== SUMMARY: leakprobe: ", r.stderr, re.M),
          f"no text report on stderr:\n{r.stderr[-800:]}")


def large_1m(r):
    rep = json_report(r)
    check_eq(rep["large_threshold"], 1 << 20, "large_threshold")
    big = [l for l in rep["large"] if any(f["function"] == "leak_big" for f in l["stack"])]
    almost = [l for l in rep["large"] if any(f["function"] == "leak_almost" for f in l["stack"])]
    check_eq((len(big), len(almost)), (1, 0), "large blocks from (leak_big: 1 MiB, "
                                              "leak_almost: 1 MiB - 1) with the 1M default")


def top_20(r):
    shown = re.findall(r"^==\d+== \d+ bytes in \d+ blocks live, allocated from:", r.stderr, re.M)
    m = re.search(r"^==\d+== SUMMARY: leakprobe: \d+ bytes live in \d+ blocks from (\d+) sites",
                  r.stderr, re.M)
    check(m, f"no SUMMARY line:\n{r.stderr[-800:]}")
    total = int(m.group(1))
    check(total > 20, f"the program has {total} sites, more than 20 needed")
    check_eq(len(shown), 20, "sites shown in the text report (LEAKPROBE_TOP default 20)")
    check(re.search(rf"\.\.\. and {total - 20} more sites: .*LEAKPROBE_TOP=20", r.stderr),
          f"no '... and {total - 20} more sites' line naming LEAKPROBE_TOP=20")


def exit_verdict(r):
    rep = json_report(r)
    check(rep["classify"] is not None and rep["heap"]["lost"] is not None,
          f"no leak verdict in the exit report (CLASSIFY default exit): {rep['warnings']}")


def children_traced(r):
    check_eq(int(r.truth["facts"]["preload_has_shim"]), 1,
             "LD_PRELOAD keeps libleakprobe for children (CHILDREN default 1)")


def reports(r):
    check_eq([x["reason"] for x in r.reports], ["exit"], "reports written (PID default 0: "
                                                         "every process reports)")


def no_help(r):
    check("| option |" not in r.stderr, "the options table was printed (HELP default 0)")


def stacks_present(r):
    full_stacks(r)


def named_by_symbolizer(r):
    """Default: the helper next to the shim names the static leak_deep with
    its file:line (dladdr alone could not)."""
    rep = json_report(r)
    frames = [f for s in sites_with(rep, "leak_deep") for f in s["stack"]
              if f["function"] == "leak_deep"]
    check(frames and all((f["file"] or "").endswith("knobs.c") and f["line"] for f in frames),
          f"leak_deep frames without file:line (SYMBOLIZER default not used): {frames[:2]}; "
          f"warnings {rep['warnings']}")


def usr1_reports(session_result):
    reasons = [x["reason"] for x in session_result.reports]
    check_eq(reasons, ["signal", "exit"], "reports after SIGUSR1 (SIGNAL default USR1)")


DEFAULT_SEEN = {
    "OUTPUT": lambda r: check_eq(len(json_reports_in_text(r.stderr)), 1,
                                 "JSON reports on stderr (OUTPUT default: stderr)"),
    "FORMAT": text_format, "LARGE": large_1m, "DEPTH": full_stacks, "TOP": top_20,
    "CHILDREN": children_traced, "PID": reports, "UNWIND": stacks_present, "HELP": no_help,
    "SIGNAL": usr1_reports, "SYMBOLIZER": named_by_symbolizer,
    "SYMBOLIZER_TIMEOUT": named_by_symbolizer, "CLASSIFY": exit_verdict,
}
# Options of the object model / CPython: no effect a C program shows.
NO_EFFECT_HERE = {"GC_THRESHOLD", "AUTO", "PYTHON_TRACEBACK"}
# A valid value whose effect the check above must reject.
CONTROL = {
    "OUTPUT": None, "FORMAT": "json", "LARGE": "2M", "DEPTH": "3", "TOP": "5",
    "CHILDREN": "0", "PID": "1", "UNWIND": None, "HELP": "1", "SIGNAL": "USR2",
    "SYMBOLIZER": "none", "SYMBOLIZER_TIMEOUT": None, "CLASSIFY": "never",
}
TEXT = {"FORMAT", "TOP"}  # checked on a text report on stderr


def run_with(name, value):
    env = {f"LEAKPROBE_{name}": value}
    if name == "SIGNAL":
        with Session([KNOBS, "wait"], env=env) as s:
            s.expect("knobs: start")
            s.expect("ready")
            os.kill(s.pid, signal.SIGUSR1)
            try:
                s.wait_report(1, timeout=5)
            except Failure:
                pass  # judged below from the reports present
            s.send("\n")
            return s.finish()
    if name in TEXT:
        # The inventory's form: with a verdict, lost sites are all shown.
        env.setdefault("LEAKPROBE_CLASSIFY", "never")
        return run([KNOBS], env=env, json_reports=False)
    return run([KNOBS], env=env)


def test():
    options = options_in_def()
    check(options, "no LP_OPTION found in src/core/options.def")
    names = [o[1] for o in options]
    for n in names:
        if n not in DEFAULT_SEEN and n not in NO_EFFECT_HERE:
            print(f"note: LEAKPROBE_{n} is new to this test: its bad values are checked for the "
                  f"warning and an unchanged program, not for the effect of its default")
    plain = run([KNOBS], shim=False)
    plain_wait = run([KNOBS, "wait"], shim=False, input=b"\n")
    soft = Soft()
    for kind, name, default, lo, hi in options:
        if name in NO_EFFECT_HERE and name not in DEFAULT_SEEN:
            print(f"LEAKPROBE_{name}: warning and unchanged program checked; its default's "
                  f"effect is not visible from a C program")
        for value in bad_values(kind, lo, hi):
            what = f"LEAKPROBE_{name}={value[:40]!r}"
            r = run_with(name, value)
            ref = plain_wait if name == "SIGNAL" else plain
            soft(check_eq, r.stdout, ref.stdout, f"{what}: stdout")
            soft(check_eq, r.rc, ref.rc, f"{what}: exit code")
            warns = r.warnings()
            soft(check_eq, len(warns), 1, f"{what}: warning lines {warns[:3]}")
            soft(check, all(f"LEAKPROBE_{name}=" in w for w in warns),
                 f"{what}: the warning names the option: {warns[:1]}")
            if name in DEFAULT_SEEN:
                try:
                    DEFAULT_SEEN[name](r)
                except Failure as ex:
                    soft.failures.append(f"{what}: the default is not what is used: {ex}")
        control = CONTROL.get(name)
        if control is not None:
            r = run_with(name, control)
            soft(check_eq, r.warnings(), [], f"LEAKPROBE_{name}={control} (valid): warnings")
            try:
                DEFAULT_SEEN[name](r)
                soft.failures.append(f"the default check of LEAKPROBE_{name} also passes with the "
                                   f"valid non-default value {control!r}: it cannot tell")
            except Failure:
                pass
    soft.done()


main(test)
