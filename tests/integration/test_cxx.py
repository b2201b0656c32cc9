"""C++: new, new[] and std::string/std::vector contents are reported at
the C++ functions that leaked them, by their demangled names, with the
exact blocks and bytes the program states (operator new calls malloc with
the size it was asked for), over-aligned types through aligned new too;
everything deleted is gone; a failing new throws std::bad_alloc (nothrow
new gives nullptr) as without the shim."""
from lptest import check, check_consistent, check_eq, check_truth, main, prog, run, sites_with


def test():
    plain = run([prog("cxx_leaks")], shim=False)
    r = run([prog("cxx_leaks")])
    check_eq(r.rc, 0, "exit code")
    check_eq(r.stdout, plain.stdout, "stdout under the shim (vs without)")
    check("std::bad_alloc" in plain.stdout, f"new char[huge] throws without the shim: {plain.stdout}")
    rep = r.report("exit")
    check_truth(rep, r.truth)
    check_consistent(rep)
    for leak in r.truth["leaks"]:
        name = leak["function"]
        check("::" in name and "(" in name, f"truth names a C++ function: {name}")
        if not leak["blocks"]:
            continue
        for s in sites_with(rep, name):
            # The caller of malloc is libstdc++'s operator new, demangled.
            top = s["stack"][0]["function"] or ""
            check(top.startswith("operator new"),
                  f"{name}: innermost frame should be operator new, seen {top!r}")
            check(not any((f["function"] or "").startswith("_Z") for f in s["stack"]),
                  f"{name}: a mangled name is left in the stack: "
                  f"{[f['function'] for f in s['stack']]}")
    mangled = [f["function"] for s in rep["sites"] for f in s["stack"]
               if (f["function"] or "").startswith("_Z")]
    check(not mangled, f"mangled names in the report: {mangled[:5]}")
    # Blocks churned with new/delete, new[]/delete[] are not live.
    churn = sites_with(rep, "app::churn()")
    check(not churn, f"app::churn() deleted everything it allocated, the report has "
                     f"{sum(s['blocks'] for s in churn)} live blocks from it")


main(test)
