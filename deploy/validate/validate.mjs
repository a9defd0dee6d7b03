// Offline checks of deploy/, run by CI (ctest deploy_manifests):
//   - every Kubernetes manifest in deploy/k8s against the API schemas of
//     kubernetes-models (types, required fields, formats, quantities);
//   - what the schemas do not say but a working deployment needs: one
//     namespace, selectors that match their pods, Services and probes that
//     name declared ports, requests and limits and both probes on every
//     container, pinned images, each Secret explained in docs/deploy.md;
//   - every --flag the manifests and the Dockerfile pass is one the binary
//     knows (asked with --helpfull);
//   - the Dockerfile through dockerfile-utils' linter, with the stages the
//     manifests' images come from.
// Usage: node validate.mjs --api-binary=PATH --vmm-binary=PATH
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { parseAllDocuments } from "yaml";
import { validate as lintDockerfile } from "dockerfile-utils";

const require = createRequire(import.meta.url);
const deploy = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(deploy, "..");
const k8s = join(deploy, "k8s");
const kNamespace = "cloudlet";
const kWorkloads = new Set(["Deployment", "DaemonSet", "StatefulSet"]);

const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

const options = Object.fromEntries(
  process.argv.slice(2).map((arg) => arg.replace(/^--/, "").split("=", 2)));
for (const needed of ["api-binary", "vmm-binary"]) {
  if (!options[needed]) {
    console.error(`usage: node validate.mjs --api-binary=PATH --vmm-binary=PATH`);
    process.exit(2);
  }
}

// --- the manifests, parsed -------------------------------------------------
const kustomization = parseAllDocuments(
  readFileSync(join(k8s, "kustomization.yaml"), "utf8"))[0].toJS();
const files = readdirSync(k8s).filter(
  (f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
for (const f of files) {
  if (!kustomization.resources.includes(f)) {
    problem(`k8s/${f}`, "not listed in kustomization.yaml");
  }
}
for (const f of kustomization.resources) {
  if (!files.includes(f)) problem("k8s/kustomization.yaml", `${f} does not exist`);
}

const objects = [];  // {where, doc}
for (const f of files) {
  parseAllDocuments(readFileSync(join(k8s, f), "utf8")).forEach((parsed, i) => {
    const where = `k8s/${f}#${i + 1}`;
    if (parsed.errors.length > 0) {
      problem(where, `YAML: ${parsed.errors.map((e) => e.message).join("; ")}`);
      return;
    }
    const doc = parsed.toJS();
    if (doc === null) return;
    objects.push({ where: `${where} ${doc.kind}/${doc.metadata?.name}`, doc });
  });
}

// --- 1. the API schemas ----------------------------------------------------
function modelOf(doc) {
  const [group, version] = doc.apiVersion.includes("/")
    ? doc.apiVersion.split("/") : ["", doc.apiVersion];
  const path = group === "" ? `kubernetes-models/${version}/${doc.kind}`
                            : `kubernetes-models/${group}/${version}/${doc.kind}`;
  try {
    return require(path)[doc.kind];
  } catch {
    return null;
  }
}
for (const { where, doc } of objects) {
  const Model = modelOf(doc);
  if (Model === null) {
    problem(where, `unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (error) {
    problem(where, `schema: ${error.message}`);
  }
}

// --- 2. what a working deployment needs -----------------------------------
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const workloads = objects.filter(({ doc }) => kWorkloads.has(doc.kind));
const podsOf = (selector) => workloads.filter(
  ({ doc }) => matches(selector, doc.spec.template.metadata.labels));
const portsOf = (workload) => workload.doc.spec.template.spec.containers
  .flatMap((c) => c.ports ?? []);
const hasPort = (workload, port) => portsOf(workload).some(
  (p) => p.name === port || p.containerPort === port);
const secrets = new Set();

for (const { where, doc } of objects) {
  if (doc.kind !== "Namespace" && doc.metadata.namespace !== kNamespace) {
    problem(where, `namespace is not ${kNamespace}`);
  }
}
for (const workload of workloads) {
  const { where, doc } = workload;
  const pod = doc.spec.template.spec;
  if (!matches(doc.spec.selector.matchLabels, doc.spec.template.metadata.labels)) {
    problem(where, "selector does not match the pod template's labels");
  }
  for (const c of pod.containers) {
    const at = `${where} container ${c.name}`;
    if (!/:[\w.-]+$/.test(c.image) || c.image.endsWith(":latest")) {
      problem(at, `image ${c.image} is not pinned to a tag`);
    }
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (c.resources?.[kind]?.[resource] === undefined) {
          problem(at, `no resources.${kind}.${resource}`);
        }
      }
    }
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      if (c[probe] === undefined) { problem(at, `no ${probe}`); continue; }
      const port = c[probe].grpc?.port ?? c[probe].httpGet?.port ??
                   c[probe].tcpSocket?.port;
      if (port !== undefined && !hasPort(workload, port)) {
        problem(at, `${probe} names port ${port}, which no container declares`);
      }
    }
    for (const env of c.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef;
      if (ref) secrets.add(ref.name);
    }
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.secret) secrets.add(volume.secret.secretName);
  }
  for (const mount of pod.containers.flatMap((c) => c.volumeMounts ?? [])) {
    if (!(pod.volumes ?? []).some((v) => v.name === mount.name) &&
        !(doc.spec.volumeClaimTemplates ?? []).some(
          (t) => t.metadata.name === mount.name)) {
      problem(where, `volumeMount ${mount.name} has no volume`);
    }
  }
}
for (const { where, doc } of objects) {
  if (doc.kind === "Service") {
    const pods = podsOf(doc.spec.selector);
    if (pods.length === 0) problem(where, "selects no workload's pods");
    for (const port of doc.spec.ports) {
      const target = port.targetPort ?? port.port;
      if (!pods.every((w) => hasPort(w, target))) {
        problem(where, `targetPort ${target} is not a port of its pods`);
      }
    }
  }
  if (doc.kind === "PodDisruptionBudget" || doc.kind === "NetworkPolicy") {
    const selector = doc.kind === "NetworkPolicy"
      ? doc.spec.podSelector.matchLabels : doc.spec.selector.matchLabels;
    if (podsOf(selector).length === 0) problem(where, "selects no workload's pods");
  }
  if (doc.kind === "StatefulSet" &&
      !objects.some(({ doc: s }) => s.kind === "Service" &&
                                     s.metadata.name === doc.spec.serviceName)) {
    problem(where, `serviceName ${doc.spec.serviceName} is no Service`);
  }
}
const guide = readFileSync(join(repo, "docs", "deploy.md"), "utf8");
for (const secret of secrets) {
  if (!guide.includes(secret)) {
    problem("docs/deploy.md", `does not say how to create Secret ${secret}`);
  }
}

// --- 3. the flags, against the binaries -----------------------------------
const flagsOf = (binary) => {
  // --helpfull exits 1 after printing.
  let text;
  try {
    text = execFileSync(binary, ["--helpfull"], { encoding: "utf8" });
  } catch (error) {
    text = `${error.stdout ?? ""}`;
  }
  const names = new Set([...text.matchAll(/^\s+--([a-z0-9_]+)/gm)].map((m) => m[1]));
  if (names.size === 0) problem(binary, "--helpfull listed no flags");
  return names;
};
const known = {
  "cloudlet-api": flagsOf(options["api-binary"]),
  "cloudlet-vmm": flagsOf(options["vmm-binary"]),
};
const checkFlags = (where, binary, args) => {
  for (const arg of args) {
    const m = /^--([A-Za-z0-9_-]+)/.exec(arg);
    if (m && !known[binary].has(m[1].replaceAll("-", "_"))) {
      problem(where, `${binary} has no flag --${m[1]}`);
    }
  }
};
for (const { where, doc } of workloads) {
  for (const c of doc.spec.template.spec.containers) {
    const binary = Object.keys(known).find((b) => c.image.startsWith(`${b}:`));
    if (binary) checkFlags(`${where} container ${c.name}`, binary, c.args ?? []);
  }
}

// --- 4. the Dockerfile ----------------------------------------------------
const dockerfilePath = join(deploy, "docker", "Dockerfile");
const dockerfile = readFileSync(dockerfilePath, "utf8");
for (const d of lintDockerfile(dockerfile)) {
  problem(`docker/Dockerfile:${d.range.start.line + 1}`, `lint: ${d.message}`);
}
const stages = new Map();  // stage name -> its ENTRYPOINT's arguments
let stage = null;
const lines = dockerfile.replace(/\\\n/g, " ").split("\n");
for (const line of lines) {
  const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
  if (from) { stage = from[1]; stages.set(stage, []); continue; }
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/i.exec(line);
  if (entry && stage) stages.set(stage, JSON.parse(entry[1]));
}
for (const [name, binary] of [["api", "cloudlet-api"], ["vmm", "cloudlet-vmm"]]) {
  if (!stages.has(name)) {
    problem("docker/Dockerfile", `no stage "${name}" for ${binary}'s image`);
    continue;
  }
  const entrypoint = stages.get(name);
  if (!entrypoint[0]?.endsWith(`/${binary}`)) {
    problem("docker/Dockerfile", `stage ${name} does not run ${binary}`);
  }
  checkFlags(`docker/Dockerfile stage ${name}`, binary, entrypoint.slice(1));
}

if (problems.length > 0) {
  for (const p of problems) console.error(`deploy: ${p}`);
  console.error(`deploy: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`deploy: ${objects.length} Kubernetes objects in ${files.length} ` +
            `files valid; Dockerfile clean; flags known to both binaries`);
