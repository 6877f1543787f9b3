"""The local split deployment with Prometheus on it, for bench/resources.py and bench/autoscale.py:
scripts/cluster up (with `--rate-limits off`: the load comes from one address), scripts/monitor
up, and the users, photos and load generator of tests/e2e/chaos.py (its setup: 4 verified users
with 3 processed photos each; its Load: the chaos mix, without the kills)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import chaos  # noqa: E402
from prometheus_live import Prometheus, Timeout, wait_until  # noqa: E402,F401

MONITOR = os.path.join(REPO, "scripts", "monitor")


class Live:
    def __init__(self, binary, keep=False, monitor_args=()):
        self.cluster = chaos.Cluster(binary, keep)
        self.keep = keep
        self.monitor_args = list(monitor_args)
        self.prom = None

    @property
    def env(self):
        return self.cluster.env

    def monitor(self, *args, check=True):
        p = subprocess.run([MONITOR, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and p.returncode != 0:
            raise SystemExit("scripts/monitor %s failed:\n%s" % (" ".join(args), p.stdout))
        return p.stdout.strip().splitlines()

    def up(self):
        """Starts everything, signs the users up and waits for their photos; returns self."""
        t0 = time.monotonic()
        self.url = self.cluster.up()
        self.prom = Prometheus(self.monitor("up", *self.monitor_args)[-1])
        wait_until("12 targets up", lambda: len([v for _, v in self.prom.query("up") if v == 1]) == 12, 60)
        self.client = chaos.Client(self.url)
        work = tempfile.mkdtemp(prefix="pixhive-bench-jpegs-")
        try:
            self.jpegs = chaos.make_jpegs(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.users, self.photos, _ = chaos.setup(self.client, self.cluster, self.jpegs)
        print("cluster %s, Prometheus %s, %d users and %d photos ready in %.0f s (dir %s)" % (
            self.url, self.prom.url, len(self.users), len(self.photos), time.monotonic() - t0, self.cluster.dir),
            flush=True)
        return self

    def load(self, rate):
        """chaos.py's load generator at `rate` requests/s (4 client threads), not started."""
        rec = chaos.Recorder()
        return chaos.Load(self.client, self.users, self.photos, self.jpegs, rate, rec), rec

    def down(self):
        if self.keep:
            print("kept running: PIXHIVE_CLUSTER_DIR=%s scripts/monitor url" % self.cluster.dir)
            return
        self.monitor("down", check=False)
        self.cluster.down()


def machine():
    """One line about this machine: CPU model, cores, memory, kernel."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return "%s, %d cores, %.0f GiB, Linux %s" % (model, os.cpu_count(), mem_kb / 2**20, os.uname().release)
