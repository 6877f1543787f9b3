#!/usr/bin/env python3
"""Turns `helm template` output of charts/pixhive into what podman 4.3's `kube play` can run
(scripts/kube-play). Usage: kube_podman.py RENDERED.yaml OUT_DIR

Writes into OUT_DIR:
  infra.yaml      the trial PostgreSQL and Redis (StatefulSets turned into Deployments)
  migrate.yaml    the migration hook Job's pod (kind Pod, restartPolicy Never)
  services.yaml   the PixHive Deployments and every ConfigMap
  secrets/NAME.json  one per Secret: its data keys mapped to the base64 values
  aliases.tsv     <deployment><TAB><alias>...: the names of the Services selecting its pods
  volumes.txt     the podman volumes the emptyDirs become, one a line
  dropped.txt     what was left out, one "<kind> <name>: <why>" per line

What podman 4.3 cannot take and how it is worked around:
  Secret     kube play's Secret support is broken (env lookups expect JSON, podman issue 16269):
             the documents are removed and created with `podman secret create NAME FILE.json`.
  ports      every containerPort is published on the host, so the same port in two pods
             collides: `ports:` are removed (pods talk over the podman network), and named probe
             ports become numbers.
  Service    ignored by podman (no DNS for it): aliases.tsv lists, for every Deployment, the
             Services whose selector matches its pod labels; scripts/kube-play attaches them to
             the pod as network aliases.
  StatefulSet  not run by kube play 4.3: becomes a Deployment (one replica, no
             volumeClaimTemplates: the podman values turn persistence off).
  Job        not run by kube play 4.3: its pod template becomes a Pod.
  emptyDir   becomes a podman named volume called as the pod's volume (`data`, `tmp`), the same
             volume for every pod that names one alike, and kept: each is renamed
             <pod>-<volume>; scripts/kube-play removes them before playing and on `down`.
  probes     only livenessProbe is used by podman; startupProbe/readinessProbe are left as they
             are (ignored), exec probes are plain argument lists in the chart already.
Anything else (HPA, PDB, Ingress, ServiceAccount, NetworkPolicy, monitoring CRDs) is dropped:
podman ignores or refuses it, and scripts/kube-play runs the ingress itself.
"""
import json
import os
import sys

import yaml


def selector_matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def strip_ports(pod_spec):
    """Removes containerPorts; probes that named a port get its number."""
    for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        named = {p["name"]: p["containerPort"] for p in c.get("ports", []) if "name" in p}
        c.pop("ports", None)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            p = c.get(probe)
            if not p:
                continue
            for kind in ("httpGet", "tcpSocket", "grpc"):
                if kind in p and isinstance(p[kind].get("port"), str):
                    p[kind]["port"] = named[p[kind]["port"]]


def own_volumes(owner, pod_spec, volumes):
    """Renames the emptyDirs of one pod to <owner>-<name> (podman 4.3 shares them by name)."""
    renamed = {}
    for v in pod_spec.get("volumes", []):
        if "emptyDir" in v:
            renamed[v["name"]] = v["name"] = f"{owner}-{v['name']}"
            volumes.append(v["name"])
    for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        for m in c.get("volumeMounts", []):
            m["name"] = renamed.get(m["name"], m["name"])


def main():
    rendered, out = sys.argv[1], sys.argv[2]
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    os.makedirs(os.path.join(out, "secrets"), exist_ok=True)

    services = [d for d in docs if d["kind"] == "Service"]
    configmaps, app, infra, migrate, dropped, aliases, volumes = [], [], [], [], [], [], []
    for d in docs:
        kind, name = d["kind"], d["metadata"]["name"]
        if kind == "ConfigMap":
            configmaps.append(d)
        elif kind == "Secret":
            path = os.path.join(out, "secrets", name + ".json")
            with open(path, "w") as f:
                json.dump(d.get("data") or {}, f)
            dropped.append(f"Secret {name}: created with podman secret create ({path})")
        elif kind in ("Deployment", "StatefulSet"):
            if kind == "StatefulSet":
                d = {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": d["metadata"],
                    "spec": {
                        "replicas": d["spec"].get("replicas", 1),
                        "selector": d["spec"]["selector"],
                        "template": d["spec"]["template"],
                    },
                }
                dropped.append(f"StatefulSet {name}: run as a Deployment")
            spec = d["spec"]["template"]["spec"]
            strip_ports(spec)
            own_volumes(name, spec, volumes)
            labels = d["spec"]["template"]["metadata"].get("labels", {})
            names = [s["metadata"]["name"] for s in services
                     if selector_matches(s["spec"].get("selector"), labels)]
            aliases.append([name] + names)
            (infra if kind == "StatefulSet" else app).append(d)
        elif kind == "Job":
            tmpl = d["spec"]["template"]
            spec = tmpl["spec"]
            strip_ports(spec)
            own_volumes(name, spec, volumes)
            migrate.append({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": tmpl["metadata"].get("labels", {})},
                "spec": spec,
            })
            dropped.append(f"Job {name}: run as a Pod")
        elif kind == "Service":
            dropped.append(f"Service {name}: a network alias of the pods it selects")
        else:
            dropped.append(f"{kind} {name}: not used under podman")

    def write(fname, items):
        with open(os.path.join(out, fname), "w") as f:
            yaml.safe_dump_all(items, f, sort_keys=False)

    write("infra.yaml", infra)
    write("migrate.yaml", migrate)
    write("services.yaml", configmaps + app)
    with open(os.path.join(out, "aliases.tsv"), "w") as f:
        for row in aliases:
            f.write("\t".join(row) + "\n")
    with open(os.path.join(out, "volumes.txt"), "w") as f:
        f.write("".join(v + "\n" for v in volumes))
    with open(os.path.join(out, "dropped.txt"), "w") as f:
        f.write("\n".join(dropped) + "\n")


if __name__ == "__main__":
    main()
