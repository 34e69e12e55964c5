// Renders every kustomization under deploy/ with `kubectl kustomize`, parses every object,
// validates it against the Kubernetes API schemas (kubernetes-models and, for Prometheus
// Operator objects, @kubernetes-models/prometheus-operator) and checks that names, labels,
// ports, socket paths and the driver configuration agree across objects.
//
// Objects of CRDs without published validators (VolumeSnapshotClass, CDI StorageProfile,
// KubeVirt VirtualMachine and VirtualMachineInstanceMigration) get hand-written structural
// checks instead (structural.mjs).
//
// Usage: node validate.mjs [--polycsi BINARY --plugin-dir DIR]
//   With --polycsi, every overlay's config.yaml whose plugins are built in DIR is also checked
//   by `polycsi validate-config`.
// Exit code 0 when everything holds; 1 with one line per problem otherwise; 77 (skip) when
// kubectl is not installed.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from "yaml";

import { validateStructurally } from "./structural.mjs";
import { checkCapacityTracking, checkConsistency, checkHealthMonitor, checkNodeHostSoftware,
         checkSpanningClass } from "./consistency.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const deployDir = path.resolve(here, "..");

function option(name) {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

function hasKubectl() {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore", timeout: 30000 });
    return true;
  } catch {
    return false;
  }
}

// Every directory with a kustomization.yaml: base, overlays/*, monitoring, examples.
function kustomizations() {
  const found = [];
  const walk = (dir) => {
    if (existsSync(path.join(dir, "kustomization.yaml"))) found.push(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory() && entry.name !== "node_modules" && entry.name !== "tests")
        walk(path.join(dir, entry.name));
  };
  walk(deployDir);
  return found.sort();
}

function render(dir) {
  return execFileSync("kubectl", ["kustomize", dir], {
    encoding: "utf8",
    timeout: 60000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function parseObjects(text, where, problems) {
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) {
      problems.push(`${where}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    if (typeof object !== "object" || !object.apiVersion || !object.kind) {
      problems.push(`${where}: a document without apiVersion/kind`);
      continue;
    }
    objects.push(object);
  }
  return objects;
}

// The kubernetes-models module of an object's type, or undefined for CRDs it does not cover.
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com")
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  const builtIn = ["", "apps", "rbac.authorization.k8s.io", "storage.k8s.io", "policy", "batch"];
  if (builtIn.includes(group))
    return `kubernetes-models/${group ? group + "/" : ""}${version}/${kind}`;
  return undefined;
}

// The API server decodes Secret data with Go's base64, which skips line breaks; kustomize
// wraps long values. The schema's "byte" format does not allow them, so they go first.
function asTheApiServerReadsIt(object) {
  if (object.kind !== "Secret" || !object.data) return object;
  const data = Object.fromEntries(
    Object.entries(object.data).map(([k, v]) => [k, String(v).replace(/[\r\n]/g, "")]));
  return { ...object, data };
}

async function validateSchema(object, where) {
  object = asTheApiServerReadsIt(object);
  const modulePath = modelModule(object.apiVersion, object.kind);
  if (modulePath === undefined) return validateStructurally(object, where);
  let Model;
  try {
    Model = (await import(modulePath))[object.kind];
  } catch {
    return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [`${where}: ${error.message}`];
  }
}

// A broken object must be refused, or the schema validation is not wired up at all.
async function selfTest() {
  const broken = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "broken" },
    spec: {
      selector: {},
      template: { spec: { containers: [{ name: "c", ports: [{ containerPort: "x" }] }] } },
    },
  };
  const problems = await validateSchema(broken, "self-test");
  if (problems.length === 0) throw new Error("self-test: an invalid Deployment passed validation");
  const brokenProfile = { apiVersion: "cdi.kubevirt.io/v1beta1", kind: "StorageProfile",
                          metadata: { name: "p" }, spec: { claimPropertySets: [{}] } };
  if (validateStructurally(brokenProfile, "self-test").length === 0)
    throw new Error("self-test: an invalid StorageProfile passed validation");
  // A node that needs /etc/iscsi to exist, and an iscsi_powerstore whose iscsi_host_root is
  // not the node's mount of the host's /, must both be refused.
  const config = "backends:\n  - name: ps\n    plugin: iscsi_powerstore\n" +
                 "    settings:\n      iscsi_host_root: /host\n";
  const secret = { kind: "Secret", metadata: { name: "cfg" },
                   data: { "config.yaml": Buffer.from(config).toString("base64") } };
  const node = { kind: "DaemonSet", metadata: { name: "polycsi-node" }, spec: { template: { spec: {
    containers: [{ name: "polycsi", args: ["--config=/etc/polycsi/config.yaml"],
                   volumeMounts: [{ name: "etc-iscsi", mountPath: "/etc/iscsi" }] }],
    volumes: [{ name: "config", secret: { secretName: "cfg" } },
              { name: "etc-iscsi", hostPath: { path: "/etc/iscsi", type: "Directory" } }] } } } };
  const found = checkNodeHostSoftware(node, [secret], "self-test").join("\n");
  if (!/etc-iscsi \(\/etc\/iscsi\) is type Directory/.test(found) ||
      !/iscsi_host_root \/host is not where the node mounts hostPath \//.test(found))
    throw new Error(`self-test: the node host software checks did not refuse a broken node: ${found}`);

  // A class spanning backends of two plugins, one unknown, with a topology term that reaches
  // none of them; a provisioner without capacity tracking.
  const spanning = { kind: "StorageClass", metadata: { name: "spread" },
                     parameters: { backends: "a, b,c" },
                     allowedTopologies: [{ matchLabelExpressions: [{ key: "rack", values: ["r9"] }] }] };
  const twoPlugins = { backends: [{ name: "a", plugin: "rds_nvme", topology: { rack: "r1" } },
                                  { name: "b", plugin: "sample", topology: { rack: "r2" } }] };
  const spanned = checkSpanningClass(spanning, twoPlugins).join("\n");
  for (const expected of [/backends names c, which is not in the config/, /backends of different plugins/,
                          /no allowedTopologies term reaches backend a's segment/,
                          /allowedTopologies\[0\] reaches none of its backends/])
    if (!expected.test(spanned))
      throw new Error(`self-test: the spanning class check missed ${expected}: ${spanned}`);
  const tracking = checkCapacityTracking({ args: ["--csi-address=/csi/csi.sock"], env: [] }, "self-test");
  if (tracking.length !== 5)
    throw new Error(`self-test: the capacity tracking check missed a problem: ${tracking.join("\n")}`);

  // A health monitor with the node watcher on, the sidecar's default 15s timeout and no leader
  // election is refused on each count.
  const monitor = checkHealthMonitor({
    name: "csi-external-health-monitor-controller",
    image: "registry.k8s.io/sig-storage/csi-external-health-monitor-controller:v0.18.0",
    args: ["--csi-address=/csi/csi.sock", "--enable-node-watcher=true"] }, "self-test").join("\n");
  if (!/not leader-elected/.test(monitor) || !/--enable-node-watcher=false/.test(monitor) ||
      !/--timeout \(default 15s\) is under 30s/.test(monitor))
    throw new Error(`self-test: the health monitor check did not refuse a broken sidecar: ${monitor}`);
}

// The overlays hold placeholders for what only the operator has: the RDS user's private key and
// the RDS host key's fingerprint. validate-config runs every check serve runs, the plugin's own
// included, so it refuses a placeholder as serve would. The check therefore validates a private
// copy with the placeholders replaced by a key made here and its fingerprint: everything else
// in the overlay is checked as shipped.
function withPlaceholdersFilled(configPath, workDir) {
  const text = readFileSync(configPath, "utf8");
  if (!text.includes("REPLACE")) return configPath;
  const key = path.join(workDir, "id_ed25519");
  if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", `${key}.pub`], { encoding: "utf8" })
    .split(" ")[1];
  const config = parseYaml(text);
  for (const backend of config.backends ?? []) {
    const settings = backend.settings ?? {};
    if (String(settings.private_key ?? "").includes("REPLACE"))
      settings.private_key = readFileSync(key, "utf8");
    if (String(settings.host_key_fingerprint ?? "").includes("REPLACE"))
      settings.host_key_fingerprint = fingerprint;
  }
  const filled = path.join(workDir, `${path.basename(path.dirname(configPath))}.yaml`);
  writeFileSync(filled, stringifyYaml(config));
  return filled;
}

function validateConfigs(polycsi, pluginDir, problems, notes) {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "polycsi-deploy-configs-"));
  try {
    validateEachConfig(polycsi, pluginDir, problems, notes, workDir);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function validateEachConfig(polycsi, pluginDir, problems, notes, workDir) {
  for (const dir of readdirSync(path.join(deployDir, "overlays")).sort()) {
    const configPath = path.join(deployDir, "overlays", dir, "config.yaml");
    if (!existsSync(configPath)) continue;
    const config = parseYaml(execFileSync("cat", [configPath], { encoding: "utf8" }));
    const missing = (config.backends ?? [])
      .map((b) => b.plugin)
      .filter((plugin) => !existsSync(path.join(pluginDir, `polycsi_${plugin}.so`)));
    if (missing.length) {
      notes.push(`overlays/${dir}/config.yaml: not checked by polycsi validate-config: ` +
                 `plugin(s) ${missing.join(", ")} not built in ${pluginDir}`);
      continue;
    }
    try {
      execFileSync(polycsi, ["validate-config", withPlaceholdersFilled(configPath, workDir),
                             "--plugin-dir", pluginDir],
                   { encoding: "utf8", timeout: 60000, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      problems.push(`overlays/${dir}/config.yaml: polycsi validate-config: ` +
                    `${(error.stdout ?? "") + (error.stderr ?? "")}`.trim());
    }
  }
}

async function main() {
  if (!hasKubectl()) {
    console.log("SKIP: kubectl is not installed; the deploy tests render with `kubectl kustomize`");
    process.exit(77);
  }
  await selfTest();
  const problems = [];
  const notes = [];
  const rendered = {};
  for (const dir of kustomizations()) {
    const name = path.relative(deployDir, dir);
    let text;
    try {
      text = render(dir);
    } catch (error) {
      problems.push(`${name}: kubectl kustomize failed: ${error.stderr ?? error.message}`);
      continue;
    }
    const objects = parseObjects(text, name, problems);
    if (objects.length === 0) problems.push(`${name}: renders no objects`);
    for (const object of objects)
      problems.push(...(await validateSchema(object, `${name}: ${object.kind}/${object.metadata?.name}`)));
    // An overlay's example VolumeAttributesClass is applied on its own (the kind needs
    // Kubernetes 1.31+), but checked as if applied with the overlay.
    const classes = path.join(dir, "volumeattributesclass.yaml");
    if (existsSync(classes)) {
      const extra = parseObjects(readFileSync(classes, "utf8"), `${name}/volumeattributesclass.yaml`, problems);
      for (const object of extra)
        problems.push(...(await validateSchema(object, `${name}: ${object.kind}/${object.metadata?.name}`)));
      objects.push(...extra);
    }
    rendered[name] = objects;
    console.log(`rendered ${name}: ${objects.length} objects`);
  }
  problems.push(...checkConsistency(rendered, deployDir));
  const polycsi = option("--polycsi");
  if (polycsi) validateConfigs(polycsi, option("--plugin-dir") ?? "", problems, notes);
  for (const note of notes) console.log(`note: ${note}`);
  if (problems.length) {
    for (const problem of new Set(problems)) console.error(`FAIL ${problem}`);
    process.exit(1);
  }
  console.log(`OK: ${Object.keys(rendered).length} kustomizations valid and consistent`);
}

main().catch((error) => {
  console.error(`FAIL ${error.stack ?? error}`);
  process.exit(1);
});
