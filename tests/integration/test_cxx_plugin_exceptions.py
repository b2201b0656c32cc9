"""A C program dlopens a C++ plugin that throws: caught in the throwing
function, and propagated from one plugin function to a catch in another.
Output and exit code are the same with and without the shim; under the
shim _Unwind_RaiseException in the global scope is libgcc_s's; with
LEAKPROBE_UNWIND=1 the shim loads libunwind (privately: it is mapped, yet
stays out of the global scope); by default libunwind is not loaded at
all.  Exception objects are freed (none live at exit)."""
from lptest import Soft, check, check_eq, main, prog, run


def test():
    argv = [prog("throw_host"), prog("plugin_throw.so")]
    plain = run(argv, shim=False)
    check_eq(plain.rc, 7, f"exit code without the shim (stderr: {plain.stderr[-500:]})")
    default = run(argv, timeout=60)
    check_eq(default.rc, plain.rc, "exit code under the shim, default unwinder")
    check_eq(default.stdout, plain.stdout, "stdout under the shim, default unwinder")
    check_eq(int(default.truth["facts"]["libunwind_mapped"]), 0,
             "libunwind mapped by default (it should not be loaded)")
    check("libgcc_s" in default.truth["facts"]["unwind_provider"], "provider, default unwinder")
    r = run(argv, timeout=60, env={"LEAKPROBE_UNWIND": "1"})
    soft = Soft()
    soft(check_eq, r.rc, plain.rc, f"exit code under the shim (vs without); stderr: {r.stderr[-1500:]}")
    soft(check_eq, r.stdout, plain.stdout, "stdout under the shim (vs without)")
    soft.done()
    facts = r.truth["facts"]
    check("libgcc_s" in facts["unwind_provider"],
          f"_Unwind_RaiseException under the shim: expected libgcc_s, seen {facts['unwind_provider']}")
    check_eq(int(facts["libunwind_mapped"]), 1,
             "libunwind mapped in the process under the shim with LEAKPROBE_UNWIND=1")
    rep = r.report("exit")
    live_exc = [s for s in rep["sites"]
                if any((f["function"] or "").startswith("__cxa_allocate_exception") for f in s["stack"])]
    check(not live_exc, f"exception objects still live at exit: {live_exc[:2]}")


main(test)
