"""Strings the program controls end up in reports (its command line, the
path of its executable, which names the module of its frames): the
JSON report stays valid JSON in UTF-8 (RFC 8259) whatever bytes the
arguments hold (quotes, backslashes, newlines, control characters, UTF-8,
bytes that are not UTF-8), and the text report keeps every line prefixed
with ==PID== (an argument with a newline must not start an unprefixed
line)."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from lptest import Soft, check_eq, check_truth, clean_env, main, prog

TRICKY = [b'quote"back\\slash', b"tab\there", b"ctl\x01\x1f\x7f", "é€😀".encode()]
NEWLINE = [b"line1\nline2"]
NOT_UTF8 = [b"latin1-\xe9-\xff"]


def run_raw(args, json_out, exe=None):
    tmp = tempfile.mkdtemp(prefix="lptest.strings.")
    try:
        env = clean_env(shim=True, json_reports=json_out, tmp=tmp)
        p = subprocess.run([exe or prog("leak_sites").encode()] + args, env=env, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        raw = None
        files = [f for f in os.listdir(tmp) if f.startswith("r.")]
        if files:
            with open(os.path.join(tmp, files[0]), "rb") as fh:
                raw = fh.read()
        truth = None
        if os.path.exists(os.path.join(tmp, "truth.json")):
            with open(os.path.join(tmp, "truth.json")) as fh:
                truth = json.load(fh)
        return p, raw, truth
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse(soft, what, raw):
    if raw is None:
        soft.failures.append(f"{what}: no report file")
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as ex:
        soft.failures.append(f"{what}: the JSON report is not UTF-8: {ex} (around "
                           f"{raw[max(ex.start - 30, 0):ex.start + 10]!r})")
    except json.JSONDecodeError as ex:
        soft.failures.append(f"{what}: the report is not valid JSON: {ex}")
    return None


def test():
    soft = Soft()
    p, raw, truth = run_raw(TRICKY + NEWLINE, json_out=True)
    soft(check_eq, p.returncode, 0, "exit code")
    rep = parse(soft, "quotes, control characters, UTF-8", raw)
    if rep:
        expected = " ".join([prog("leak_sites")] + [a.decode() for a in TRICKY + NEWLINE])
        soft(check_eq, rep["command"], expected, "command in the JSON report")
        soft(check_truth, rep, truth)

    p, raw, truth = run_raw(NOT_UTF8, json_out=True)
    rep = parse(soft, "an argument that is not UTF-8", raw)
    if rep:
        soft(check_eq, rep["command"].split(" ")[0], prog("leak_sites"), "command's first word")
        soft(check_truth, rep, truth)

    p, _, _ = run_raw(NEWLINE + TRICKY, json_out=False)
    prefixed(soft, "an argument with a newline", p)

    # The executable in a directory whose name has a newline / is not UTF-8.
    top = tempfile.mkdtemp(prefix="lptest.exe.")
    try:
        for what, dirname in (("a newline", b"dir\nwith newline"), ("a byte not UTF-8", b"dir\xff")):
            d = os.path.join(top.encode(), dirname)
            os.mkdir(d)
            exe = os.path.join(d, b"leak_sites")
            shutil.copy(prog("leak_sites"), exe)
            p, _, _ = run_raw([], json_out=False, exe=exe)
            prefixed(soft, f"executable in a directory with {what}", p)
            p, raw, truth = run_raw([], json_out=True, exe=exe)
            rep = parse(soft, f"executable in a directory with {what}", raw)
            if rep:
                soft(check_truth, rep, truth)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    soft.done()


def prefixed(soft, what, p):
    """Every line of the text report on stderr starts with ==PID==."""
    text = p.stderr.decode("utf-8", "replace")
    m = re.search(r"^==(\d+)== ", text, re.M)
    if not m:
        soft.failures.append(f"{what}: no text report on stderr:\n{text[-500:]}")
        return
    stray = [l for l in text.splitlines() if l and not l.startswith(f"=={m.group(1)}== ")]
    soft(check_eq, stray[:3], [], f"{what}: text report lines without the ==PID== prefix")


main(test)
