// Checks the Dockerfile without a container engine: the base images are Debian 12, every COPY
// from the build context names a file or directory that exists, the runtime stage installs
// the node tools the plugins run (nvme-cli, nfs-common, e2fsprogs, xfsprogs) but not open-iscsi
// (iscsi_powerstore runs the host's iscsiadm: an image's would not match the host's iscsid), the
// plugins land in the plugin_dir the deploy/ configs name, and the entrypoint is polycsi.
// Exit 0 when it holds; 1 with one line per problem.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const text = readFileSync(path.join(root, "Dockerfile"), "utf8");
// Join continuation lines, drop comments.
const instructions = text.replace(/\\\n/g, " ").split("\n")
  .map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
const problems = [];

const stages = instructions.filter((i) => /^FROM\s/i.test(i));
if (stages.length < 2) problems.push("want a multi-stage build (build and runtime stages)");
for (const from of stages) {
  const image = from.split(/\s+/)[1];
  if (!/^debian:(12|bookworm)(-slim)?$/.test(image)) problems.push(`${from}: base image is not Debian 12`);
}
const runtimeStart = instructions.lastIndexOf(stages[stages.length - 1]);
const runtime = instructions.slice(runtimeStart);

for (const copy of instructions.filter((i) => /^COPY\s/i.test(i))) {
  const words = copy.split(/\s+/).slice(1);
  if (words.some((w) => w.startsWith("--from="))) continue;
  const sources = words.filter((w) => !w.startsWith("--")).slice(0, -1);
  for (const source of sources)
    if (!existsSync(path.join(root, source))) problems.push(`${copy}: ${source} does not exist`);
}
for (const ignored of readFileSync(path.join(root, ".dockerignore"), "utf8").split("\n"))
  if (["/core", "/plugins", "/sdk", "/proto", "/cmake"].includes(ignored.trim()))
    problems.push(`.dockerignore excludes ${ignored}, which the build copies`);

const installs = runtime.filter((i) => /^RUN\s/i.test(i) && /apt-get install/.test(i)).join(" ");
for (const pkg of ["nvme-cli", "nfs-common", "e2fsprogs", "xfsprogs"])
  if (!new RegExp(`(^|\\s)${pkg}(\\s|$)`).test(installs)) problems.push(`runtime stage does not install ${pkg}`);
if (/(^|\s)open-iscsi(\s|$)/.test(installs))
  problems.push("runtime stage installs open-iscsi: iscsi_powerstore must run the host's iscsiadm " +
                "(iscsi_host_root), never an image's that need not match the host's iscsid");
if (!/runtime-packages\.txt/.test(installs)) problems.push("runtime stage does not install the shared libraries' packages");

const configDirs = ["nfs", "powerstore-iscsi", "rds-nvme", "sample"].map((overlay) =>
  /plugin_dir:\s*(\S+)/.exec(readFileSync(path.join(root, "deploy/overlays", overlay, "config.yaml"), "utf8"))?.[1]);
const pluginCopy = runtime.find((i) => /^COPY\s+--from=build\s+\/out\/usr\/lib\/polycsi\s+\/usr\/lib\/polycsi$/.test(i));
if (!pluginCopy) problems.push("runtime stage does not copy /usr/lib/polycsi (driver and plugins)");
for (const dir of new Set(configDirs))
  if (dir !== "/usr/lib/polycsi/plugins") problems.push(`a deploy config's plugin_dir ${dir} is not where the image puts plugins`);
const entrypoint = runtime.find((i) => /^ENTRYPOINT\s/i.test(i));
if (!entrypoint || !entrypoint.includes('"/usr/bin/polycsi"')) problems.push("ENTRYPOINT is not /usr/bin/polycsi");

const images = readFileSync(path.join(root, "deploy/base/controller.yaml"), "utf8").match(/image: (\S*polycsi\S*)/g) ?? [];
if (images.length === 0) problems.push("deploy/base/controller.yaml does not run the polycsi image");

if (problems.length) {
  for (const problem of problems) console.error(`FAIL Dockerfile: ${problem}`);
  process.exit(1);
}
console.log(`OK: Dockerfile (${stages.length} stages, ${instructions.length} instructions)`);
