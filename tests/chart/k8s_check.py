#!/usr/bin/env python3
"""Offline check of k8s/ (the EKS cluster and its add-ons) against charts/pixhive and
docs/deploy-eks.md: the facts that live in two files and break nothing visibly when they drift
apart (an IRSA role trusting the wrong service account, a Grafana sidecar that never sees the
dashboards, an Ingress no controller serves, an HPA asking for a metric nobody serves).

Usage: tests/chart/k8s_check.py [repo]. Parses YAML with PyYAML when it is installed, else with
the `yaml` package of tests/chart/node_modules (scripts/bootstrap). Prints ok or each error;
exits 1 on any error."""

import copy
import ipaddress
import json
import os
import re
import subprocess
import sys

REPO = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
errors = []


def fail(msg):
    errors.append(msg)


def rel(path):
    return os.path.relpath(path, REPO)


def load_all(paths):
    """{path: [documents]} for YAML files (multi-document)."""
    try:
        import yaml

        out = {}
        for p in paths:
            with open(p, encoding="utf-8") as f:
                out[p] = [d for d in yaml.safe_load_all(f) if d is not None]
        return out
    except ImportError:
        pass
    modules = os.path.join(REPO, "tests", "chart", "node_modules")
    if not os.path.isdir(os.path.join(modules, "yaml")):
        sys.exit("k8s_check: neither PyYAML nor tests/chart/node_modules/yaml (scripts/bootstrap) is there")
    script = r"""
      const fs = require("fs"), YAML = require("yaml"), out = {};
      for (const p of process.argv.slice(1))
        out[p] = YAML.parseAllDocuments(fs.readFileSync(p, "utf8")).map((d) => {
          if (d.errors.length) { console.error(p + ": " + d.errors[0].message); process.exit(1); }
          return d.toJS();
        }).filter((d) => d !== null && d !== undefined);
      console.log(JSON.stringify(out));
    """
    env = dict(os.environ, NODE_PATH=modules)
    res = subprocess.run(["node", "-e", script, *paths], capture_output=True, text=True, env=env)
    if res.returncode != 0:
        sys.exit("k8s_check: " + res.stderr.strip())
    return json.loads(res.stdout)


def merge(base, over):
    """Helm's values merge: maps deep, everything else replaced."""
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def one(docs, path):
    if len(docs) != 1:
        fail(f"{rel(path)}: want one YAML document, got {len(docs)}")
        return {}
    return docs[0]


def helm_commands(text, markdown=False):
    """Every `helm upgrade --install RELEASE CHART ...` of a YAML file's comments, or of a Markdown
    text's fenced code blocks (continuation lines joined): [{release, chart, version, namespace}]."""
    if markdown:
        text = "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S))
    lines, cur = [], ""
    for raw in text.splitlines():
        line = re.sub(r"^\s*#\s?", "", raw).strip()
        cur = (cur + " " + line).strip() if cur else line
        if cur.endswith("\\"):
            cur = cur[:-1].strip()
            continue
        lines.append(cur)
        cur = ""
    out = []
    for line in lines:
        m = re.search(r"\bhelm upgrade --install (\S+) (\S+)(.*)", line)
        if not m:
            continue
        rest = m.group(3)
        version = re.search(r"--version[ =](\S+)", rest)
        ns = re.search(r"(?:-n|--namespace)[ =](\S+)", rest)
        out.append({"release": m.group(1), "chart": m.group(2),
                    "version": version.group(1) if version else None,
                    "namespace": ns.group(1) if ns else None})
    return out


def main():
    k8s = os.path.join(REPO, "k8s")
    addons_dir = os.path.join(k8s, "addons")
    files = sorted(os.path.join(k8s, f) for f in os.listdir(k8s) if f.endswith(".yaml")) + \
        sorted(os.path.join(addons_dir, f) for f in os.listdir(addons_dir) if f.endswith(".yaml"))
    chart = os.path.join(REPO, "charts", "pixhive")
    values_path, eks_path = os.path.join(chart, "values.yaml"), os.path.join(chart, "values-eks.yaml")
    docs = load_all(files + [values_path, eks_path])
    print(f"parsed {len(files)} files of k8s/")

    eksctl_path = os.path.join(k8s, "eksctl-cluster.yaml")
    cluster = one(docs[eksctl_path], eksctl_path)
    addons = {os.path.basename(p)[:-5]: one(docs[p], p) for p in files if os.path.dirname(p) == addons_dir}
    for want in ("metrics-server", "keda", "kube-prometheus-stack", "ingress-nginx",
                 "aws-load-balancer-controller", "prometheus-adapter"):
        if want not in addons:
            fail(f"k8s/addons/{want}.yaml is missing")
            addons[want] = {}
    base_values = one(docs[values_path], values_path)
    eks_only = one(docs[eks_path], eks_path)
    eks = merge(base_values, eks_only)
    deploy_md_path = os.path.join(REPO, "docs", "deploy-eks.md")
    with open(deploy_md_path, encoding="utf-8") as f:
        deploy_md = f.read()
    installs = {}
    for c in helm_commands(deploy_md, markdown=True):
        seen = installs.setdefault(c["release"], c)
        if (seen["namespace"], seen["version"]) != (c["namespace"], c["version"]):
            fail(f"docs/deploy-eks.md: {c['release']} is installed both as -n {seen['namespace']} --version {seen['version']} "
                 f"and as -n {c['namespace']} --version {c['version']}")

    # The cluster itself.
    if cluster.get("apiVersion") != "eksctl.io/v1alpha5" or cluster.get("kind") != "ClusterConfig":
        fail("eksctl-cluster.yaml: not an eksctl.io/v1alpha5 ClusterConfig")
    version = str(get(cluster, "metadata", "version", default=""))
    if not re.fullmatch(r"1\.\d+", version) or int(version.split(".")[1]) < 29:
        fail(f"eksctl-cluster.yaml: metadata.version {version!r} is not a Kubernetes version >= 1.29")
    zones = cluster.get("availabilityZones") or []
    if len(set(zones)) != 3:
        fail(f"eksctl-cluster.yaml: want 3 availability zones, got {zones}")
    if get(cluster, "iam", "withOIDC") is not True:
        fail("eksctl-cluster.yaml: iam.withOIDC must be true (IRSA)")
    for ng in cluster.get("managedNodeGroups") or []:
        if (ng.get("minSize") or 0) < len(set(zones)) and get(eks, "defaults", "topologySpread", "zoneWhenUnsatisfiable") == "DoNotSchedule":
            fail(f"eksctl-cluster.yaml: node group {ng.get('name')} may shrink below one node per zone, "
                 "but values-eks.yaml's zone spread is DoNotSchedule")
    cluster_name = get(cluster, "metadata", "name")
    accounts = {(get(sa, "metadata", "namespace", default="default"), get(sa, "metadata", "name")): sa
                for sa in get(cluster, "iam", "serviceAccounts", default=[]) or []}

    # IRSA for PixHive: the role named in values-eks.yaml's annotation trusts exactly the chart's
    # ServiceAccount in the namespace docs/deploy-eks.md installs into.
    role_arn = get(eks, "serviceAccount", "annotations", "eks.amazonaws.com/role-arn", default="")
    role_name = role_arn.rsplit("/", 1)[-1] if ":role/" in role_arn else None
    pixhive = installs.get("pixhive")
    if not role_name:
        fail("values-eks.yaml: serviceAccount.annotations has no eks.amazonaws.com/role-arn")
    elif not pixhive or not pixhive["namespace"]:
        fail("docs/deploy-eks.md: no `helm upgrade --install pixhive ... -n <namespace>` command")
    else:
        release = pixhive["release"]
        full = get(eks, "fullnameOverride") or (release if "pixhive" in release else f"{release}-pixhive")
        sa_name = get(eks, "serviceAccount", "name") or full
        matching = [k for k, sa in accounts.items() if sa.get("roleName") == role_name]
        if not matching:
            fail(f"eksctl-cluster.yaml: no iam.serviceAccounts entry with roleName {role_name} (values-eks.yaml's role-arn)")
        elif matching[0] != (pixhive["namespace"], sa_name):
            fail(f"eksctl-cluster.yaml: role {role_name} trusts {matching[0][0]}/{matching[0][1]}, but the chart's "
                 f"ServiceAccount is {pixhive['namespace']}/{sa_name} (values-eks.yaml, docs/deploy-eks.md)")
        elif get(eks, "serviceAccount", "create") and not accounts[matching[0]].get("roleOnly"):
            fail(f"eksctl-cluster.yaml: the chart makes ServiceAccount {sa_name}, so its entry needs roleOnly: true")

    # AWS Load Balancer Controller: eksctl's IRSA ServiceAccount is the one the chart uses.
    lbc = addons["aws-load-balancer-controller"]
    lbc_key = (installs.get("aws-load-balancer-controller", {}).get("namespace"), get(lbc, "serviceAccount", "name"))
    if get(lbc, "serviceAccount", "create") is not False:
        fail("aws-load-balancer-controller.yaml: serviceAccount.create must be false (eksctl makes it, with the role)")
    if not get(accounts.get(lbc_key, {}), "wellKnownPolicies", "awsLoadBalancerController"):
        fail(f"eksctl-cluster.yaml: no IRSA ServiceAccount {lbc_key[0]}/{lbc_key[1]} with wellKnownPolicies.awsLoadBalancerController "
             "(aws-load-balancer-controller.yaml's serviceAccount.name, docs/deploy-eks.md's namespace)")
    if lbc.get("clusterName") != cluster_name:
        fail(f"aws-load-balancer-controller.yaml: clusterName {lbc.get('clusterName')!r} != eksctl's metadata.name {cluster_name!r}")

    # Grafana's sidecar finds the chart's dashboard ConfigMaps in PixHive's namespace.
    sidecar = get(addons["kube-prometheus-stack"], "grafana", "sidecar", "dashboards", default={})
    dash = get(eks, "metrics", "dashboards", default={})
    if (sidecar.get("label"), str(sidecar.get("labelValue"))) != (dash.get("label"), str(dash.get("labelValue"))):
        fail(f"kube-prometheus-stack.yaml: Grafana's sidecar looks for {sidecar.get('label')}={sidecar.get('labelValue')!r}, "
             f"the chart labels dashboards {dash.get('label')}={dash.get('labelValue')!r}")
    if sidecar.get("enabled") is not True or sidecar.get("searchNamespace") not in ("ALL", get(pixhive or {}, "namespace")):
        fail("kube-prometheus-stack.yaml: grafana.sidecar.dashboards must be enabled and search PixHive's namespace (ALL)")

    # Prometheus picks up the chart's ServiceMonitor and PrometheusRule.
    kps_install = installs.get("kube-prometheus-stack", {})
    spec = get(addons["kube-prometheus-stack"], "prometheus", "prometheusSpec", default={})
    for kind, sel in (("serviceMonitor", "serviceMonitorSelectorNilUsesHelmValues"), ("prometheusRule", "ruleSelectorNilUsesHelmValues")):
        release_label = get(eks, "metrics", kind, "labels", "release")
        if spec.get(sel) is not False and release_label != kps_install.get("release"):
            fail(f"kube-prometheus-stack.yaml: {sel} is not false and values-eks.yaml's metrics.{kind}.labels.release "
                 f"{release_label!r} is not the release {kps_install.get('release')!r}")

    # The Ingress's class is the one ingress-nginx serves.
    ingx = get(addons["ingress-nginx"], "controller", default={})
    if get(ingx, "ingressClassResource", "name") != get(eks, "ingress", "className"):
        fail(f"ingress-nginx.yaml: IngressClass {get(ingx, 'ingressClassResource', 'name')!r} != values-eks.yaml's "
             f"ingress.className {get(eks, 'ingress', 'className')!r}")
    annotations = get(ingx, "service", "annotations", default={}) or {}
    with open(eks_path, encoding="utf-8") as f:
        listed = re.findall(r"^#\s+(service\.beta\.kubernetes\.io/[\w.-]+):\s*(.+?)\s*$", f.read(), re.M)
    for key, value in listed:
        value = value.strip('"')
        if str(annotations.get(key)) != value:
            fail(f"ingress-nginx.yaml: controller.service.annotations[{key}] is {annotations.get(key)!r}, values-eks.yaml lists {value!r}")

    # prometheus-adapter serves the External metric that processing's HPA asks for.
    rules = get(addons["prometheus-adapter"], "rules", "external", default=[]) or []
    metric = get(eks, "processingQueueScaling", "prometheusAdapter", "metricName")
    found = [r for r in rules if get(r, "name", "as") == metric]
    if not found:
        fail(f"prometheus-adapter.yaml: no rules.external entry serves {metric!r} (the chart's processingQueueScaling.prometheusAdapter.metricName)")
    elif not re.search(r'group=~"processing\|processing-jobs"', found[0].get("metricsQuery", "")):
        fail("prometheus-adapter.yaml: the metricsQuery must itself select processing's groups, "
             "group=~\"processing|processing-jobs\" (<<.LabelMatchers>> carry only the namespace, "
             "not the seriesQuery's labels)")

    # Namespaces the chart's NetworkPolicies name are where the add-ons are installed.
    for what, release in (("ingressController", "ingress-nginx"), ("monitoring", "kube-prometheus-stack")):
        ns = get(eks, "networkPolicy", what, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
        if ns != installs.get(release, {}).get("namespace"):
            fail(f"values-eks.yaml: networkPolicy.{what} admits namespace {ns!r}, docs/deploy-eks.md installs {release} "
                 f"into {installs.get(release, {}).get('namespace')!r}")
    if get(eks, "processingQueueScaling", "keda", "enabled") and installs.get("keda", {}).get("namespace") != "keda":
        fail("docs/deploy-eks.md: KEDA must be installed into namespace keda (the chart's Redis NetworkPolicy names it)")

    # prometheus-adapter asks kube-prometheus-stack's Prometheus Service (its name follows the
    # chart's fullname: the release, truncated to 26 characters).
    kps_release = kps_install.get("release", "")
    kps_full = (kps_release if "kube-prometheus-stack" in kps_release else f"{kps_release}-kube-prometheus-stack")[:26].rstrip("-")
    want_url = f"http://{kps_full}-prometheus.{kps_install.get('namespace')}.svc"
    url = get(addons["prometheus-adapter"], "prometheus", "url", default="")
    if url.rstrip("/") not in (want_url, want_url + ".cluster.local"):
        fail(f"prometheus-adapter.yaml: prometheus.url {url!r} is not kube-prometheus-stack's Service {want_url!r}")

    # Addresses: the VPC eksctl makes is the range values-eks.yaml and ingress-nginx trust.
    try:
        vpc = ipaddress.ip_network(get(cluster, "vpc", "cidr", default=""))
    except ValueError:
        vpc = None
        fail("eksctl-cluster.yaml: vpc.cidr is not a CIDR (values-eks.yaml depends on it)")
    if vpc:
        ranges = {"config.PIXHIVE_TRUSTED_PROXIES": str(get(eks, "config", "PIXHIVE_TRUSTED_PROXIES", default="")).split(",")}
        ranges["database.cidrs"] = get(eks, "database", "cidrs", default=[]) or []
        ranges["redis.cidrs"] = get(eks, "redis", "cidrs", default=[]) or []
        real_ip = get(ingx, "config", "proxy-real-ip-cidr", default="")
        ranges["ingress-nginx controller.config.proxy-real-ip-cidr"] = str(real_ip).split(",") if real_ip else []
        for where, cidrs in ranges.items():
            for c in cidrs:
                try:
                    inside = ipaddress.ip_network(c.strip()).subnet_of(vpc)
                except ValueError:
                    inside = False
                if not inside:
                    fail(f"{where}: {c!r} is not inside eksctl's vpc.cidr {vpc}")

    # StorageClasses asked for by name exist in k8s/.
    classes = {get(d, "metadata", "name") for p in files if os.path.dirname(p) == k8s for d in docs[p]
               if isinstance(d, dict) and d.get("kind") == "StorageClass"}
    wanted = {
        "values-eks.yaml postgresqlTrial": get(eks, "postgresqlTrial", "persistence", "storageClass"),
        "values-eks.yaml redisTrial": get(eks, "redisTrial", "persistence", "storageClass"),
        "kube-prometheus-stack.yaml prometheus": get(spec, "storageSpec", "volumeClaimTemplate", "spec", "storageClassName"),
        "kube-prometheus-stack.yaml alertmanager": get(addons["kube-prometheus-stack"], "alertmanager", "alertmanagerSpec",
                                                        "storage", "volumeClaimTemplate", "spec", "storageClassName"),
    }
    for where, sc in wanted.items():
        if sc and sc not in classes:
            fail(f"{where}: StorageClass {sc!r} is not defined in k8s/*.yaml ({sorted(classes)})")

    # Each add-on file names its chart, repository and version; docs/deploy-eks.md installs that.
    for name in addons:
        path = os.path.join(addons_dir, name + ".yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        header = "".join(l for l in text.splitlines(True) if l.startswith("#"))
        head = re.search(r"^# Chart (\S+) (\d+\.\d+\.\d+)\b.*?repo (https://\S+)", header, re.M | re.S)
        if not head:
            fail(f"{rel(path)}: the header must say `Chart <name> <version> ... repo <url>`")
            continue
        chart_name, chart_version = head.group(1), head.group(2)
        for source, cmd in (("its header", (helm_commands(header) or [None])[0]), ("docs/deploy-eks.md", installs.get(name))):
            if not cmd:
                fail(f"{source}: no `helm upgrade --install {name} ...` command for {rel(path)}")
            elif cmd["chart"].split("/")[-1] != chart_name or cmd["version"] != chart_version:
                fail(f"{source}: installs {cmd['chart']} --version {cmd['version']}, {rel(path)} is for {chart_name} {chart_version}")
        if installs.get(name) and not re.search(r"-f k8s/addons/" + re.escape(name) + r"\.yaml", deploy_md):
            fail(f"docs/deploy-eks.md: the {name} install does not use -f k8s/addons/{name}.yaml")

    for e in errors:
        print("error: " + e)
    print("k8s check: " + ("FAIL" if errors else "ok"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
