# stress.py - a Python program that allocates and releases reference cycles
# in a loop, with the collector enabled (automatic collections run __del__
# all the time), and prints output that depends only on the number of
# rounds.  tests/integration/test_python_stress.py sends it report signals
# while it runs, then compares its stdout with a run without the shim.
#
#   stress.py          run until a line "stop" arrives on stdin (checked
#                      between rounds, without blocking); print "rounds R"
#   stress.py R        run exactly R rounds (the reference run)
import gc
import os
import select
import sys
import weakref

PER_ROUND = 150


class Node:
    finalized = 0

    def __init__(self, i):
        self.i = i
        self.peer = None

    def __del__(self):
        Node.finalized += 1


def one_round(r):
    refs = []
    checksum = 0
    for i in range(PER_ROUND):
        a = Node(r * 1000 + i)
        b = Node(i)
        a.peer = b
        b.peer = a  # a 2-cycle
        a.box = [a, b, {"k": (a, b)}, {b}]  # and containers on it
        refs.append(weakref.ref(a))
        checksum = (checksum * 31 + a.i + b.i + len(a.box)) % 1000003
    del a, b
    # Whatever the automatic collections left: CPython's collector must
    # free every cycle of this round, whatever reports ran meanwhile.
    gc.collect()
    alive = sum(1 for w in refs if w() is not None)
    return checksum, alive


def stop_requested():
    r, _, _ = select.select([0], [], [], 0)
    if not r:
        return False
    line = os.read(0, 100)
    return line.startswith(b"stop") or not line


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else None
    print("ready", flush=True)
    r = 0
    while (r < rounds) if rounds is not None else not stop_requested():
        checksum, alive = one_round(r)
        r += 1
        print("round %d checksum %d alive %d finalized %d garbage %d"
              % (r, checksum, alive, Node.finalized, len(gc.garbage)), flush=True)
    print("rounds %d" % r, flush=True)


main()
