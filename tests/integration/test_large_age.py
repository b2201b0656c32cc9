"""A large block listed with its age: the program holds 3 MiB for a time it
measures itself; the "large" entry has the exact size, the program's site,
and an age at least the time the program measured and less than that plus
2 s.  LEAKPROBE_LARGE decides what is large: 3M (equal) lists it, 4M and
3M + 1 byte do not (the block stays in "sites")."""
from lptest import Soft, check, check_eq, check_leaks, main, prog, run, sites_by_function


def big_entries(rep):
    return [l for l in rep["large"] if any(f["function"] == "hold_big" for f in l["stack"])]


def test():
    r = run([prog("large_age"), "1200"])
    check_eq(r.rc, 0, "exit code")
    facts = r.truth["facts"]
    waited, size = float(facts["waited_s"]), int(facts["big_size"])
    check(waited >= 1.2, f"the program waited {waited} s, asked 1.2 s")
    rep = r.report("exit")
    check_leaks(rep, r.truth["leaks"])
    big = big_entries(rep)
    check_eq(len(big), 1, "large entries from hold_big (default threshold 1M)")
    check_eq(big[0]["size"], size, "large entry size")
    check_eq(big[0]["stack"][0]["function"], "hold_big", "large entry innermost frame")
    age = big[0]["age_s"]
    # The report may print its ages to the millisecond: half of one is
    # rounding, not an error.
    check(waited - 0.0005 <= age < waited + 2.0,
          f"large entry age: expected in [{waited:.4f}, {waited + 2:.4f}) s (the program "
          f"measured {waited:.6f} s from malloc's return to its exit), seen {age}")
    check(all(l["size"] >= rep["large_threshold"] for l in rep["large"]),
          f"an entry under the threshold {rep['large_threshold']}: {[l['size'] for l in rep['large']]}")
    sizes = [l["size"] for l in rep["large"]]
    check_eq(sizes, sorted(sizes, reverse=True), "large entries, largest first")

    soft = Soft()
    for threshold, value, listed in (("3M", 3 << 20, True), (str(3 << 20), 3 << 20, True),
                                     (str((3 << 20) + 1), (3 << 20) + 1, False),
                                     ("4M", 4 << 20, False)):
        r2 = run([prog("large_age"), "0"], env={"LEAKPROBE_LARGE": threshold})
        rep2 = r2.report("exit")
        soft(check_eq, r2.warnings(), [], f"LEAKPROBE_LARGE={threshold}: warnings")
        soft(check_eq, rep2["large_threshold"], value, f"LEAKPROBE_LARGE={threshold}: large_threshold")
        soft(check_eq, len(big_entries(rep2)), 1 if listed else 0,
             f"LEAKPROBE_LARGE={threshold}: large entries for the 3 MiB block")
        soft(check_eq, sites_by_function(rep2, "hold_big"), (1, size),
             f"LEAKPROBE_LARGE={threshold}: hold_big in sites")
    soft.done()


main(test)
