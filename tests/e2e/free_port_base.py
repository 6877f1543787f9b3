#!/usr/bin/env python3
"""Prints a port base B such that B..B+SPAN-1 are all free on 127.0.0.1 (default span 100), for
scripts/cluster's PIXHIVE_CLUSTER_BASE in tests. Tries random aligned blocks in 20000-31999 (below the kernel's ephemeral range), so
two tests started at once rarely pick the same block; the cluster's `up` still refuses a port
taken in between."""
import random
import socket
import sys


def block_free(base, span):
    for port in range(base, base + span):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def main():
    span = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000 - span, 100)
        if block_free(base, span):
            print(base)
            return 0
    print("no free block of %d ports found" % span, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
