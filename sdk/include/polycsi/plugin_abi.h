/*
 * polycsi plugin ABI: the whole contract between the polycsi core (the host) and a storage
 * backend plugin (a shared object).
 *
 * Plain C, depending on nothing but the C standard library, so a plugin can be written in any
 * language that can export a C symbol. No C++ type, exception or protobuf message crosses it.
 *
 * A plugin exports exactly one symbol, `polycsi_plugin_entry` (POLYCSI_PLUGIN_ENTRY_SYMBOL),
 * which returns a pointer to a static, immutable `polycsi_plugin_api` table.
 *
 * VERSIONING
 *   `{major, minor}`. The host refuses a plugin whose major differs from its own, or whose minor
 *   is newer than its own, with a message naming both versions. Within one major, structs are
 *   only ever appended to; a host reads members added in minor N only from plugins that declare
 *   minor >= N. A NULL function pointer means "not supported": that is how a plugin declares
 *   an optional capability (snapshots, expansion, clones, ...).
 *
 * STRINGS
 *   Strings cross as `polycsi_str {ptr, len}`: not NUL-terminated, UTF-8, may be empty
 *   ({NULL, 0}). A string in a request is borrowed from the host for the duration of the call.
 *
 * OWNERSHIP
 *   The side that allocates frees. Every result struct begins with a `polycsi_result_header`;
 *   the plugin fills it, and everything the result points to (strings, arrays) stays valid
 *   until the host calls `header.release(header.owner)` exactly once. The host copies what it
 *   needs and then releases. A plugin that returns only static data may leave release NULL.
 *
 * THREADING
 *   The host calls plugin functions from several threads at once, but never two calls for the
 *   same volume at the same time (the core serializes per volume). A backend instance must
 *   therefore be safe for concurrent calls on different volumes. `init` and `shutdown` are never
 *   concurrent with any other call on the same instance.
 *
 * IDEMPOTENCY
 *   Every controller and node call must be idempotent: the core retries after timeouts and
 *   restarts. Deleting or detaching something already gone is success (POLYCSI_OK).
 *
 * ERRORS
 *   Every call returns a `polycsi_code` that maps 1:1 to the gRPC status codes CSI uses, and
 *   may put a human-readable message in `header.message`. Messages must never contain secrets.
 */
#ifndef POLYCSI_PLUGIN_ABI_H_
#define POLYCSI_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POLYCSI_ABI_VERSION_MAJOR 1
#define POLYCSI_ABI_VERSION_MINOR 4

/* The one exported symbol's name. */
#define POLYCSI_PLUGIN_ENTRY_SYMBOL "polycsi_plugin_entry"

/* ---------------------------------------------------------------------------------------------
 * Basic types
 * ------------------------------------------------------------------------------------------ */

/* A UTF-8 string view. OWNERSHIP: whoever filled the struct that contains it (see above). */
typedef struct polycsi_str {
  const char* ptr;
  size_t len;
} polycsi_str;

/* One key/value pair. OWNERSHIP: as the containing struct. */
typedef struct polycsi_kv {
  polycsi_str key;
  polycsi_str value;
} polycsi_kv;

/* An array of key/value pairs (parameters, contexts, secrets). Keys are unique. */
typedef struct polycsi_kv_list {
  const polycsi_kv* items;
  size_t count;
} polycsi_kv_list;

/* An array of strings. */
typedef struct polycsi_str_list {
  const polycsi_str* items;
  size_t count;
} polycsi_str_list;

/* Status codes: identical in value to gRPC's status codes. */
typedef enum polycsi_code {
  POLYCSI_OK = 0,
  POLYCSI_CANCELLED = 1,
  POLYCSI_UNKNOWN = 2,
  POLYCSI_INVALID_ARGUMENT = 3,
  POLYCSI_DEADLINE_EXCEEDED = 4,
  POLYCSI_NOT_FOUND = 5,
  POLYCSI_ALREADY_EXISTS = 6,
  POLYCSI_PERMISSION_DENIED = 7,
  POLYCSI_RESOURCE_EXHAUSTED = 8,
  POLYCSI_FAILED_PRECONDITION = 9,
  POLYCSI_ABORTED = 10,
  POLYCSI_OUT_OF_RANGE = 11,
  POLYCSI_UNIMPLEMENTED = 12,
  POLYCSI_INTERNAL = 13,
  POLYCSI_UNAVAILABLE = 14
} polycsi_code;

/* Every result starts with this. OWNERSHIP: plugin; the host calls release(owner) once. */
typedef struct polycsi_result_header {
  polycsi_str message;          /* error text when the call did not return POLYCSI_OK */
  void* owner;                  /* plugin memory behind every pointer in the result */
  void (*release)(void* owner); /* may be NULL when nothing needs freeing */
} polycsi_result_header;

/* Per-call context. OWNERSHIP: host; valid for the duration of the call it belongs to. */
typedef struct polycsi_call {
  /* REQUIRED (always set). Milliseconds the plugin may spend on this call; every blocking step
   * must honour it. Always > 0. The host derives it from the caller's deadline. */
  int64_t timeout_ms;
  /* A flag that becomes non-zero, and then stays non-zero, once the call should stop: the
   * caller went away, the caller's deadline passed, or the host is shutting down. Give up
   * quickly (CANCELLED) when it is set. May be NULL: the call is then never cancelled.
   * OWNERSHIP: host; valid until the call returns, so never keep the pointer.
   * THREADING: another host thread writes the flag while the call runs, always with atomic
   * stores on a naturally aligned int32_t, so the plugin must read it with an atomic load,
   * e.g. `__atomic_load_n(call->cancelled, __ATOMIC_ACQUIRE)` (GCC, Clang), C11 atomic_load
   * through a `const _Atomic int32_t*`, or C++20 std::atomic_ref<int32_t>. A plain or volatile
   * read is a data race. (The `volatile` qualifier stays for source compatibility with ABI
   * 1.0, which allowed volatile reads; it does not make the read atomic.)
   * Reading it is cheap; poll it between blocking steps. */
  const volatile int32_t* cancelled;
} polycsi_call;

/* ---------------------------------------------------------------------------------------------
 * Descriptor: what the plugin is and what it can do
 * ------------------------------------------------------------------------------------------ */

/* CSI access modes, same values as csi.v1.VolumeCapability.AccessMode.Mode. */
typedef enum polycsi_access_mode {
  POLYCSI_ACCESS_UNKNOWN = 0,
  POLYCSI_ACCESS_SINGLE_NODE_WRITER = 1, /* RWO */
  POLYCSI_ACCESS_SINGLE_NODE_READER_ONLY = 2,
  POLYCSI_ACCESS_MULTI_NODE_READER_ONLY = 3, /* ROX */
  POLYCSI_ACCESS_MULTI_NODE_SINGLE_WRITER = 4,
  POLYCSI_ACCESS_MULTI_NODE_MULTI_WRITER = 5,   /* RWX */
  POLYCSI_ACCESS_SINGLE_NODE_SINGLE_WRITER = 6, /* RWOP */
  POLYCSI_ACCESS_SINGLE_NODE_MULTI_WRITER = 7
} polycsi_access_mode;

typedef enum polycsi_volume_mode {
  POLYCSI_VOLUME_MODE_BLOCK = 0,
  POLYCSI_VOLUME_MODE_FILESYSTEM = 1
} polycsi_volume_mode;

/* What attaching one volume to several nodes means for one (access mode, volume mode) pair. */
typedef enum polycsi_attach_semantics {
  /* The pair is refused at CreateVolume and in capability validation. */
  POLYCSI_ATTACH_UNSUPPORTED = 0,
  /* One node at a time. */
  POLYCSI_ATTACH_EXCLUSIVE = 1,
  /* Any number of nodes at once. */
  POLYCSI_ATTACH_SHARED = 2,
  /* A second node may attach for at most migrationTimeoutSeconds (KubeVirt live migration);
   * never a third. */
  POLYCSI_ATTACH_MIGRATION_WINDOW = 3
} polycsi_attach_semantics;

/* One cell of the capability matrix. Pairs absent from the matrix are unsupported. */
typedef struct polycsi_capability {
  polycsi_access_mode access_mode;
  polycsi_volume_mode volume_mode;
  polycsi_attach_semantics semantics;
  /* Why the pair is unsupported, shown to users (empty unless semantics is UNSUPPORTED). */
  polycsi_str reason;
} polycsi_capability;

/* Which half of the driver a process runs. Also a bit set (ALL = CONTROLLER | NODE) where the
 * descriptor says which roles need a setting (`setting_required_roles`, since 1.2). */
typedef enum polycsi_role {
  POLYCSI_ROLE_CONTROLLER = 1,
  POLYCSI_ROLE_NODE = 2,
  POLYCSI_ROLE_ALL = 3
} polycsi_role;

/* Kind of a configuration setting. */
typedef enum polycsi_setting_kind {
  POLYCSI_SETTING_STRING = 0,
  POLYCSI_SETTING_INTEGER = 1,
  POLYCSI_SETTING_BOOLEAN = 2,
  /* A nested YAML value (list or map), handed over in `settings_json` only. */
  POLYCSI_SETTING_STRUCTURED = 3
} polycsi_setting_kind;

/* One key the plugin accepts in its backend `settings` (config file) or in StorageClass
 * `parameters`. */
typedef struct polycsi_setting_spec {
  polycsi_str name;
  polycsi_setting_kind kind;
  int32_t required; /* non-zero: the key must be present in every role */
  int32_t secret;   /* non-zero: the value is never logged */
  polycsi_str description;
} polycsi_setting_spec;

/* ---- since ABI 1.3: group snapshots ---- */
/* What one group snapshot of several volumes guarantees, as the plugin declares it in
 * `polycsi_descriptor.group_snapshot_consistency`; the core reports it with every group snapshot
 * (log, polycsictl, docs). */
typedef enum polycsi_group_consistency {
  /* No group snapshots (the CSI GroupController refuses this plugin's volumes). */
  POLYCSI_GROUP_CONSISTENCY_NONE = 0,
  /* The members are taken one after the other in one pass: each is consistent in itself, but
   * writes to one volume between two members' instants are in some members and not in others.
   * Crash-consistent across the group only when the writers are quiesced (e.g. KubeVirt's guest
   * agent freeze). */
  POLYCSI_GROUP_CONSISTENCY_PER_VOLUME_SEQUENCE = 1,
  /* All members are cut at one instant: the group is crash-consistent, like the state after a
   * power cut. */
  POLYCSI_GROUP_CONSISTENCY_CRASH_CONSISTENT = 2
} polycsi_group_consistency;

/* The plugin's self-description. OWNERSHIP: plugin, static for the life of the library. */
typedef struct polycsi_descriptor {
  polycsi_str name;    /* e.g. "rds_nvme"; [a-z0-9_]+ */
  polycsi_str version; /* the plugin's own version, e.g. "1.2.0" */
  polycsi_str description;
  polycsi_str metrics_prefix; /* e.g. "rds_csi"; [a-z_][a-z0-9_]* */
  const polycsi_capability* capabilities;
  size_t capability_count;
  const polycsi_setting_spec* settings; /* keys of a backend's `settings` in the config */
  size_t setting_count;
  const polycsi_setting_spec* parameters; /* StorageClass parameters the plugin understands */
  size_t parameter_count;
  /* Minor 1. What `node_identity` reports, as a user names it (e.g. "iSCSI initiator IQN"),
   * when `publish` cannot reach a node without it; empty when publish needs no node identity.
   * The host refuses (NOT_FOUND) to publish to a node id that carries no identity for a plugin
   * that declares one. Read only from plugins built with minor >= 1. */
  polycsi_str node_identity_kind;
  /* Minor 2. NULL, or `setting_count` entries parallel to `settings`: entry i is the set of roles
   * that need settings[i] present, as polycsi_role bits (CONTROLLER, NODE, or ALL for both); 0
   * when `required` alone decides. A setting is required in a role when its `required` is
   * non-zero or the role's bit is set here; a process serving both roles needs what either needs.
   * The host checks it in `polycsi validate-config` and before `init`. A parallel array rather
   * than a new polycsi_setting_spec member: growing that struct would change the stride of the
   * `settings` arrays of plugins built against an older minor. Read only from plugins built
   * with minor >= 2. */
  const uint32_t* setting_required_roles;
  /* since 1.3 (modify volume). NULL, or `parameter_count` entries parallel to `parameters`:
   * entry i is non-zero when parameters[i] is MUTABLE, i.e. a VolumeAttributesClass may set it
   * and ControllerModifyVolume may change it on a live volume (through `modify_volume`). A
   * mutable parameter may also arrive at create (CSI mutable_parameters), merged into
   * `parameters` of the create request. The host refuses, naming the parameter and the backend,
   * every parameter in a modify or in mutable_parameters that is not marked here. A parallel
   * array for the same reason as setting_required_roles. Read only from plugins built with
   * minor >= 3. */
  const int32_t* parameter_mutable;
  /* since 1.3 (group snapshots): a polycsi_group_consistency value, what a group snapshot of this
   * plugin's volumes guarantees (see the enum). NONE (0) means the plugin takes no part in group
   * snapshots. Anything else needs the snapshot functions, and the plugin must keep
   * `group_snapshot_id` of polycsi_create_snapshot_request with the snapshot, report it in
   * polycsi_snapshot_result / polycsi_snapshot_list_result and honour the list filter of the same
   * name: the core then builds group snapshots from per-volume snapshots (docs/plugin-sdk.md,
   * "Group snapshots"). Read only from plugins built with minor >= 3. */
  int32_t group_snapshot_consistency;
} polycsi_descriptor;

/* ---------------------------------------------------------------------------------------------
 * Host services offered to the plugin
 * ------------------------------------------------------------------------------------------ */

typedef enum polycsi_log_level {
  POLYCSI_LOG_DEBUG = 0,
  POLYCSI_LOG_INFO = 1,
  POLYCSI_LOG_WARN = 2,
  POLYCSI_LOG_ERROR = 3
} polycsi_log_level;

/* Functions the host offers. OWNERSHIP: host; valid until `shutdown` returns.
 * THREADING: every function may be called from any thread. */
typedef struct polycsi_host_api {
  size_t struct_size; /* sizeof(polycsi_host_api) as the host compiled it */
  uint32_t abi_major;
  uint32_t abi_minor;
  void* host_ctx; /* pass back as the first argument of every function below */
  /* Writes one log line attributed to this backend instance. */
  void (*log)(void* host_ctx, polycsi_log_level level, polycsi_str message);
  /* Sets gauge `<metrics_prefix>_<name>` with the given labels to value. */
  void (*gauge_set)(void* host_ctx, polycsi_str name, polycsi_kv_list labels, double value);
  /* Adds delta (>= 0) to counter `<metrics_prefix>_<name>` with the given labels. */
  void (*counter_add)(void* host_ctx, polycsi_str name, polycsi_kv_list labels, double delta);
} polycsi_host_api;

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------ */

/* An opaque backend instance. One plugin may serve several instances (backends in the config). */
typedef struct polycsi_instance polycsi_instance;

typedef struct polycsi_init_request {
  polycsi_call call;
  polycsi_str instance_name; /* the backend's name in the config */
  polycsi_role role;         /* which half of the driver this process runs */
  /* Scalar settings (strings, integers, booleans as text), already checked against the
   * descriptor's setting specs (keys `role` requires present, unknown refused) and, since 1.2,
   * by the plugin's check_settings when it has one. */
  polycsi_kv_list settings;
  /* The whole `settings` map as JSON, for STRUCTURED settings. */
  polycsi_str settings_json;
  /* A directory the instance may keep files in, private to it; exists. */
  polycsi_str state_dir;
} polycsi_init_request;

typedef struct polycsi_init_result {
  polycsi_result_header header;
  polycsi_instance* instance; /* OWNERSHIP: plugin; freed by shutdown */
} polycsi_init_result;

/* ---------------------------------------------------------------------------------------------
 * Controller
 * ------------------------------------------------------------------------------------------ */

/* A volume as the backend knows it. */
typedef struct polycsi_volume {
  /* Backend-local id: [A-Za-z0-9._-], at most 96 bytes. The core adds the backend name. */
  polycsi_str id;
  int64_t capacity_bytes;
  /* Handed to the node plugin in attach (e.g. address, port, NQN). */
  polycsi_kv_list context;
  polycsi_str source_snapshot_id; /* backend-local, empty when none */
  polycsi_str source_volume_id;   /* backend-local, empty when none */
} polycsi_volume;

typedef struct polycsi_volume_result {
  polycsi_result_header header;
  polycsi_volume volume;
} polycsi_volume_result;

typedef struct polycsi_create_volume_request {
  polycsi_call call;
  polycsi_str name;       /* CSI name; the same name must yield the same volume */
  int64_t required_bytes; /* >= 0; 0 means plugin default */
  int64_t limit_bytes;    /* 0 means no limit */
  polycsi_volume_mode volume_mode;
  polycsi_kv_list parameters; /* StorageClass parameters for this plugin */
  polycsi_kv_list secrets;
  /* Only for create_volume_from_snapshot / clone_volume: the backend-local source id. */
  polycsi_str source_id;
} polycsi_create_volume_request;

typedef struct polycsi_volume_id_request {
  polycsi_call call;
  polycsi_str volume_id; /* backend-local */
  polycsi_kv_list secrets;
} polycsi_volume_id_request;

typedef struct polycsi_expand_request {
  polycsi_call call;
  polycsi_str volume_id;
  int64_t required_bytes;
  int64_t limit_bytes; /* 0 means no limit */
  polycsi_kv_list secrets;
} polycsi_expand_request;

typedef struct polycsi_expand_result {
  polycsi_result_header header;
  int64_t capacity_bytes;
  int32_t node_expansion_required; /* non-zero: the node must grow the filesystem */
} polycsi_expand_result;

typedef struct polycsi_capacity_request {
  polycsi_call call;
  polycsi_kv_list parameters;
} polycsi_capacity_request;

typedef struct polycsi_capacity_result {
  polycsi_result_header header;
  int64_t available_bytes;
  int64_t maximum_volume_bytes; /* 0 when unknown */
  int64_t minimum_volume_bytes; /* 0 when unknown */
} polycsi_capacity_result;

typedef struct polycsi_list_request {
  polycsi_call call;
  int32_t max_entries;          /* 0 means no limit */
  polycsi_str starting_token;   /* empty for the first page; plugin-defined otherwise */
  polycsi_str source_volume_id; /* list_snapshots only: filter, may be empty */
  polycsi_str snapshot_id;      /* list_snapshots only: filter, may be empty */
  /* since 1.3 (group snapshots): list_snapshots only: only the members of this backend-local
   * group, may be empty. Set only for plugins that declare a group_snapshot_consistency. */
  polycsi_str group_snapshot_id;
} polycsi_list_request;

typedef struct polycsi_volume_list_result {
  polycsi_result_header header;
  const polycsi_volume* volumes;
  size_t count;
  polycsi_str next_token; /* empty on the last page */
} polycsi_volume_list_result;

typedef struct polycsi_snapshot {
  polycsi_str id;               /* backend-local, same character set and length as volumes */
  polycsi_str source_volume_id; /* backend-local */
  int64_t size_bytes;
  int64_t creation_time_unix_ns;
  int32_t ready_to_use;
} polycsi_snapshot;

/* Result structs are zeroed by the host before the call, so a member appended in a later minor
 * reads as empty from an older plugin that does not fill it. */
typedef struct polycsi_snapshot_result {
  polycsi_result_header header;
  polycsi_snapshot snapshot;
  /* since 1.3 (group snapshots): the backend-local group the snapshot is a member of (as
   * create_snapshot received it), empty when none. Not a member of polycsi_snapshot: growing
   * that struct would change the stride of the arrays older plugins return. */
  polycsi_str group_snapshot_id;
} polycsi_snapshot_result;

typedef struct polycsi_snapshot_list_result {
  polycsi_result_header header;
  const polycsi_snapshot* snapshots;
  size_t count;
  polycsi_str next_token;
  /* since 1.3 (group snapshots): NULL, or `count` entries parallel to `snapshots`: entry i is the
   * backend-local group snapshots[i] is a member of, empty when none. */
  const polycsi_str* group_snapshot_ids;
} polycsi_snapshot_list_result;

typedef struct polycsi_create_snapshot_request {
  polycsi_call call;
  polycsi_str name;             /* CSI name; the same name must yield the same snapshot */
  polycsi_str source_volume_id; /* backend-local */
  polycsi_kv_list parameters;
  polycsi_kv_list secrets;
  /* since 1.3 (group snapshots): the backend-local id of the group this snapshot is a member of,
   * empty for a snapshot of its own. Set only for plugins that declare a
   * group_snapshot_consistency; they keep it with the snapshot and report it back. */
  polycsi_str group_snapshot_id;
} polycsi_create_snapshot_request;

typedef struct polycsi_snapshot_id_request {
  polycsi_call call;
  polycsi_str snapshot_id;
  polycsi_kv_list secrets;
} polycsi_snapshot_id_request;

/* Storage-level fencing: allow (publish) or remove (unpublish) a node's access. */
typedef struct polycsi_publish_request {
  polycsi_call call;
  polycsi_str volume_id;
  polycsi_str node_name;     /* the Kubernetes node name part of the CSI node id */
  polycsi_str node_identity; /* what the node plugin reported, e.g. an NVMe host NQN */
  int32_t readonly;
  polycsi_kv_list volume_context;
  polycsi_kv_list secrets;
} polycsi_publish_request;

typedef struct polycsi_publish_result {
  polycsi_result_header header;
  polycsi_kv_list publish_context; /* handed to the node in attach */
} polycsi_publish_result;

typedef struct polycsi_status_result {
  polycsi_result_header header;
} polycsi_status_result;

/* ---------------------------------------------------------------------------------------------
 * Node
 * ------------------------------------------------------------------------------------------ */

typedef struct polycsi_node_identity_result {
  polycsi_result_header header;
  /* How the storage system knows this host: [A-Za-z0-9.:_-], at most 223 bytes. Empty when the
   * plugin needs none. */
  polycsi_str identity;
} polycsi_node_identity_result;

typedef struct polycsi_attach_request {
  polycsi_call call;
  polycsi_str volume_id;
  polycsi_volume_mode volume_mode;
  int32_t readonly;
  polycsi_kv_list volume_context;
  polycsi_kv_list publish_context;
  polycsi_kv_list secrets;
  polycsi_str staging_path; /* where the core will mount; informational */
} polycsi_attach_request;

typedef enum polycsi_attachment_kind {
  /* `device_path` is a block device the core formats/mounts or binds. */
  POLYCSI_ATTACHMENT_BLOCK_DEVICE = 1,
  /* `mount_source` + `fs_type` + `mount_options` are mounted by the core as they are. */
  POLYCSI_ATTACHMENT_MOUNT_SOURCE = 2
} polycsi_attachment_kind;

typedef struct polycsi_attach_result {
  polycsi_result_header header;
  polycsi_attachment_kind kind;
  polycsi_str device_path;        /* BLOCK_DEVICE: e.g. /dev/nvme1n1 */
  polycsi_str mount_source;       /* MOUNT_SOURCE: e.g. 10.0.0.1:/export/pvc-1 */
  polycsi_str fs_type;            /* MOUNT_SOURCE: e.g. nfs */
  polycsi_str_list mount_options; /* MOUNT_SOURCE: e.g. nfsvers=4.1 */
} polycsi_attach_result;

typedef struct polycsi_detach_request {
  polycsi_call call;
  polycsi_str volume_id;
  polycsi_str staging_path;
} polycsi_detach_request;

typedef struct polycsi_node_expand_request {
  polycsi_call call;
  polycsi_str volume_id;
  int64_t required_bytes;
  polycsi_str device_path;
} polycsi_node_expand_request;

typedef struct polycsi_condition_result {
  polycsi_result_header header;
  int32_t abnormal; /* non-zero: message says what is wrong */
} polycsi_condition_result;

/* ---- since ABI 1.3: modify volume ---- */

/* ControllerModifyVolume for one volume: the mutable parameters to apply. OWNERSHIP: host,
 * valid for the duration of the call. */
typedef struct polycsi_modify_volume_request {
  polycsi_call call;
  polycsi_str volume_id; /* backend-local */
  /* Only parameters the descriptor marks mutable (parameter_mutable), already checked against
   * their spec's kind; never empty. Keys the core owns (e.g. migrationTimeoutSeconds) never
   * appear here. */
  polycsi_kv_list mutable_parameters;
  polycsi_kv_list secrets;
} polycsi_modify_volume_request;
/* ---- since ABI 1.3: topology and capacity ---- */

/* Looks a volume up by the CSI name it was created with, without creating anything. The core
 * asks every backend of a StorageClass that spans several (docs/topology.md) before it picks
 * one, so a retried CreateVolume lands where the first attempt did. */
typedef struct polycsi_find_volume_request {
  polycsi_call call;
  polycsi_str name;           /* the CSI name, as create_volume's `name` */
  polycsi_kv_list parameters; /* StorageClass parameters for this plugin, as create_volume's */
  polycsi_kv_list secrets;
} polycsi_find_volume_request;
/* ---- since ABI 1.3: volume health ---- */

/* A node the core has the volume published to (its attachment store, ControllerPublishVolume):
 * the Kubernetes node name and the identity this plugin's node side reported for it (e.g. an NVMe
 * host NQN, an iSCSI initiator IQN; empty when the plugin needs none or it is unknown). */
typedef struct polycsi_published_node {
  polycsi_str node_name;
  polycsi_str node_identity;
} polycsi_published_node;

/* One volume whose condition the core asks for. */
typedef struct polycsi_condition_query {
  polycsi_str volume_id; /* backend-local */
  const polycsi_published_node* published_nodes;
  size_t published_node_count;
} polycsi_condition_query;

/* OWNERSHIP: host; everything is borrowed for the duration of the call. */
typedef struct polycsi_controller_condition_request {
  polycsi_call call;
  const polycsi_condition_query* volumes;
  size_t count;
} polycsi_controller_condition_request;

/* One volume's condition: `abnormal` non-zero says something is wrong, and `message` says what
 * in words a user can act on; a normal volume's message says what was checked. */
typedef struct polycsi_volume_condition {
  int32_t abnormal;
  polycsi_str message;
} polycsi_volume_condition;

/* OWNERSHIP: plugin, until header.release. `conditions` holds exactly the request's `count`
 * entries, in the request's order. */
typedef struct polycsi_controller_condition_result {
  polycsi_result_header header;
  const polycsi_volume_condition* conditions;
  size_t count;
} polycsi_controller_condition_result;

/* ---- since ABI 1.4: crash-consistent group snapshots ---- */

/* One member of a group snapshot: the volume to cut and the name the core gives its snapshot
 * (what create_snapshot's `name` would be for it; the same group yields the same names). */
typedef struct polycsi_group_snapshot_member {
  polycsi_str name;             /* CSI-level snapshot name, unique per member */
  polycsi_str source_volume_id; /* backend-local */
} polycsi_group_snapshot_member;

/* CreateVolumeGroupSnapshot of one backend, handed over whole so the storage system can cut every
 * member at one instant. OWNERSHIP: host, valid for the duration of the call. */
typedef struct polycsi_create_group_snapshot_request {
  polycsi_call call;
  /* The backend-local group id (the core derives it from the CSI name and the volumes): each
   * snapshot made carries it exactly as create_snapshot's `group_snapshot_id` does, so
   * list_snapshots' group filter finds the members. */
  polycsi_str group_snapshot_id;
  const polycsi_group_snapshot_member* members; /* sorted by source_volume_id, no duplicates */
  size_t member_count;                          /* at least 1 */
  polycsi_kv_list parameters;                   /* the VolumeGroupSnapshotClass parameters */
  polycsi_kv_list secrets;
} polycsi_create_group_snapshot_request;

/* The group (as create_group_snapshot received its id) to delete. OWNERSHIP: host, valid for
 * the duration of the call. */
typedef struct polycsi_group_snapshot_id_request {
  polycsi_call call;
  polycsi_str group_snapshot_id; /* backend-local */
  polycsi_kv_list secrets;
} polycsi_group_snapshot_id_request;

/* ---------------------------------------------------------------------------------------------
 * The function table
 * ------------------------------------------------------------------------------------------ */

/* OWNERSHIP: plugin, static and immutable. Members marked REQUIRED must be non-NULL; the rest
 * are optional capabilities and NULL when unsupported. Every function taking an instance may be
 * called concurrently for different volumes (see THREADING). */
typedef struct polycsi_plugin_api {
  /* sizeof(polycsi_plugin_api) as the plugin compiled it. REQUIRED. */
  size_t struct_size;
  uint32_t abi_major; /* POLYCSI_ABI_VERSION_MAJOR the plugin was built with */
  uint32_t abi_minor; /* POLYCSI_ABI_VERSION_MINOR the plugin was built with */

  /* REQUIRED. The static descriptor, or NULL when the plugin cannot build it; then
   * `describe_error` (since 1.1) says why, and the host refuses the plugin with that text.
   * THREADING: any thread, any time. IDEMPOTENT: the same answer every time it succeeds. */
  const polycsi_descriptor* (*describe)(void);

  /* REQUIRED. Creates a backend instance. `host` stays valid until shutdown. */
  polycsi_code (*init)(const polycsi_host_api* host, const polycsi_init_request* req,
                       polycsi_init_result* out);
  /* REQUIRED. Frees the instance; no call on it follows. */
  void (*shutdown)(polycsi_instance* instance);

  /* ---- controller ---- */
  /* REQUIRED. Creates an empty volume, or returns the existing one of the same name
   * (ALREADY_EXISTS when it is incompatible with the request). */
  polycsi_code (*create_volume)(polycsi_instance*, const polycsi_create_volume_request*,
                                polycsi_volume_result*);
  /* Optional: create from a snapshot (`source_id` is a snapshot id). */
  polycsi_code (*create_volume_from_snapshot)(polycsi_instance*,
                                              const polycsi_create_volume_request*,
                                              polycsi_volume_result*);
  /* Optional: clone a volume (`source_id` is a volume id). */
  polycsi_code (*clone_volume)(polycsi_instance*, const polycsi_create_volume_request*,
                               polycsi_volume_result*);
  /* REQUIRED. Deletes a volume; gone already is POLYCSI_OK. */
  polycsi_code (*delete_volume)(polycsi_instance*, const polycsi_volume_id_request*,
                                polycsi_status_result*);
  /* REQUIRED. Looks a volume up; NOT_FOUND when it does not exist. */
  polycsi_code (*get_volume)(polycsi_instance*, const polycsi_volume_id_request*,
                             polycsi_volume_result*);
  /* Optional: pages through volumes. */
  polycsi_code (*list_volumes)(polycsi_instance*, const polycsi_list_request*,
                               polycsi_volume_list_result*);
  /* Optional: grows a volume (never shrinks). */
  polycsi_code (*expand_volume)(polycsi_instance*, const polycsi_expand_request*,
                                polycsi_expand_result*);
  /* Optional: free capacity. */
  polycsi_code (*get_capacity)(polycsi_instance*, const polycsi_capacity_request*,
                               polycsi_capacity_result*);
  /* Optional (all three or none): snapshots. */
  polycsi_code (*create_snapshot)(polycsi_instance*, const polycsi_create_snapshot_request*,
                                  polycsi_snapshot_result*);
  polycsi_code (*delete_snapshot)(polycsi_instance*, const polycsi_snapshot_id_request*,
                                  polycsi_status_result*);
  polycsi_code (*list_snapshots)(polycsi_instance*, const polycsi_list_request*,
                                 polycsi_snapshot_list_result*);
  /* Optional (both or none): storage-level fencing. When present, the core calls publish
   * before it acknowledges ControllerPublishVolume and unpublish before
   * ControllerUnpublishVolume; both idempotent. */
  polycsi_code (*publish)(polycsi_instance*, const polycsi_publish_request*,
                          polycsi_publish_result*);
  polycsi_code (*unpublish)(polycsi_instance*, const polycsi_publish_request*,
                            polycsi_status_result*);

  /* ---- node ---- */
  /* REQUIRED. This host's identity for the storage system (may be empty). */
  polycsi_code (*node_identity)(polycsi_instance*, const polycsi_call*,
                                polycsi_node_identity_result*);
  /* REQUIRED. Makes the volume available on this node; attached already is success. */
  polycsi_code (*attach)(polycsi_instance*, const polycsi_attach_request*, polycsi_attach_result*);
  /* REQUIRED. Undoes attach; detached already is success. Must only touch what attach made. */
  polycsi_code (*detach)(polycsi_instance*, const polycsi_detach_request*, polycsi_status_result*);
  /* Optional: makes the node see a grown device (before the core grows the filesystem). */
  polycsi_code (*node_expand)(polycsi_instance*, const polycsi_node_expand_request*,
                              polycsi_status_result*);
  /* Optional: health of an attached volume for NodeGetVolumeStats' volume condition. */
  polycsi_code (*volume_condition)(polycsi_instance*, const polycsi_detach_request*,
                                   polycsi_condition_result*);

  /* ---- since ABI 1.1 ---- */
  /* Optional (since 1.1). Why the last describe() returned NULL, for the user: e.g. the text
   * of the exception that building the descriptor threw. Empty when describe() has not failed.
   * A C++ exception must never cross the boundary: the C++ SDK catches it in describe() and
   * reports it here. OWNERSHIP: plugin; the text stays valid while the library is loaded.
   * THREADING: any thread. */
  polycsi_str (*describe_error)(void);

  /* ---- since ABI 1.2 ---- */
  /* Optional (since 1.2). Checks `req`'s settings for `req->role` exactly as `init` would,
   * without creating an instance: no connection, no thread, no file written (it may read a file
   * a setting names, e.g. a key file). `req->state_dir` is empty. Returns POLYCSI_OK when init
   * would accept the settings, or the code and message init would give for them (typically
   * INVALID_ARGUMENT naming the key). The host calls it for every backend before it inits any
   * (`polycsi serve`) and alone in `polycsi validate-config`, so both report the same problems
   * before anything connects anywhere. When NULL, only the descriptor's specs are checked before
   * init. THREADING: any thread, no instance needed. IDEMPOTENT: no side effects. */
  polycsi_code (*check_settings)(const polycsi_init_request* req, polycsi_status_result* out);

  /* ---- since ABI 1.3: modify volume ---- */
  /* Optional (since 1.3). Applies `req->mutable_parameters` to the existing volume
   * `req->volume_id` on the storage system (ControllerModifyVolume). NOT_FOUND when the volume
   * does not exist; INVALID_ARGUMENT naming the parameter for a value the plugin refuses (the
   * CO then stops retrying); the call must be idempotent (applying the same values again is
   * POLYCSI_OK). A plugin that marks parameters mutable must have it; one that marks none
   * leaves it NULL. THREADING: as the other controller calls. */
  polycsi_code (*modify_volume)(polycsi_instance*, const polycsi_modify_volume_request*,
                                polycsi_status_result*);
  /* ---- since ABI 1.3: topology and capacity ---- */
  /* Optional (since 1.3). The volume create_volume made (or would return) for `req->name`, or
   * NOT_FOUND when there is none; never creates, changes or deletes anything. Required of every
   * backend a StorageClass lists in `backends` (the core refuses such a class otherwise): it is
   * how a retried CreateVolume finds the backend the first attempt chose. THREADING: as the
   * other controller calls. IDEMPOTENT: no side effects. */
  polycsi_code (*find_volume)(polycsi_instance*, const polycsi_find_volume_request*,
                              polycsi_volume_result*);
  /* ---- since ABI 1.3: volume health ---- */
  /* Optional (since 1.3). The controller-side condition of each volume in `req` (CSI
   * VOLUME_CONDITION for ControllerGetVolume and ListVolumes): whether the backend still holds it
   * as the core expects, including whether the nodes the storage system lets in equal
   * `published_nodes`. One call per ListVolumes page, so a plugin should answer from one listing
   * of its backend rather than one round trip per volume. A volume the backend does not have is
   * an abnormal condition, not an error; a backend that cannot be reached is an abnormal condition
   * per volume naming the backend (CSI: the condition describes the volume, and ListVolumes must
   * still page), so an error return is kept for a broken request or a plugin fault. THREADING: may
   * run concurrently with calls on other volumes and with calls on the same volumes (it only
   * reads). IDEMPOTENT: reads only. */
  polycsi_code (*controller_volume_condition)(polycsi_instance*,
                                              const polycsi_controller_condition_request* req,
                                              polycsi_controller_condition_result* out);
  /* ---- since ABI 1.4: crash-consistent group snapshots ---- */
  /* Optional (since 1.4; both or none, and only with the snapshot functions). Takes one snapshot
   * of every member of `req` at one instant (the plugin declares
   * POLYCSI_GROUP_CONSISTENCY_CRASH_CONSISTENT; the core calls it only then, and builds the group
   * from create_snapshot calls otherwise). `out` holds exactly `member_count` snapshots in the
   * request's member order, each of its member's volume, with `group_snapshot_ids` non-NULL and
   * every entry equal to `req->group_snapshot_id`; next_token is empty. The members are then
   * ordinary snapshots: list_snapshots reports them with the group id, create_volume_from_snapshot
   * restores them. IDEMPOTENT: a retry with the same group id returns the same snapshots. On
   * error nothing of the call is left on the storage system (no member snapshot, no helper
   * object), so the core has nothing to roll back. THREADING: the core holds the group's lock;
   * it may run concurrently with calls on other volumes, including the members' volumes. */
  polycsi_code (*create_group_snapshot)(polycsi_instance*,
                                        const polycsi_create_group_snapshot_request* req,
                                        polycsi_snapshot_list_result* out);
  /* Optional (since 1.4; with create_group_snapshot). Deletes every member of the group
   * `req->group_snapshot_id` and whatever the storage system keeps for it, for storage systems
   * that refuse to delete one member of a group on its own (delete_snapshot of such a member
   * fails with INVALID_ARGUMENT, CSI's "snapshot is part of a group"). Gone already is
   * POLYCSI_OK; members an older plugin took one by one under this id are deleted too.
   * IDEMPOTENT. THREADING: as create_group_snapshot. */
  polycsi_code (*delete_group_snapshot)(polycsi_instance*,
                                        const polycsi_group_snapshot_id_request* req,
                                        polycsi_status_result* out);
} polycsi_plugin_api;

/* The exported entry point's type. Returns the static table; never NULL. */
typedef const polycsi_plugin_api* (*polycsi_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* POLYCSI_PLUGIN_ABI_H_ */
