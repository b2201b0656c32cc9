"""lptest - the harness of leakprobe's real-process tests (stdlib only).

Each test is a script run by meson (LP_SHIM, LP_BUILD, LP_SRC: env.py).  A
test exits 0 on success, 77 to skip (with a message), anything else on
failure; failures say what was expected and what was seen (checks.py).

  env.py      paths, test programs, the environment a program gets
  running.py  run / start+finish / Session: bounded runs and their results
  reports.py  reading reports; the invariants every report must satisfy
  checks.py   check, check_eq, Soft, skip, main
  stress.py   the hostile-environment suite's additions (process groups,
              figures)
  python.py   the live-CPython tests' additions (interpreters, CPython's
              own verdict)
"""
from lptest.checks import SKIP, Failure, Soft, check, check_eq, main, skip  # noqa: F401
from lptest.env import (BUILD, SHIM, SRC, clean_env, launcher_build_dir, prog,  # noqa: F401
                        program_source)
from lptest.reports import (WARNING_PREFIX, check_consistent, check_leaks,  # noqa: F401
                            check_seqs, check_truth, describe_sites, json_reports_in_text,
                            load_reports, load_truths, sites_by_function, sites_with,
                            text_without_reports, warning_lines)
from lptest.running import Run, Session, finish, run, start, valgrind_in_use  # noqa: F401
