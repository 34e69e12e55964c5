// Cross-object checks of the rendered deploy/ kustomizations: what one object names, another
// must provide. checkConsistency(rendered, deployDir) returns one message per problem.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";

const SOCKET_DIR = "/csi";
const SOCKET = `${SOCKET_DIR}/csi.sock`;
// Metric families polycsi exports (core/observe/metrics.hpp); plugins add <prefix>_... ones.
const KNOWN_METRICS = [
  "polycsi_operations_total", "polycsi_operation_duration_seconds", "polycsi_attachments",
  "rds_csi_migration_active_migrations", "rds_csi_migration_migrations_total",
  "rds_csi_migration_migration_duration_seconds",
];
// The API access the polycsi controller needs itself (core/kube): verbs per resource.
const CONTROLLER_NEEDS = [
  ["storage.k8s.io", "csinodes", "get"],
  ["storage.k8s.io", "volumeattachments", "list"],
  ["", "persistentvolumes", "get"],
  ["", "events", "create"],
  ["storage.k8s.io", "volumeattachments", "patch"],
  ["coordination.k8s.io", "leases", "update"],
  // --leader-election: polycsi reads its attacher's lease (core/kube/controller_leadership).
  ["coordination.k8s.io", "leases", "get"],
  // polycsi reads the class a PV names for its migrationTimeoutSeconds (ControllerPublish).
  ["storage.k8s.io", "volumeattributesclasses", "get"],
  // csi-provisioner --enable-capacity: its CSIStorageCapacity objects, and the walk from its pod
  // to the owning Deployment (external-provisioner v5.1.0 deploy/kubernetes/rbac.yaml).
  ["storage.k8s.io", "csistoragecapacities", "create"],
  ["storage.k8s.io", "csistoragecapacities", "delete"],
  ["storage.k8s.io", "csistoragecapacities", "watch"],
  ["", "pods", "get"],
  ["apps", "replicasets", "get"],
];

// The parameters each plugin lets a VolumeAttributesClass change on a live volume (its
// descriptor's mutable parameters, plus the core's migrationTimeoutSeconds for plugins with a
// migration_window pair): docs/configuration.md, "Mutable parameters".
const MUTABLE_PARAMETERS = {
  rds_nvme: ["migrationTimeoutSeconds"],
  iscsi_powerstore: ["performancePolicy", "protectionPolicyID"],
  sample: ["migrationTimeoutSeconds", "tier"],
  nfs: [],
};

const byKind = (objects, kind) => objects.filter((o) => o.kind === kind);
const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);

function argValue(args, flag) {
  for (const arg of args ?? []) if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  return undefined;
}

function portOf(address) {
  const match = /:(\d+)$/.exec(address ?? "");
  return match ? Number(match[1]) : undefined;
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

function checkWorkload(workload, objects, where, problems, driverName) {
  const pod = workload.spec.template.spec;
  const labels = workload.spec.template.metadata?.labels;
  if (!matches(workload.spec.selector?.matchLabels, labels))
    problems.push(`${where}: selector does not match the pod template's labels`);
  if (!find(objects, "ServiceAccount", pod.serviceAccountName))
    problems.push(`${where}: serviceAccountName ${pod.serviceAccountName} does not exist`);
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const container of pod.containers) {
    const at = `${where} container ${container.name}`;
    const ports = new Map();
    for (const c of pod.containers) for (const p of c.ports ?? []) ports.set(p.name, p.containerPort);
    for (const mount of container.volumeMounts ?? [])
      if (!volumes.has(mount.name)) problems.push(`${at}: volumeMount ${mount.name} has no volume`);
    const mountsSocketDir = (container.volumeMounts ?? []).some(
      (m) => m.mountPath === SOCKET_DIR && m.name === "socket-dir");
    const csiAddress = argValue(container.args, "--csi-address");
    if (csiAddress !== undefined) {
      if (csiAddress !== SOCKET) problems.push(`${at}: --csi-address ${csiAddress}, want ${SOCKET}`);
      if (!mountsSocketDir) problems.push(`${at}: does not mount socket-dir at ${SOCKET_DIR}`);
    }
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      const port = probe?.httpGet?.port;
      if (typeof port === "string" && !ports.has(port))
        problems.push(`${at}: probe port ${port} is no container port of the pod`);
    }
    const httpEndpoint = argValue(container.args, "--http-endpoint");
    if (httpEndpoint !== undefined && ![...ports.values()].includes(portOf(httpEndpoint)))
      problems.push(`${at}: --http-endpoint ${httpEndpoint} is not a declared container port`);
    if (container.name === "polycsi") {
      const args = container.args ?? [];
      if (args.indexOf("serve") < 0) problems.push(`${at}: does not run 'polycsi serve'`);
      if (argValue(args, "--endpoint") !== `unix://${SOCKET}`)
        problems.push(`${at}: --endpoint must be unix://${SOCKET}`);
      if (!mountsSocketDir) problems.push(`${at}: does not mount socket-dir at ${SOCKET_DIR}`);
      if (argValue(args, "--node-id") !== "$(NODE_NAME)" ||
          !(container.env ?? []).some((e) => e.name === "NODE_NAME" &&
                                           e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName"))
        problems.push(`${at}: --node-id must be $(NODE_NAME) from spec.nodeName`);
      const metricsPort = portOf(argValue(args, "--metrics-address"));
      if (metricsPort === undefined || ports.get("metrics") !== metricsPort)
        problems.push(`${at}: --metrics-address port ${metricsPort} is not the 'metrics' port`);
      const configPath = argValue(args, "--config");
      const configMount = (container.volumeMounts ?? []).find(
        (m) => m.name === "config" && configPath?.startsWith(`${m.mountPath}/`));
      if (!configMount) problems.push(`${at}: --config ${configPath} is not in the config mount`);
      const secretName = volumes.get("config")?.secret?.secretName;
      const secret = find(objects, "Secret", secretName);
      if (!secret) {
        problems.push(`${at}: config Secret ${secretName} does not exist`);
      } else {
        problems.push(...checkConfig(secret, configPath, container, driverName, objects, at));
      }
    }
  }
  return volumes;
}

function checkConfig(secret, configPath, container, driverName, objects, at) {
  const problems = [];
  const key = path.basename(configPath ?? "");
  const encoded = secret.data?.[key];
  if (encoded === undefined) return [`${at}: Secret ${secret.metadata.name} has no key ${key}`];
  const config = parseYaml(Buffer.from(encoded, "base64").toString("utf8"));
  if ((config.driver_name ?? "polycsi.csi.io") !== driverName)
    problems.push(`${at}: config driver_name ${config.driver_name} is not the CSIDriver ${driverName}`);
  const statePath = config.state_path;
  if (!(container.volumeMounts ?? []).some((m) => m.mountPath === statePath))
    problems.push(`${at}: state_path ${statePath} is not a mounted volume`);
  const backends = new Set((config.backends ?? []).map((b) => b.name));
  for (const sc of byKind(objects, "StorageClass")) {
    const backend = sc.parameters?.backend;
    if (backend !== undefined && !backends.has(backend))
      problems.push(`StorageClass ${sc.metadata.name}: backend ${backend} is not in the config ` +
                    `(${[...backends].join(", ")})`);
    problems.push(...checkSpanningClass(sc, config));
  }
  return problems;
}

// True when a backend's `topology` segments all appear in one allowedTopologies term.
function termReaches(term, topology) {
  return Object.entries(topology ?? {}).every(([key, value]) =>
    (term.matchLabelExpressions ?? []).some((e) => e.key === key && (e.values ?? []).includes(value)));
}

// A StorageClass with `backends` (docs/topology.md): every name in the config, one plugin, not
// together with `backend`, and its allowedTopologies reach each backend, each term some backend.
export function checkSpanningClass(sc, config) {
  const listed = sc.parameters?.backends;
  if (listed === undefined) return [];
  const at = `StorageClass ${sc.metadata.name}`;
  const problems = [];
  if (sc.parameters.backend !== undefined) problems.push(`${at}: both backend and backends`);
  const names = listed.split(",").map((n) => n.trim());
  const configured = new Map((config.backends ?? []).map((b) => [b.name, b]));
  const found = names.map((n) => configured.get(n));
  names.forEach((n, i) => { if (!found[i]) problems.push(`${at}: backends names ${n}, which is not in the config`); });
  const present = found.filter(Boolean);
  if (names.length < 2) problems.push(`${at}: backends lists ${names.length} backend; use backend for one`);
  if (new Set(present.map((b) => b.plugin)).size > 1) problems.push(`${at}: backends of different plugins`);
  const terms = sc.allowedTopologies ?? [];
  if (terms.length === 0) return problems;
  for (const b of present) {
    if (!b.topology) problems.push(`${at}: allowedTopologies, but backend ${b.name} declares no topology`);
    else if (!terms.some((t) => termReaches(t, b.topology)))
      problems.push(`${at}: no allowedTopologies term reaches backend ${b.name}'s segment`);
  }
  for (const [i, t] of terms.entries())
    if (!present.some((b) => b.topology && termReaches(t, b.topology)))
      problems.push(`${at}: allowedTopologies[${i}] reaches none of its backends`);
  return problems;
}

function ruleAllows(rules, group, resource, verb) {
  return rules.some((r) => (r.apiGroups ?? []).includes(group) &&
                           (r.resources ?? []).includes(resource) &&
                           ((r.verbs ?? []).includes(verb) || (r.verbs ?? []).includes("*")));
}

function checkRbac(objects, name, problems) {
  for (const binding of [...byKind(objects, "ClusterRoleBinding"), ...byKind(objects, "RoleBinding")]) {
    const roleKind = binding.roleRef.kind;
    if (!find(objects, roleKind, binding.roleRef.name))
      problems.push(`${name}: ${binding.kind} ${binding.metadata.name}: ${roleKind} ${binding.roleRef.name} does not exist`);
    for (const subject of binding.subjects ?? []) {
      const account = find(objects, "ServiceAccount", subject.name);
      if (subject.kind === "ServiceAccount" &&
          (!account || (account.metadata.namespace ?? "") !== (subject.namespace ?? binding.metadata.namespace ?? "")))
        problems.push(`${name}: ${binding.kind} ${binding.metadata.name}: ServiceAccount ` +
                      `${subject.namespace}/${subject.name} does not exist`);
    }
  }
  const rulesOf = (account) => {
    const rules = [];
    for (const binding of [...byKind(objects, "ClusterRoleBinding"), ...byKind(objects, "RoleBinding")])
      if ((binding.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === account))
        rules.push(...(find(objects, binding.roleRef.kind, binding.roleRef.name)?.rules ?? []));
    return rules;
  };
  const controllerRules = rulesOf("polycsi-controller");
  for (const [group, resource, verb] of CONTROLLER_NEEDS)
    if (!ruleAllows(controllerRules, group, resource, verb))
      problems.push(`${name}: polycsi-controller may not ${verb} ${resource}.${group || "core"}`);
  // Least privilege: nobody gets secrets or wildcards.
  for (const role of [...byKind(objects, "ClusterRole"), ...byKind(objects, "Role")])
    for (const rule of role.rules ?? []) {
      if ((rule.resources ?? []).includes("secrets"))
        problems.push(`${name}: ${role.kind} ${role.metadata.name} grants access to secrets`);
      if ((rule.verbs ?? []).includes("*") || (rule.resources ?? []).includes("*"))
        problems.push(`${name}: ${role.kind} ${role.metadata.name} uses a wildcard`);
    }
  if (ruleAllows(rulesOf("polycsi-node"), "", "persistentvolumes", "get"))
    problems.push(`${name}: the node plugin does not need persistentvolumes`);
}

// csi-snapshotter tags that serve VolumeGroupSnapshot as groupsnapshot.storage.k8s.io/v1 (its
// informers read v1 from v8.6.0 on: cmd/csi-snapshotter/main.go; v8.1.0 read v1alpha1, v8.2.0
// to v8.5.0 v1beta1/v1beta2).
const GROUP_SNAPSHOT_V1_SNAPSHOTTERS = ["v8.6.0"];
// What the csi-snapshotter does with group snapshots (external-snapshotter v8.6.0
// deploy/kubernetes/csi-snapshotter/rbac-csi-snapshotter.yaml).
const GROUP_SNAPSHOT_NEEDS = [
  ["groupsnapshot.storage.k8s.io", "volumegroupsnapshotclasses", "get"],
  ["groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents", "update"],
  ["groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents", "patch"],
  ["groupsnapshot.storage.k8s.io", "volumegroupsnapshotcontents/status", "update"],
];

// An overlay that offers a VolumeGroupSnapshotClass runs a csi-snapshotter that serves it: a tag
// that reads groupsnapshot.storage.k8s.io/v1, the feature gate that turns the group side on,
// and the RBAC that side needs. Every class names the driver.
function checkGroupSnapshots(objects, name, problems, driverName, snapshotter) {
  const classes = byKind(objects, "VolumeGroupSnapshotClass");
  for (const vgsc of classes)
    if (vgsc.driver !== driverName)
      problems.push(`${name}: VolumeGroupSnapshotClass ${vgsc.metadata.name} driver ${vgsc.driver} is not ${driverName}`);
  if (classes.length === 0) return;
  const tag = (snapshotter?.image ?? "").split(":").pop();
  if (!GROUP_SNAPSHOT_V1_SNAPSHOTTERS.includes(tag))
    problems.push(`${name}: a VolumeGroupSnapshotClass needs a csi-snapshotter serving groupsnapshot.storage.k8s.io/v1 ` +
                  `(${GROUP_SNAPSHOT_V1_SNAPSHOTTERS.join(", ")}), not ${tag}`);
  if (!(snapshotter?.args ?? []).includes("--feature-gates=CSIVolumeGroupSnapshot=true"))
    problems.push(`${name}: a VolumeGroupSnapshotClass needs csi-snapshotter --feature-gates=CSIVolumeGroupSnapshot=true`);
  const rules = [];
  for (const binding of [...byKind(objects, "ClusterRoleBinding"), ...byKind(objects, "RoleBinding")])
    if ((binding.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === "polycsi-controller"))
      rules.push(...(find(objects, binding.roleRef.kind, binding.roleRef.name)?.rules ?? []));
  for (const [group, resource, verb] of GROUP_SNAPSHOT_NEEDS)
    if (!ruleAllows(rules, group, resource, verb))
      problems.push(`${name}: polycsi-controller (csi-snapshotter) may not ${verb} ${resource}.${group}`);
}

function hostPaths(workload) {
  return new Map((workload.spec.template.spec.volumes ?? [])
    .filter((v) => v.hostPath).map((v) => [v.hostPath.path, v.name]));
}

// Host paths that only a node with some storage software has (open-iscsi, nvme-cli,
// multipath-tools): a hostPath of `type: Directory` or `File` on one of them keeps the node pod
// from starting on every node without that software, and with it every other backend.
const OPTIONAL_HOST_SOFTWARE = ["/etc/iscsi", "/var/lib/iscsi", "/run/lock/iscsi", "/etc/nvme",
                                "/etc/multipath", "/etc/multipath.conf", "/sbin/iscsiadm",
                                "/usr/sbin/iscsiadm"];
const isUnder = (p, dir) => p === dir || p.startsWith(`${dir}/`);

function checkOptionalHostPaths(node, name, problems) {
  for (const v of node.spec.template.spec.volumes ?? []) {
    const hostPath = v.hostPath?.path?.replace(/\/+$/, "");
    if (!hostPath || !OPTIONAL_HOST_SOFTWARE.some((dir) => isUnder(hostPath, dir))) continue;
    if (["Directory", "File"].includes(v.hostPath.type))
      problems.push(`${name}: node hostPath ${v.name} (${hostPath}) is type ${v.hostPath.type}: ` +
                    "a node without that software could not start the node pod");
  }
}

// The node's config (the Secret its --config names), or undefined.
function nodeConfig(node, objects) {
  const spec = node.spec.template.spec;
  const polycsi = spec.containers.find((c) => c.name === "polycsi");
  const configPath = argValue(polycsi?.args, "--config");
  const secretName = spec.volumes.find((v) => v.name === "config")?.secret?.secretName;
  const encoded = find(objects, "Secret", secretName)?.data?.[path.basename(configPath ?? "")];
  return encoded === undefined ? undefined : parseYaml(Buffer.from(encoded, "base64").toString("utf8"));
}

// iscsi_powerstore runs the host's iscsiadm chrooted into iscsi_host_root: in the node pod
// that must be where a hostPath of the host's / is mounted (the default "/" is the image's root,
// which has no iscsiadm).
function checkIscsiHostRoot(node, objects, name, problems) {
  const config = nodeConfig(node, objects);
  const spec = node.spec.template.spec;
  const polycsi = spec.containers.find((c) => c.name === "polycsi");
  const hostRootVolumes = new Set((spec.volumes ?? [])
    .filter((v) => v.hostPath && v.hostPath.path === "/").map((v) => v.name));
  const hostRootMounts = (polycsi?.volumeMounts ?? []).filter((m) => hostRootVolumes.has(m.name));
  for (const backend of config?.backends ?? []) {
    if (backend.plugin !== "iscsi_powerstore") continue;
    const root = backend.settings?.iscsi_host_root;
    const at = `${name}: backend ${backend.name}`;
    if (root === undefined || root === "/") {
      problems.push(`${at}: set iscsi_host_root to the node pod's mount of the host's /`);
      continue;
    }
    const mount = hostRootMounts.find((m) => m.mountPath.replace(/\/+$/, "") === String(root).replace(/\/+$/, ""));
    if (!mount) {
      problems.push(`${at}: iscsi_host_root ${root} is not where the node mounts hostPath /`);
    } else if (mount.readOnly || mount.subPath) {
      problems.push(`${at}: the host root mount ${root} must be writable and whole ` +
                    "(iscsiadm writes the host's /etc/iscsi and /run/lock/iscsi)");
    }
  }
}

// Both checks above for one node DaemonSet (exported for validate.mjs's self-test).
export function checkNodeHostSoftware(node, objects, name) {
  const problems = [];
  checkOptionalHostPaths(node, name, problems);
  checkIscsiHostRoot(node, objects, name, problems);
  return problems;
}

// The external-health-monitor-controller (docs/volume-health.md): it talks to polycsi's
// controller socket, one replica at a time, with room for a ListVolumes page that asks every
// backend once, and with the node watcher off as documented (flags of
// kubernetes-csi/external-health-monitor v0.18.0 cmd/csi-external-health-monitor-controller/main.go).
// Exported for validate.mjs's self-test.
export function checkHealthMonitor(container, name) {
  const problems = [];
  const at = `${name}: csi-external-health-monitor-controller`;
  if (!container) return [`${name}: controller lacks csi-external-health-monitor-controller`];
  const args = container.args ?? [];
  if (argValue(args, "--csi-address") !== "/csi/csi.sock")
    problems.push(`${at}: --csi-address must be /csi/csi.sock (polycsi's controller socket)`);
  if (!args.includes("--leader-election")) problems.push(`${at}: is not leader-elected`);
  if (argValue(args, "--enable-node-watcher") !== "false")
    problems.push(`${at}: set --enable-node-watcher=false (docs/volume-health.md says why)`);
  const timeout = argValue(args, "--timeout");
  const seconds = /^(\d+)s$/.exec(timeout ?? "")?.[1];
  if (seconds === undefined || Number(seconds) < 30)
    problems.push(`${at}: --timeout ${timeout ?? "(default 15s)"} is under 30s; a ListVolumes page asks every backend`);
  if (!(container.image ?? "").endsWith(":v0.18.0"))
    problems.push(`${at}: image ${container.image} is not the v0.18.0 whose flags were checked`);
  return problems;
}

function checkInstall(objects, name, problems) {
  const drivers = byKind(objects, "CSIDriver");
  if (drivers.length !== 1) return problems.push(`${name}: want one CSIDriver, have ${drivers.length}`);
  const driver = drivers[0];
  const driverName = driver.metadata.name;
  if (driver.spec.attachRequired !== true) problems.push(`${name}: CSIDriver attachRequired must be true`);
  if (driver.spec.podInfoOnMount !== false) problems.push(`${name}: CSIDriver podInfoOnMount must be false`);
  if (driver.spec.fsGroupPolicy !== "File") problems.push(`${name}: CSIDriver fsGroupPolicy must be File`);
  if (driver.spec.storageCapacity !== true) problems.push(`${name}: CSIDriver storageCapacity must be true`);

  const controller = find(objects, "Deployment", "polycsi-controller");
  const node = find(objects, "DaemonSet", "polycsi-node");
  if (!controller || !node) return problems.push(`${name}: controller Deployment or node DaemonSet missing`);
  checkWorkload(controller, objects, `${name}: Deployment polycsi-controller`, problems, driverName);
  checkWorkload(node, objects, `${name}: DaemonSet polycsi-node`, problems, driverName);

  const sidecars = new Map(controller.spec.template.spec.containers.map((c) => [c.name, c]));
  for (const sidecar of ["csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter"]) {
    const container = sidecars.get(sidecar);
    // An overlay whose backends cannot expand leaves the resizer out (it would exit at start-up:
    // sidecar_startup_test); then none of its classes may promise expansion.
    if (!container && sidecar === "csi-resizer") {
      for (const sc of byKind(objects, "StorageClass"))
        if (sc.allowVolumeExpansion === true)
          problems.push(`${name}: StorageClass ${sc.metadata.name} allows expansion, but no csi-resizer runs`);
      continue;
    }
    if (!container) { problems.push(`${name}: controller lacks ${sidecar}`); continue; }
    if (!container.args.includes("--leader-election"))
      problems.push(`${name}: ${sidecar} is not leader-elected`);
  }
  // Several replicas are safe only when polycsi follows its attacher's lease.
  const polycsiArgs = sidecars.get("polycsi")?.args ?? [];
  if ((controller.spec.replicas ?? 1) > 1) {
    if (!polycsiArgs.includes("--leader-election"))
      problems.push(`${name}: ${controller.spec.replicas} controller replicas, but polycsi lacks --leader-election`);
    const attacherNamespace = argValue(sidecars.get("csi-attacher")?.args, "--leader-election-namespace");
    if (argValue(polycsiArgs, "--leader-election-namespace") !== attacherNamespace)
      problems.push(`${name}: polycsi and csi-attacher read their lease in different namespaces`);
  }
  const provisioner = sidecars.get("csi-provisioner");
  if (!provisioner?.args.includes("--extra-create-metadata"))
    problems.push(`${name}: csi-provisioner lacks --extra-create-metadata`);
  problems.push(...checkCapacityTracking(provisioner, name));
  if (!sidecars.has("liveness-probe")) problems.push(`${name}: controller lacks the livenessprobe`);
  problems.push(...checkHealthMonitor(sidecars.get("csi-external-health-monitor-controller"), name));

  const nodeSpec = node.spec.template.spec;
  const registrar = nodeSpec.containers.find((c) => c.name === "node-driver-registrar");
  const registration = argValue(registrar?.args, "--kubelet-registration-path");
  const socketHostDir = nodeSpec.volumes.find((v) => v.name === "socket-dir")?.hostPath?.path;
  if (registration !== `/var/lib/kubelet/plugins/${driverName}/csi.sock`)
    problems.push(`${name}: registrar path ${registration} does not name driver ${driverName}`);
  if (registration !== `${socketHostDir}/csi.sock`)
    problems.push(`${name}: registrar path ${registration} is not the socket-dir host path ${socketHostDir}`);
  const polycsi = nodeSpec.containers.find((c) => c.name === "polycsi");
  const kubeletMount = polycsi.volumeMounts.find((m) => m.mountPath === "/var/lib/kubelet");
  if (kubeletMount?.mountPropagation !== "Bidirectional")
    problems.push(`${name}: node polycsi must mount /var/lib/kubelet with Bidirectional propagation`);
  if (!polycsi.securityContext?.privileged) problems.push(`${name}: node polycsi must be privileged`);
  problems.push(...checkNodeHostSoftware(node, objects, name));
  const paths = hostPaths(node);
  for (const needed of ["/dev", "/sys", "/var/lib/kubelet", "/var/lib/kubelet/plugins_registry"])
    if (!paths.has(needed)) problems.push(`${name}: node lacks host mount ${needed}`);

  for (const sc of byKind(objects, "StorageClass"))
    if (sc.provisioner !== driverName)
      problems.push(`${name}: StorageClass ${sc.metadata.name} provisioner ${sc.provisioner} is not ${driverName}`);
  // A VolumeAttributesClass works only through the sidecars' VolumeAttributesClass gate
  // (external-provisioner v5.1.0 and external-resizer v1.12.0: beta, off by default), and names
  // only parameters the overlay's plugins can change on a live volume.
  const classes = byKind(objects, "VolumeAttributesClass");
  const plugins = (nodeConfig(node, objects)?.backends ?? []).map((b) => b.plugin);
  for (const vac of classes) {
    if (vac.driverName !== driverName)
      problems.push(`${name}: VolumeAttributesClass ${vac.metadata.name} driverName ${vac.driverName} is not ${driverName}`);
    for (const sidecar of ["csi-provisioner", "csi-resizer"])
      if (!(sidecars.get(sidecar)?.args ?? []).includes("--feature-gates=VolumeAttributesClass=true"))
        problems.push(`${name}: VolumeAttributesClass ${vac.metadata.name} needs ${sidecar} with --feature-gates=VolumeAttributesClass=true`);
    for (const [key, value] of Object.entries(vac.parameters ?? {})) {
      if (!plugins.some((p) => (MUTABLE_PARAMETERS[p] ?? []).includes(key)))
        problems.push(`${name}: VolumeAttributesClass ${vac.metadata.name}: ${key} is mutable for none of the plugins ${plugins.join(", ")}`);
      if (key === "migrationTimeoutSeconds" && !(Number(value) >= 30 && Number(value) <= 3600))
        problems.push(`${name}: VolumeAttributesClass ${vac.metadata.name}: migrationTimeoutSeconds must be 30-3600`);
    }
  }
  if (classes.length === 0 && plugins.some((p) => (MUTABLE_PARAMETERS[p] ?? []).length > 0))
    problems.push(`${name}: no example VolumeAttributesClass although ${plugins.join(", ")} has mutable parameters`);
  for (const vsc of byKind(objects, "VolumeSnapshotClass"))
    if (vsc.driver !== driverName)
      problems.push(`${name}: VolumeSnapshotClass ${vsc.metadata.name} driver ${vsc.driver} is not ${driverName}`);
  checkGroupSnapshots(objects, name, problems, driverName, sidecars.get("csi-snapshotter"));

  for (const service of byKind(objects, "Service")) {
    const pods = [controller, node].filter((w) => matches(service.spec.selector, w.spec.template.metadata.labels));
    if (pods.length !== 1) problems.push(`${name}: Service ${service.metadata.name} selects ${pods.length} workloads`);
    for (const port of service.spec.ports)
      for (const w of pods)
        if (!w.spec.template.spec.containers.some((c) => (c.ports ?? []).some((p) => p.name === port.targetPort)))
          problems.push(`${name}: Service ${service.metadata.name} targetPort ${port.targetPort} is no port of ${w.metadata.name}`);
  }
  checkRbac(objects, name, problems);
  return { driverName, services: byKind(objects, "Service"), node };
}

// csi-provisioner publishes CSIStorageCapacity (external-provisioner v5.1.0 README, "Capacity
// support"): --enable-capacity, NAMESPACE and POD_NAME from the downward API, and the owner two
// levels above the pod (pod -> ReplicaSet -> Deployment); --strict-topology (docs/topology.md).
export function checkCapacityTracking(provisioner, name) {
  const problems = [];
  const args = provisioner?.args ?? [];
  if (!args.includes("--enable-capacity")) problems.push(`${name}: csi-provisioner lacks --enable-capacity`);
  if (argValue(args, "--capacity-ownerref-level") !== "2")
    problems.push(`${name}: csi-provisioner of a Deployment needs --capacity-ownerref-level=2`);
  if (!args.includes("--strict-topology")) problems.push(`${name}: csi-provisioner lacks --strict-topology`);
  for (const [env, field] of [["NAMESPACE", "metadata.namespace"], ["POD_NAME", "metadata.name"]])
    if ((provisioner?.env ?? []).find((e) => e.name === env)?.valueFrom?.fieldRef?.fieldPath !== field)
      problems.push(`${name}: csi-provisioner lacks env ${env} from ${field}`);
  return problems;
}

// What each plugin's overlay must add on top of the base.
function checkOverlayExtras(name, install, objects, problems) {
  const paths = hostPaths(install.node);
  const classes = byKind(objects, "StorageClass");
  const only = (cls) => classes.length === 1 ? classes[0] : problems.push(`${name}: want one StorageClass`);
  if (name === "overlays/rds-nvme") {
    if (!paths.has("/etc/nvme")) problems.push(`${name}: node lacks host mount /etc/nvme`);
    // The single-box class and the class spanning both boxes (storageclass-spread.yaml).
    const spread = classes.filter((c) => c.parameters?.backends !== undefined);
    if (classes.length !== 2 || spread.length !== 1 || !spread[0].allowedTopologies)
      problems.push(`${name}: want the rds-nvme class and one class spanning backends with allowedTopologies`);
    for (const sc of classes) {
      const seconds = Number(sc.parameters?.migrationTimeoutSeconds);
      if (!(seconds >= 30 && seconds <= 3600))
        problems.push(`${name}: ${sc.metadata.name}: migrationTimeoutSeconds must be 30-3600`);
    }
  } else if (name === "overlays/powerstore-iscsi") {
    if (!paths.has("/")) problems.push(`${name}: node lacks the host root mount (hostPath /) for iscsiadm`);
    if (!nodeConfig(install.node, objects)?.backends?.some((b) => b.plugin === "iscsi_powerstore"))
      problems.push(`${name}: the node's config has no iscsi_powerstore backend`);
  } else if (name === "overlays/nfs") {
    if (!(only()?.mountOptions ?? []).includes("nfsvers=4.1")) problems.push(`${name}: StorageClass lacks nfsvers=4.1`);
  }
}

function checkMonitoring(objects, installs, deployDir, problems) {
  const name = "monitoring";
  const services = installs.flatMap((i) => i.services);
  for (const monitor of byKind(objects, "ServiceMonitor")) {
    const selected = services.filter((s) => matches(monitor.spec.selector.matchLabels, s.metadata.labels));
    if (selected.length === 0) problems.push(`${name}: ServiceMonitor ${monitor.metadata.name} selects no Service`);
    for (const endpoint of monitor.spec.endpoints)
      for (const s of selected)
        if (!s.spec.ports.some((p) => p.name === endpoint.port))
          problems.push(`${name}: Service ${s.metadata.name} has no port ${endpoint.port}`);
    if (!(monitor.spec.namespaceSelector?.matchNames ?? []).every((ns) => selected.every((s) => s.metadata.namespace === ns)))
      problems.push(`${name}: ServiceMonitor namespaceSelector does not name the Services' namespace`);
  }
  const metricNames = (expr) => (expr.match(/\b[a-z_]+(?=(_bucket)?[{[(\s]|\s*$)/g) ?? [])
    .filter((word) => /_(total|seconds|migrations|attachments)$/.test(word) || word.endsWith("_bucket"))
    .map((word) => word.replace(/_bucket$/, ""));
  const checkExpr = (expr, where) => {
    for (const metric of metricNames(expr))
      if (!KNOWN_METRICS.includes(metric)) problems.push(`${where}: unknown metric ${metric}`);
  };
  const rules = byKind(objects, "PrometheusRule").flatMap((r) => r.spec.groups.flatMap((g) => g.rules));
  const alerts = rules.map((r) => r.alert);
  for (const wanted of ["PolycsiMigrationTimeoutRateHigh", "PolycsiMigrationStuck"])
    if (!alerts.includes(wanted)) problems.push(`${name}: PrometheusRule lacks alert ${wanted}`);
  for (const rule of rules) checkExpr(rule.expr, `${name}: alert ${rule.alert}`);
  const timeout = rules.find((r) => r.alert === "PolycsiMigrationTimeoutRateHigh");
  if (timeout && !/>\s*0\.1\b/.test(timeout.expr)) problems.push(`${name}: the timeout alert's threshold must be 10%`);
  const dashboards = byKind(objects, "ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1");
  if (dashboards.length !== 1) problems.push(`${name}: want one Grafana dashboard ConfigMap`);
  for (const cm of dashboards)
    for (const [file, text] of Object.entries(cm.data ?? {})) {
      let dashboard;
      try { dashboard = JSON.parse(text); } catch (e) { problems.push(`${name}: ${file}: ${e.message}`); continue; }
      if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) problems.push(`${name}: ${file} has no panels`);
      for (const panel of dashboard.panels ?? [])
        for (const target of panel.targets ?? []) checkExpr(target.expr, `${name}: ${file} panel '${panel.title}'`);
    }
  // The dashboard file on disk is the one in the ConfigMap.
  const onDisk = readFileSync(path.join(deployDir, "monitoring", "polycsi-dashboard.json"), "utf8");
  if (dashboards[0] && Object.values(dashboards[0].data)[0] !== onDisk) problems.push(`${name}: dashboard ConfigMap differs from the file`);
}

function checkExamples(objects, installs, problems) {
  const classes = new Set(installs.flatMap((i) => i.classes));
  for (const profile of byKind(objects, "StorageProfile"))
    if (!classes.has(profile.metadata.name))
      problems.push(`examples: StorageProfile ${profile.metadata.name} names no StorageClass of an overlay`);
  const vms = byKind(objects, "VirtualMachine");
  for (const vm of vms)
    for (const t of vm.spec.dataVolumeTemplates ?? []) {
      const sc = t.spec.storage?.storageClassName;
      if (sc && !classes.has(sc)) problems.push(`examples: VM ${vm.metadata.name} uses unknown StorageClass ${sc}`);
      if (vm.spec.template.spec.evictionStrategy === "LiveMigrate" &&
          !(t.spec.storage?.accessModes ?? []).includes("ReadWriteMany"))
        problems.push(`examples: VM ${vm.metadata.name} wants live migration but its disk is not RWX`);
    }
  for (const migration of byKind(objects, "VirtualMachineInstanceMigration"))
    if (!vms.some((vm) => vm.metadata.name === migration.spec.vmiName &&
                          vm.metadata.namespace === migration.metadata.namespace))
      problems.push(`examples: migration ${migration.metadata.name} names no VM (${migration.spec.vmiName})`);
}

// Scope of every kind deploy/ uses; kustomize cannot know it for custom resources.
const CLUSTER_SCOPED = ["Namespace", "CSIDriver", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                        "VolumeSnapshotClass", "VolumeGroupSnapshotClass", "StorageProfile",
                        "VolumeAttributesClass"];

function checkScopes(name, objects, problems) {
  for (const o of objects) {
    const namespace = o.metadata.namespace;
    if (CLUSTER_SCOPED.includes(o.kind) && namespace !== undefined)
      problems.push(`${name}: ${o.kind} ${o.metadata.name} is cluster-scoped but has namespace ${namespace}`);
    const expected = name === "examples" ? "default" : "polycsi";
    if (!CLUSTER_SCOPED.includes(o.kind) && namespace !== expected)
      problems.push(`${name}: ${o.kind} ${o.metadata.name} must be in namespace ${expected}, is in ${namespace}`);
  }
}

export function checkConsistency(rendered, deployDir) {
  const problems = [];
  for (const [name, objects] of Object.entries(rendered)) checkScopes(name, objects, problems);
  const installs = [];
  for (const [name, objects] of Object.entries(rendered)) {
    if (!name.startsWith("overlays/")) continue;
    const install = checkInstall(objects, name, problems);
    if (typeof install !== "object") continue;
    install.classes = byKind(objects, "StorageClass").map((s) => s.metadata.name);
    checkOverlayExtras(name, install, objects, problems);
    installs.push(install);
  }
  if (installs.length < 4) problems.push(`want the four plugin overlays, rendered ${installs.length}`);
  if (rendered.monitoring) checkMonitoring(rendered.monitoring, installs, deployDir, problems);
  else problems.push("monitoring did not render");
  if (rendered.examples) checkExamples(rendered.examples, installs, problems);
  else problems.push("examples did not render");
  return problems;
}
