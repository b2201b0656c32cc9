"""Build and run the libFuzzer target fuzz_options.c for a bounded time.

Compiles src/core/options.c, src/report/output.c, src/core/linewriter.c, src/core/warn.c,
src/core/report_stream.c, src/core/clock.c and the
target with clang -fsanitize=fuzzer,address,undefined into
LP_BUILD/tests/fuzz/, seeds a corpus (the documented forms and their near
misses), and fuzzes each target (LP_FUZZ_TARGET) in turn, LP_FUZZ_SECONDS
(default 30) in all, so that one broken property does not hide the others.  Exit 77 when clang
or libFuzzer is missing.  A failure prints the property or sanitizer
report and the offending input."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("LP_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LP_BUILD") or tempfile.mkdtemp()
SECONDS = int(os.environ.get("LP_FUZZ_SECONDS", "30"))  # in all, split over the targets
HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_SOURCES = ["core/options.c", "report/output.c", "core/linewriter.c", "core/warn.c",
                "core/report_stream.c", "core/clock.c"]


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


def fail(msg):
    print(f"FAIL run_fuzz: {msg}")
    sys.exit(1)


def clang():
    for name in ("clang", "clang-16", "clang-15", "clang-14"):
        path = shutil.which(name)
        if path:
            return path
    skip("clang not installed")


def build(cc, out):
    tmp = tempfile.mkdtemp(prefix="lpfuzz.")
    probe = os.path.join(tmp, "probe.c")
    with open(probe, "w") as f:
        f.write("#include <stdint.h>\n#include <stddef.h>\n"
                "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n")
    p = subprocess.run([cc, "-fsanitize=fuzzer,address,undefined", probe, "-o",
                        os.path.join(tmp, "probe")], capture_output=True, timeout=120)
    if p.returncode != 0:
        skip(f"{cc} cannot build a libFuzzer target: {p.stderr.decode()[-300:]}")
    defs = []
    with open(os.path.join(SRC, "src", "core", "options.h")) as f:
        if "lp_parse_triple" in f.read():
            defs.append("-DHAVE_TRIPLE")
    cmd = [cc, "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
           "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer",
           "-D_GNU_SOURCE", "-std=gnu11", *defs,
           "-I", os.path.join(SRC, "src"), "-I", os.path.join(SRC, "include"),
           os.path.join(HERE, "fuzz_options.c"),
           *[os.path.join(SRC, "src", s) for s in SHIM_SOURCES], "-o", out]
    p = subprocess.run(cmd, capture_output=True, timeout=300)
    if p.returncode != 0:
        fail("the fuzz target does not build:\n" + " ".join(cmd) + "\n" + p.stderr.decode()[-3000:])
    shutil.rmtree(tmp, ignore_errors=True)


# One seed per line: selector byte (see LLVMFuzzerTestOneInput), then text.
def seeds():
    z8 = b"\0" * 8
    out = []
    for s in (b"1", b"yes", b"TRUE", b"On", b"0", b"no", b"False", b"off", b"", b"y", b"2", b"onn"):
        out.append(b"\x00" + s)
    for s in (b"text", b"JSON", b"Json ", b"txt"):
        out.append(b"\x01" + s)
    rng = b"\x00" * 7 + b"\x00" + b"\x00" * 7 + b"\x64"
    for s in (b"0", b"64", b"256", b"257", b"007", b"-1", b"+3", b" 5", b"18446744073709551615",
              b"18446744073709551616", b"99999999999999999999", b"12a", b"1e3"):
        out.append(b"\x02" + rng + s)
        out.append(b"\x02" + z8 + b"\xff" * 8 + s)
    for s in (b"1M", b"1m", b"4k", b"4KiB", b"2GB", b"16gib", b"1b", b"1 M", b"1MM", b"17179869183G",
              b"17179869184G", b"0", b"1T", b"k"):
        out.append(b"\x03" + z8 + b"\xff" * 8 + b"\x05" + s)
    for s in (b"USR1", b"sigusr2", b"SIGHUP", b"sig", b"SIG", b"sigsig", b"none", b"RTMIN", b"sigrtmin",
              b"10", b"9", b"19", b"11", b"6", b"32", b"33", b"34", b"64", b"65", b"0", b"winch", b"IO",
              b"sig10", b"SIGKILL", b"usr3"):
        out.append(b"\x04" + s)
    for s in (b"700,10,10", b"0,0,0", b"1,2", b"1,2,3,", b",1,2", b"1,,2", b"1,2,3x"):
        out.append(b"\x05" + b"\x00\x00\x10\x00" + s)
    for pat in (b"/tmp/r.%p.%n.json", b"%%", b"%", b"%%p", b"%x%y%", b"%p%p%p%p", b"", b"%n",
                b"a" * 300, b"/%p/" * 60):
        for cap in (b"\x00\x00", b"\x00\x01", b"\x00\x05", b"\x00\x20", b"\x02\x00"):
            out.append(b"\x06" + cap + b"\x00\x00\x30\x39" + b"\x00\x00\x00\x07" + pat)
    for pat in (b"", b"x", b"%p"):
        out.append(b"\x07" + pat)
    for i in range(21):
        out.append(b"\x08" + bytes([i, 40]) + b"\x80\x00\x00\x00\x00\x00\x00\x01" + b"hello %s %d world")
        out.append(b"\x08" + bytes([i, 3]) + b"\xff" * 8 + b"abcdef")
    for s in (b"plain", b'quo"te', b"back\\slash", b"nl\nx\ttab\r", b"\x01\x1f\x7f", b"caf\xc3\xa9"):
        out.append(b"\x09" + s)
    return out


TARGETS = {0: "bool", 1: "format", 2: "uint", 3: "size", 4: "signal", 5: "triple",
           6: "expand", 7: "expand_cap0", 8: "fmt", 9: "json"}

DICT = ['"usr1"', '"sig"', '"rtmin"', '"none"', '"%p"', '"%n"', '"%%"', '"kib"', '"mb"', '"g"',
        '"json"', '"text"', '"18446744073709551615"', '","', '"yes"', '"off"', '"\\x00"']


def main():
    cc = clang()
    outdir = os.path.join(BUILD, "tests", "fuzz")
    os.makedirs(outdir, exist_ok=True)
    exe = os.path.join(outdir, "fuzz_options")
    build(cc, exe)
    work = tempfile.mkdtemp(prefix="lpfuzz.")
    dict_path = os.path.join(work, "dict")
    with open(dict_path, "w") as f:
        f.write("\n".join(DICT) + "\n")
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    all_seeds = seeds()
    per = max(2, SECONDS // len(TARGETS))
    failures, total = [], 0
    for sel, name in TARGETS.items():
        tdir = os.path.join(work, name)
        corpus, seed_dir = os.path.join(tdir, "corpus"), os.path.join(tdir, "seeds")
        os.makedirs(corpus)
        os.makedirs(seed_dir)
        for i, s in enumerate(x for x in all_seeds if x[0] == sel):
            with open(os.path.join(seed_dir, f"seed{i:04d}"), "wb") as f:
                f.write(s)
        env["LP_FUZZ_TARGET"] = str(sel)
        cmd = [exe, f"-max_total_time={per}", "-timeout=10", "-rss_limit_mb=2048",
               "-error_exitcode=1", "-max_len=512", f"-dict={dict_path}",
               f"-artifact_prefix={tdir}/", "-print_final_stats=1", corpus, seed_dir]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=per + 120, env=env)
        except subprocess.TimeoutExpired:
            failures.append(f"{name}: the fuzzer did not stop after {per} s")
            continue
        err = p.stderr.decode(errors="replace")
        runs = next((ln.split()[-1] for ln in err.splitlines()
                     if ln.startswith("stat::number_of_executed_units")), "0")
        total += int(runs) if runs.isdigit() else 0
        if p.returncode == 0:
            print(f"{name}: {runs} inputs in {per} s, ok")
            continue
        crashes = [f for f in os.listdir(tdir) if f.startswith(("crash-", "leak-", "timeout-", "oom-"))]
        detail = ""
        for c in crashes[:1]:
            with open(os.path.join(tdir, c), "rb") as f:
                detail = f"\n    offending input: {f.read()!r}"
        lines = [ln for ln in err.splitlines()
                 if ln.startswith(("property violated", "  ", "SUMMARY", "==")) and "#" not in ln[:8]]
        msg = "\n    ".join(lines[:6]) + detail
        print(f"{name}: FAIL\n    {msg}")
        failures.append(f"{name}: {msg}")
    print(f"figures: fuzz_inputs={total}")
    fdir = os.path.join(BUILD, "tests", "stress", "figures")
    os.makedirs(fdir, exist_ok=True)
    with open(os.path.join(fdir, "fuzz_options.json"), "w") as f:
        json.dump({"fuzz_inputs": total}, f)
    if failures:
        fail(f"{len(failures)} of {len(TARGETS)} targets failed:\n  " + "\n  ".join(failures))
    print(f"ok run_fuzz: {total} inputs, no property violated")
    shutil.rmtree(work, ignore_errors=True)


main()
