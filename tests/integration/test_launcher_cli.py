"""The launcher's command line, as a new user meets it.

Each bad command line exits 2 with one message naming what was wrong, and
runs nothing (a --output that would swallow the "--" creates no file named
"--"); `run --help`, `--version` and `help` succeed.  The version is
meson.build's.  `run` leaves the program's stderr exactly as without the
launcher: the program's own stderr (oracle: the same program run plainly)
plus nothing, whatever the build prints.  A copy of the launcher outside
any checkout and without LEAKPROBE_LIB says where the shim could not be
found (no meson or ninja error); with LEAKPROBE_LIB it runs that shim.
A build that fails shows its log and says so (exit 2), running nothing."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from lptest import SHIM, SRC, Soft, check, check_eq, launcher_build_dir, main, prog, skip

LAUNCHER = os.path.join(SRC, "tools", "leakprobe")


def launch(argv, cwd, env=None, launcher=LAUNCHER):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LEAKPROBE_") and k != "LD_PRELOAD"}
    e.update(env or {})
    return subprocess.run([launcher] + argv, cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=120)


def meson_version():
    with open(os.path.join(SRC, "meson.build")) as fh:
        return re.search(r"version\s*:\s*'([^']+)'", fh.read()).group(1)


def test():
    if not shutil.which("ninja"):
        skip("ninja is not installed (the launcher runs it in a checkout)")
    top = tempfile.mkdtemp(prefix="lptest.cli.")
    soft = Soft()
    try:
        env = {"LEAKPROBE_BUILD_DIR": launcher_build_dir(top)}
        marker = os.path.join(top, "ran")
        touch = ["sh", "-c", f"echo ran > {marker}"]

        bad = [
            (["run", "--output", "--"] + touch, "--output needs"),
            (["run", "--output"], "--output needs"),
            (["run", "--format", "xml", "--"] + touch, "--format xml"),
            (["run", "--format", "--"] + touch, "--format needs"),
            (["run", "--large", "lots", "--"] + touch, "--large lots"),
            (["run", "--large", "0", "--"] + touch, "--large 0"),
            (["run", "--depth", "300", "--"] + touch, "--depth 300"),
            (["run", "--depth", "-1", "--"] + touch, "--depth -1"),
            (["run", "--exitcode", "0", "--"] + touch, "--exitcode 0"),
            (["run", "--exitcode", "256", "--"] + touch, "--exitcode 256"),
            (["run", "--exitcode", "x", "--"] + touch, "--exitcode x"),
            (["run", "--exitcode", "--"] + touch, "--exitcode needs"),
            (["run", "--suppressions", "/nonexistent/s.supp", "--"] + touch,
             "--suppressions /nonexistent/s.supp"),
            (["run", "--suppressions", "/", "--"] + touch, "--suppressions /"),
            (["run", "--bogus", "--"] + touch, "unknown option --bogus"),
            (["run"], "no command given"),
            (["run", "--"], "no command given"),
            (["snapshot"], "which process"),
            (["snapshot", "abc"], "abc is not a process id"),
            (["snapshot", "1", "2"], "one PID"),
            (["frobnicate"], "unknown command 'frobnicate'"),
            (["lib", "extra"], "lib takes no arguments"),
        ]
        for argv, says in bad:
            p = launch(argv, cwd=top, env=env)
            soft(check_eq, p.returncode, 2, f"leakprobe {' '.join(argv)}: exit status")
            soft(check, says in p.stderr, f"leakprobe {' '.join(argv)}: stderr does not say "
                                          f"{says!r}:\n{p.stderr[-500:]}")
            soft(check, "unbound variable" not in p.stderr and "parameter null" not in p.stderr,
                 f"leakprobe {' '.join(argv)}: a raw bash error:\n{p.stderr[-500:]}")
            soft(check, not os.path.exists(marker), f"leakprobe {' '.join(argv)} ran the command")
            soft(check, not os.path.exists(os.path.join(top, "--")),
                 f"leakprobe {' '.join(argv)} created a file named --")
            if os.path.exists(marker):
                os.unlink(marker)

        for argv in (["run", "--help"], ["help"], ["--help"]):
            p = launch(argv, cwd=top, env=env)
            soft(check_eq, p.returncode, 0, f"leakprobe {' '.join(argv)}: exit status")
            soft(check, "usage: leakprobe" in p.stdout, f"leakprobe {' '.join(argv)}: no usage")
        for argv in (["--version"], ["version"]):
            p = launch(argv, cwd=top, env=env)
            soft(check_eq, (p.returncode, p.stdout.strip()), (0, f"leakprobe {meson_version()}"),
                 f"leakprobe {' '.join(argv)}")

        # The program's stderr, plainly and under the launcher.
        # (a process that leaves by exit(): dash's sh -c ends with _exit,
        # which writes no report, as under LSan)
        speak = [sys.executable, "-S", "-c",
                 "import sys; sys.stderr.write('to-stderr\\n'); print('to-stdout')"]
        plain = subprocess.run(speak, capture_output=True, text=True, timeout=60)
        out = os.path.join(top, "r.%p.json")
        p = launch(["run", "--format", "json", "--output", out, "--"] + speak, cwd=top, env=env)
        soft(check_eq, (p.returncode, p.stdout, p.stderr), (0, plain.stdout, plain.stderr),
             "run: exit status, stdout, stderr against the plain run")
        soft(check, [f for f in os.listdir(top) if f.startswith("r.") and f.endswith(".json")],
             f"run --output: no report in {os.listdir(top)}")

        # A build that fails.
        broken = os.path.join(top, "broken")
        os.mkdir(broken)
        with open(os.path.join(broken, "build.ninja"), "w") as fh:
            fh.write("not a ninja file\n")
        p = launch(["run", "--"] + touch, cwd=top, env={"LEAKPROBE_BUILD_DIR": broken})
        soft(check, p.returncode == 2 and "build failed" in p.stderr and
             "not a ninja file" in p.stderr and not os.path.exists(marker),
             f"a failing build: exit {p.returncode}, stderr:\n{p.stderr[-500:]}")

        # A copy of the launcher, away from any checkout.
        elsewhere = os.path.join(top, "bin")
        os.mkdir(elsewhere)
        copy = os.path.join(elsewhere, "leakprobe")
        shutil.copy(LAUNCHER, copy)
        p = launch(["run", "--", "true"], cwd=top, launcher=copy)
        soft(check_eq, p.returncode, 2, "copied launcher without LEAKPROBE_LIB: exit status")
        soft(check, "LEAKPROBE_LIB" in p.stderr and "meson" not in p.stderr.replace(
             "meson install", "") and "ninja" not in p.stderr,
             f"copied launcher: not the clear message:\n{p.stderr[-500:]}")
        p = launch(["run", "--format", "json", "--output", out, "--", prog("leak_sites")],
                   cwd=top, launcher=copy, env={"LEAKPROBE_LIB": SHIM})
        soft(check_eq, p.returncode, 0, f"copied launcher with LEAKPROBE_LIB: exit status "
                                        f"({p.stderr[-300:]})")
        p = launch(["lib"], cwd=top, launcher=copy, env={"LEAKPROBE_LIB": SHIM})
        soft(check_eq, p.stdout.strip(), os.path.realpath(SHIM), "copied launcher: lib")
        p = launch(["test"], cwd=top, launcher=copy)
        soft(check, p.returncode == 2 and "developer command" in p.stderr,
             f"copied launcher: test is refused ({p.returncode}):\n{p.stderr[-300:]}")
    finally:
        shutil.rmtree(top, ignore_errors=True)
    soft.done()


main(test)
