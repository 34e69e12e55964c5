// Hand-written structural checks for the custom resources that have no published validators
// in kubernetes-models: VolumeSnapshotClass and VolumeGroupSnapshotClass (external-snapshotter), StorageProfile (CDI),
// VirtualMachine and VirtualMachineInstanceMigration (KubeVirt). They cover the fields the
// deploy/ manifests use, following the CRDs' OpenAPI schemas: required fields, types, enums.
// Each returns a list of problems ("<where>: spec.x: ...").

const KUBERNETES_ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];
const VOLUME_MODES = ["Block", "Filesystem"];
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

class Checker {
  constructor(where) {
    this.where = where;
    this.problems = [];
  }
  fail(field, message) {
    this.problems.push(`${this.where}: ${field}: ${message}`);
  }
  object(value, field) {
    if (!isObject(value)) this.fail(field, "must be an object");
    return isObject(value);
  }
  string(value, field, { required = true, pattern, oneOf } = {}) {
    if (value === undefined) {
      if (required) this.fail(field, "is required");
      return;
    }
    if (typeof value !== "string" || value === "") return this.fail(field, "must be a non-empty string");
    if (pattern && !pattern.test(value)) this.fail(field, `'${value}' does not match ${pattern}`);
    if (oneOf && !oneOf.includes(value)) this.fail(field, `'${value}' is not one of ${oneOf.join(", ")}`);
  }
  stringList(value, field, oneOf) {
    if (!Array.isArray(value) || value.length === 0) return this.fail(field, "must be a non-empty list");
    value.forEach((item, i) => this.string(item, `${field}[${i}]`, { oneOf }));
  }
  onlyKeys(value, field, allowed) {
    for (const key of Object.keys(value))
      if (!allowed.includes(key)) this.fail(`${field}.${key}`, "is not a field of this type");
  }
  metadata(object, { namespaced }) {
    if (!this.object(object.metadata, "metadata")) return;
    this.string(object.metadata.name, "metadata.name", { pattern: DNS_SUBDOMAIN });
    if (object.metadata.name && object.metadata.name.length > 253) this.fail("metadata.name", "longer than 253");
    if (!namespaced && object.metadata.namespace) this.fail("metadata.namespace", "cluster-scoped kind");
  }
}

function volumeSnapshotClass(object, c) {
  c.metadata(object, { namespaced: false });
  c.onlyKeys(object, "", ["apiVersion", "kind", "metadata", "driver", "deletionPolicy", "parameters"]);
  c.string(object.driver, "driver", { pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/ });
  c.string(object.deletionPolicy, "deletionPolicy", { oneOf: ["Delete", "Retain"] });
  if (object.parameters !== undefined && c.object(object.parameters, "parameters"))
    for (const [k, v] of Object.entries(object.parameters))
      if (typeof v !== "string") c.fail(`parameters.${k}`, "must be a string");
}

// groupsnapshot.storage.k8s.io/v1 as external-snapshotter v8.6.0 serves it
// (client/config/crd/groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml: cluster
// scope; driver and deletionPolicy required, deletionPolicy Delete or Retain; parameters a map
// of strings).
function volumeGroupSnapshotClass(object, c) {
  c.metadata(object, { namespaced: false });
  c.onlyKeys(object, "", ["apiVersion", "kind", "metadata", "driver", "deletionPolicy", "parameters"]);
  c.string(object.driver, "driver", { pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/ });
  c.string(object.deletionPolicy, "deletionPolicy", { oneOf: ["Delete", "Retain"] });
  if (object.parameters !== undefined && c.object(object.parameters, "parameters"))
    for (const [k, v] of Object.entries(object.parameters))
      if (typeof v !== "string") c.fail(`parameters.${k}`, "must be a string");
}

function storageProfile(object, c) {
  c.metadata(object, { namespaced: false });
  if (!c.object(object.spec, "spec")) return;
  c.onlyKeys(object.spec, "spec", ["claimPropertySets", "cloneStrategy", "dataImportCronSourceFormat",
                                  "snapshotClass"]);
  const sets = object.spec.claimPropertySets;
  if (!Array.isArray(sets) || sets.length === 0)
    return c.fail("spec.claimPropertySets", "must be a non-empty list");
  sets.forEach((set, i) => {
    const field = `spec.claimPropertySets[${i}]`;
    if (!c.object(set, field)) return;
    c.onlyKeys(set, field, ["accessModes", "volumeMode"]);
    // CDI requires both: a set without accessModes or volumeMode is rejected by its webhook.
    c.stringList(set.accessModes, `${field}.accessModes`, KUBERNETES_ACCESS_MODES);
    c.string(set.volumeMode, `${field}.volumeMode`, { oneOf: VOLUME_MODES });
  });
}

function dataVolumeStorage(storage, field, c) {
  if (!c.object(storage, field)) return;
  c.string(storage.storageClassName, `${field}.storageClassName`, { required: false });
  if (storage.accessModes !== undefined) c.stringList(storage.accessModes, `${field}.accessModes`, KUBERNETES_ACCESS_MODES);
  c.string(storage.volumeMode, `${field}.volumeMode`, { required: false, oneOf: VOLUME_MODES });
  c.string(storage.resources?.requests?.storage, `${field}.resources.requests.storage`, { pattern: QUANTITY });
}

function virtualMachine(object, c) {
  c.metadata(object, { namespaced: true });
  if (!c.object(object.spec, "spec")) return;
  const spec = object.spec;
  if (spec.running !== undefined && spec.runStrategy !== undefined)
    c.fail("spec", "running and runStrategy are mutually exclusive");
  c.string(spec.runStrategy, "spec.runStrategy", {
    required: spec.running === undefined,
    oneOf: ["Always", "RerunOnFailure", "Manual", "Halted", "Once", "WaitAsReceiver"],
  });
  const dataVolumes = new Set();
  (spec.dataVolumeTemplates ?? []).forEach((t, i) => {
    const field = `spec.dataVolumeTemplates[${i}]`;
    c.string(t.metadata?.name, `${field}.metadata.name`, { pattern: DNS_SUBDOMAIN });
    dataVolumes.add(t.metadata?.name);
    if (!c.object(t.spec, `${field}.spec`)) return;
    if (t.spec.storage === undefined && t.spec.pvc === undefined) c.fail(`${field}.spec`, "needs storage or pvc");
    if (t.spec.storage !== undefined) dataVolumeStorage(t.spec.storage, `${field}.spec.storage`, c);
  });
  const template = spec.template;
  if (!c.object(template, "spec.template") || !c.object(template.spec, "spec.template.spec")) return;
  const vmi = template.spec;
  c.string(vmi.evictionStrategy, "spec.template.spec.evictionStrategy",
           { required: false, oneOf: ["None", "LiveMigrate", "LiveMigrateIfPossible", "External"] });
  if (!c.object(vmi.domain, "spec.template.spec.domain")) return;
  if (!c.object(vmi.domain.devices, "spec.template.spec.domain.devices")) return;
  const volumes = new Map((vmi.volumes ?? []).map((v) => [v.name, v]));
  (vmi.domain.devices.disks ?? []).forEach((disk, i) => {
    c.string(disk.name, `spec.template.spec.domain.devices.disks[${i}].name`);
    if (!volumes.has(disk.name))
      c.fail(`spec.template.spec.domain.devices.disks[${i}]`, `no volume named '${disk.name}'`);
  });
  for (const [name, volume] of volumes) {
    const ref = volume.dataVolume?.name;
    if (ref !== undefined && !dataVolumes.has(ref))
      c.fail(`spec.template.spec.volumes[${name}]`, `dataVolume '${ref}' is not in dataVolumeTemplates`);
  }
  const networks = new Set((vmi.networks ?? []).map((n) => n.name));
  (vmi.domain.devices.interfaces ?? []).forEach((iface, i) => {
    if (!networks.has(iface.name))
      c.fail(`spec.template.spec.domain.devices.interfaces[${i}]`, `no network named '${iface.name}'`);
  });
}

function virtualMachineInstanceMigration(object, c) {
  c.metadata(object, { namespaced: true });
  if (!c.object(object.spec, "spec")) return;
  c.onlyKeys(object.spec, "spec", ["vmiName", "addedNodeSelector"]);
  c.string(object.spec.vmiName, "spec.vmiName", { pattern: DNS_SUBDOMAIN });
}

const CHECKS = {
  "snapshot.storage.k8s.io/v1 VolumeSnapshotClass": volumeSnapshotClass,
  "groupsnapshot.storage.k8s.io/v1 VolumeGroupSnapshotClass": volumeGroupSnapshotClass,
  "cdi.kubevirt.io/v1beta1 StorageProfile": storageProfile,
  "kubevirt.io/v1 VirtualMachine": virtualMachine,
  "kubevirt.io/v1 VirtualMachineInstanceMigration": virtualMachineInstanceMigration,
};

export function validateStructurally(object, where) {
  const check = CHECKS[`${object.apiVersion} ${object.kind}`];
  if (check === undefined) return [`${where}: no schema or structural check for ${object.apiVersion} ${object.kind}`];
  const checker = new Checker(where);
  check(object, checker);
  return checker.problems;
}
