"""checks - verdicts: a failed check raises Failure with what was
expected and what was seen; Soft collects several; main() turns the
outcome into the exit status meson reads (0 ok, 77 skipped, 1 failed)."""
import os
import sys
import time
import traceback

SKIP = 77


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def check_eq(seen, expected, what):
    """Equality with an 'expected X, seen Y' message."""
    if seen != expected:
        raise Failure(f"{what}: expected {expected!r}, seen {seen!r}")


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


class Soft:
    """Several independent checks, all reported, one failure at the end:

        soft = Soft()
        soft(check_eq, a, b, "what")     # a call: its Failure is kept
        with soft("a step"):             # a block: the same, under a label
            check(...)
        soft.done()                      # fails with every failure kept
    """

    def __init__(self):
        self.failures = []

    def __call__(self, what, *args, **kwargs):
        if callable(what):
            try:
                return what(*args, **kwargs)
            except Failure as ex:
                self.failures.append(str(ex))
                return None
        return _Step(self, what)

    def done(self):
        if len(self.failures) == 1:
            raise Failure(self.failures[0])
        if self.failures:
            raise Failure(f"{len(self.failures)} failures:\n  - " + "\n  - ".join(self.failures))


class _Step:
    def __init__(self, soft, label):
        self.soft, self.label = soft, label

    def __enter__(self):
        return self

    def __exit__(self, typ, ex, tb):
        if typ is Failure:
            print(f"{self.label}: FAIL {ex}")
            self.soft.failures.append(f"{self.label}: {ex}")
            return True
        if typ is None:
            print(f"{self.label}: ok")
        return False


_at_end = []


def at_end(fn):
    """fn(name) runs when main() ends, whatever the verdict (the stress
    suite writes its figures)."""
    _at_end.append(fn)


def main(test, name=None):
    """Run test(); print the verdict; exit with the right code.  A bug in
    the test itself (any other exception) is a failure too, with its
    traceback."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t0 = time.monotonic()
    code = 0
    try:
        test()
        print(f"ok {name} ({time.monotonic() - t0:.1f} s)")
    except Failure as ex:
        print(f"FAIL {name}: {ex}")
        code = 1
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        print(f"FAIL {name}: the test raised an unexpected exception (see stderr)")
        code = 1
    for fn in _at_end:
        fn(name)
    sys.exit(code)
