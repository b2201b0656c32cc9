"""reports - reading reports (files and streams) and the checks every
report must pass."""
import glob
import json
import os

from lptest.checks import Failure, check

WARNING_PREFIX = "leakprobe: warning: "


def _natural(path):
    return [int(x) if x.isdigit() else x for x in os.path.basename(path).split(".")]


def load_reports(directory, pattern="r.*.json"):
    """Every JSON report file in directory, in (pid, seq) name order."""
    reports = []
    for f in sorted(glob.glob(os.path.join(directory, pattern)), key=_natural):
        if ".tmp." in os.path.basename(f):
            continue
        with open(f) as fh:
            try:
                rep = json.load(fh)
            except json.JSONDecodeError as ex:
                raise Failure(f"report {f} is not valid JSON: {ex}")
        rep["_file"] = os.path.basename(f)
        reports.append(rep)
    return reports


def load_truths(directory):
    """truth.json -> None key, truth.json.<tag> -> tag."""
    truths = {}
    for f in glob.glob(os.path.join(directory, "truth.json*")):
        base = os.path.basename(f)
        tag = None if base == "truth.json" else base[len("truth.json."):]
        with open(f) as fh:
            try:
                truths[tag] = json.load(fh)
            except json.JSONDecodeError as ex:
                raise Failure(f"truth file {f} is not valid JSON: {ex}")
    return truths


def _reports_in(text):
    """(start, end, report) of each JSON report written to a stream
    (stderr) among other lines."""
    dec = json.JSONDecoder()
    i = 0
    while True:
        i = text.find('{"schema"', i)
        if i < 0:
            return
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError as ex:
            raise Failure(f"a JSON report on the stream is cut or invalid: {ex}\n"
                          f"{text[i:i + 500]}")
        yield i, end, obj
        i = end


def json_reports_in_text(text):
    """JSON reports written to a stream (stderr) among other lines."""
    return [obj for _, _, obj in _reports_in(text)]


def text_without_reports(text):
    """The stream with its JSON reports (and the newline after each) taken
    out: what the program itself wrote."""
    out, i = [], 0
    for start, end, _ in _reports_in(text):
        out.append(text[i:start])
        i = end + (1 if text[end:end + 1] == "\n" else 0)
    out.append(text[i:])
    return "".join(out)


def warning_lines(text):
    return [l for l in text.splitlines() if l.startswith(WARNING_PREFIX)]


def sites_by_function(report, function):
    """Sites whose stack contains `function`: (blocks, bytes) summed."""
    blocks = nbytes = 0
    for s in report.get("sites", []):
        if any(f.get("function") == function for f in s.get("stack", [])):
            blocks += s["blocks"]
            nbytes += s["bytes"]
    return blocks, nbytes


def sites_with(report, function):
    """The stacks that contain `function`, one entry per stack: a leak
    verdict splits a stack's blocks by kind, which these are summed over
    (the entry keeps the first one's fields and lists the kinds)."""
    merged = {}
    for s in report.get("sites", []):
        if not any(f.get("function") == function for f in s.get("stack", [])):
            continue
        key = tuple(f.get("ip") for f in s["stack"])
        if key in merged:
            m = merged[key]
            m["blocks"] += s["blocks"]
            m["bytes"] += s["bytes"]
            m["kinds"].append(s["kind"])
        else:
            merged[key] = dict(s, kinds=[s["kind"]])
    return list(merged.values())


def describe_sites(report, limit=12):
    out = []
    for s in report.get("sites", [])[:limit]:
        names = [f.get("function") or "?" for f in s["stack"][:6]]
        out.append(f"  {s['blocks']} blocks / {s['bytes']} bytes: {' < '.join(names)}")
    return "\n".join(out)


def check_leaks(report, leaks, what="report"):
    """Every stated leak appears exactly, by function (and line if stated)."""
    for leak in leaks:
        got = sites_by_function(report, leak["function"])
        want = (leak["blocks"], leak["bytes"])
        check(got == want, f"{what}: {leak['function']}: report has (blocks, bytes) = {got}, "
                           f"the program leaked {want}; sites:\n{describe_sites(report)}")
        if leak.get("line"):
            for s in sites_with(report, leak["function"]):
                fr = next(f for f in s["stack"] if f.get("function") == leak["function"])
                check(fr.get("line") == leak["line"],
                      f"{what}: {leak['function']}: frame line expected {leak['line']}, "
                      f"seen {fr.get('line')} ({fr})")


def check_truth(report, truth):
    """Every leak the program states must appear exactly, by function."""
    check(truth is not None, "the test program wrote no ground truth")
    check_leaks(report, truth["leaks"])


def check_consistent(report, what="report"):
    """Invariants every report must satisfy, even one taken mid-storm (each
    shard is copied under its lock): sites add up to the heap totals,
    allocations minus frees are the live blocks, large blocks are at least
    the threshold, the peak at least what is live.  Then format checks of
    what the report says it cost: every phase present and >= 0, and the
    Python detector's phase and the detector's own clock, two fields of
    one report, agree; with a leak verdict, the kinds add up (an outside clock bounds the total:
    test_text_format, test_signal_snapshot)."""
    h = report["heap"]
    sb = sum(s["blocks"] for s in report["sites"])
    sy = sum(s["bytes"] for s in report["sites"])
    check(sb == h["live_blocks"], f"{what}: sites add up to {sb} blocks, "
                                  f"heap.live_blocks {h['live_blocks']}")
    check(sy == h["live_bytes"], f"{what}: sites add up to {sy} bytes, "
                                 f"heap.live_bytes {h['live_bytes']}")
    check(h["total_allocs"] - h["total_frees"] == h["live_blocks"],
          f"{what}: total_allocs - total_frees = {h['total_allocs'] - h['total_frees']}, "
          f"live_blocks {h['live_blocks']}")
    check(all(b["size"] >= report["large_threshold"] for b in report["large"]),
          f"{what}: a 'large' block below the threshold {report['large_threshold']}")
    check(h["peak_bytes"] >= h["live_bytes"],
          f"{what}: peak {h['peak_bytes']} < live {h['live_bytes']}")
    cost = report.get("cost_ms")
    check(isinstance(cost, dict) and set(cost) == COST_PHASES and
          all(isinstance(v, (int, float)) and v >= 0 for v in cost.values()),
          f"{what}: cost_ms {cost!r}: want the phases {sorted(COST_PHASES)}, each >= 0")
    # The leak verdict: every block has one kind, the kinds add up to the
    # heap, and the sites of each kind to that kind's totals.
    lost = h.get("lost")
    kinds = {s["kind"] for s in report["sites"]} | {b.get("kind", "live") for b in report["large"]}
    if report.get("classify") is None:
        check(lost is None and kinds <= {"live"}, f"{what}: kinds {kinds} without a verdict")
    else:
        check(kinds <= set(KINDS), f"{what}: kinds {kinds - set(KINDS)} in a classified report")
        # A suppressed site keeps its kind and counts as suppressed only.
        for k, name in KINDS.items():
            kb = sum(s["bytes"] for s in report["sites"] if s["kind"] == k and
                     not s.get("suppressed"))
            kn = sum(s["blocks"] for s in report["sites"] if s["kind"] == k and
                     not s.get("suppressed"))
            check((kn, kb) == (lost[name]["blocks"], lost[name]["bytes"]),
                  f"{what}: {k} sites add up to ({kn}, {kb}), heap.lost.{name} {lost[name]}")
        sup = [s for s in report["sites"] if s.get("suppressed")]
        check((sum(s["blocks"] for s in sup), sum(s["bytes"] for s in sup)) ==
              (lost["suppressed"]["blocks"], lost["suppressed"]["bytes"]),
              f"{what}: suppressed sites against heap.lost.suppressed {lost['suppressed']}")
        check(all(s["kind"] != "reachable" for s in sup), f"{what}: a reachable site suppressed")
        used = report.get("suppressions", [])
        check(sum(u["count"] for u in used if u["type"] == "leak") == lost["suppressed"]["blocks"],
              f"{what}: suppressions' counts against heap.lost.suppressed: {used}")
        keys = [(s["kind"], tuple(f["ip"] for f in s["stack"])) for s in report["sites"]]
        check(len(keys) == len(set(keys)), f"{what}: one (stack, kind) in two sites")
    det = report.get("detector") or {}
    if det.get("source") == "interpreter" and "seconds" in det:
        check(abs(cost["python_detector"] / 1e3 - det["seconds"]) < 0.005,
              f"{what}: cost_ms.python_detector {cost['python_detector']} ms, "
              f"detector.seconds {det['seconds']}")


COST_PHASES = {"heap", "classify", "python_enumerate", "python_detector", "python_owners",
               "objects", "symbolize"}
KINDS = {"definitely_lost": "definitely", "indirectly_lost": "indirectly",
         "possibly_lost": "possibly", "reachable": "reachable"}


def check_seqs(reports, what):
    """Per pid, seq runs 1..n without gaps or repeats."""
    pids = {}
    for rep in reports:
        pids.setdefault(rep["pid"], []).append(rep["seq"])
    for pid, seqs in pids.items():
        check(sorted(seqs) == list(range(1, len(seqs) + 1)),
              f"{what}: pid {pid} report numbers {sorted(seqs)} are not 1..{len(seqs)}")
