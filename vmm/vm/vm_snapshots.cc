#include "vmm/vm/vm_snapshots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/guest_console.h"
#include "common/sync/poll.h"
#include "common/process/subprocess.h"
#include "common/process/unique_fd.h"
#include "spdlog/spdlog.h"
#include "vmm/artifacts/artifact_inputs.h"
#include "common/sync/cancel.h"
#include "vmm/qemu/qmp_client.h"
#include "common/run_limits.h"

namespace cloudlet::vmm {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

// Saving and loading move ~50 kB of device state: milliseconds.
constexpr absl::Duration kMigrationTimeout = absl::Seconds(30);
constexpr char kStateFdName[] = "cloudlet-state";

// Starts `command` ("migrate" to save, "migrate-incoming" to load) through
// `state_fd`, of which QEMU gets a duplicate. Only the device state travels
// in the stream: the RAM is the snapshot's memory file, which the source
// and every resumed VM map (x-ignore-shared, set on both sides).
absl::Status MigrateThroughFd(QmpClient& qmp, absl::string_view command,
                              int state_fd, absl::Time deadline) {
  pb::Struct capability;
  (*capability.mutable_fields())["capability"].set_string_value(
      "x-ignore-shared");
  (*capability.mutable_fields())["state"].set_bool_value(true);
  pb::Struct capabilities;
  *(*capabilities.mutable_fields())["capabilities"]
       .mutable_list_value()
       ->add_values()
       ->mutable_struct_value() = capability;
  absl::Status status =
      qmp.Execute("migrate-set-capabilities", capabilities, deadline).status();
  if (status.ok()) status = qmp.SendFd(kStateFdName, state_fd, deadline);
  if (!status.ok()) return status;
  pb::Struct uri;
  (*uri.mutable_fields())["uri"].set_string_value(
      absl::StrCat("fd:", kStateFdName));
  return qmp.Execute(command, uri, deadline).status();
}

// Polls `query` (query-migrate or query-status) until `done` says the
// reply is final; returns that reply's fields.
absl::StatusOr<pb::Struct> PollQmp(
    QmpClient& qmp, absl::string_view query, absl::Time deadline,
    const std::function<bool(const pb::Struct&)>& done) {
  pb::Struct last;
  absl::Status polled = PollUntil(
      query, deadline,
      [&]() -> absl::StatusOr<bool> {
        absl::StatusOr<pb::Value> reply = qmp.Execute(query, deadline);
        if (!reply.ok()) return reply.status();
        last = reply->struct_value();
        return done(last);
      },
      absl::Milliseconds(1), absl::Milliseconds(20));
  if (!polled.ok()) return polled;
  return last;
}

std::string StringField(const pb::Struct& reply, const std::string& name) {
  auto it = reply.fields().find(name);
  return it == reply.fields().end() ? "" : it->second.string_value();
}

// Waits for the agent's serving line on `vm`'s console.
absl::Status AwaitAgentServing(const QemuProcess& vm, absl::Time deadline,
                               const CancelToken& cancel) {
  for (;;) {
    if (cancel.cancelled()) {
      return absl::CancelledError("cancelled while making a VM snapshot");
    }
    absl::Status seen = vm.AwaitConsoleText(
        kAgentServingLine,
        std::min(deadline, absl::Now() + CancelToken::kPollInterval));
    if (seen.ok() || !absl::IsDeadlineExceeded(seen)) return seen;
    if (absl::Now() >= deadline) return seen;
  }
}

// The host CPU's model name and feature flags (/proc/cpuinfo, first CPU).
std::string HostCpuFlags() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, found;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("flags", 0) == 0) {
      absl::StrAppend(&found, line, "\n");
    }
    if (line.empty() && !found.empty()) break;  // end of the first CPU
  }
  return found;
}

// The cache entries (parent directory names) of the VM's files.
std::string InputEntries(const VmSpec& spec) {
  std::vector<std::string> entries;
  for (const fs::path& file : {spec.kernel, spec.initramfs, spec.image}) {
    if (!file.empty()) entries.push_back(file.parent_path().filename());
  }
  return absl::StrCat(absl::StrJoin(entries, "\n"), "\n");
}

}  // namespace

VmSnapshots::VmSnapshots(std::shared_ptr<CacheStore> store)
    : store_(std::move(store)) {}

absl::StatusOr<std::string> VmSnapshots::Key(const VmSpec& spec) {
  std::string version;
  {
    absl::MutexLock lock(&mutex_);
    if (!qemu_version_) {
      SpawnOptions options;
      options.argv = {"qemu-system-x86_64", "-version"};
      absl::StatusOr<CommandResult> result =
          RunCommand(options, absl::Seconds(30));
      if (!result.ok()) return result.status();
      if (!result->status.success()) {
        return absl::InternalError(
            absl::StrCat("qemu-system-x86_64 -version: ", result->output));
      }
      qemu_version_ = result->output;
    }
    version = *qemu_version_;
  }
  // KVM runs the guest on the host's own CPU model (-cpu host): a state
  // saved on one CPU may not run on another, so the CPU is part of the key.
  std::string cpu;
  if (spec.accel == Accel::kKvm) cpu = HostCpuFlags();
  VmSpec shape = spec;
  shape.host_port = 0;
  shape.name.clear();
  shape.snapshot_role = SnapshotRole::kSource;
  shape.snapshot_dir.clear();
  return Sha256Hex(absl::StrCat("cloudlet-snapshot-v1\n", version, "\n",
                                cpu, "\n",
                                absl::StrJoin(QemuCommand(shape), "\n")));
}

absl::StatusOr<VmSnapshot> VmSnapshots::Ensure(
    const VmSpec& spec, const fs::path& runtime_dir, absl::Time deadline,
    const CancelToken& cancel) {
  absl::StatusOr<std::string> key = Key(spec);
  if (!key.ok()) return key.status();
  const EntryKey entry_key{kSnapshotEntryKind, *key, "state"};
  absl::Time start = absl::Now();
  CacheStore::BuildOptions options;
  options.deadline = deadline;
  options.cancel = cancel;
  bool made = false;
  absl::StatusOr<CacheEntry> entry = store_->FindOrBuild(
      entry_key,
      [&](const fs::path& out) -> absl::Status {
        VmSpec source = spec;
        source.name = CacheStore::EntryName(entry_key);
        if (absl::Status created =
                Create(source, out, runtime_dir, deadline, cancel);
            !created.ok()) {
          return created;
        }
        std::ofstream inputs(out / kSnapshotInputsFile);
        inputs << InputEntries(spec);
        if (!inputs.flush()) {
          return absl::InternalError(
              "cannot write the snapshot's inputs file");
        }
        return absl::OkStatus();
      },
      options, &made);
  if (!entry.ok()) return entry.status();
  if (made) {
    struct stat st;
    uintmax_t ram_bytes = 0;
    if (::stat((entry->dir / "ram").c_str(), &st) == 0) {
      ram_bytes = static_cast<uintmax_t>(st.st_blocks) * 512;
    }
    spdlog::info("event=snapshot_made snapshot={} ms={} ram_on_disk={}",
                 entry->name, absl::ToInt64Milliseconds(absl::Now() - start),
                 FormatSize(ram_bytes));
  }
  return VmSnapshot{entry->name, entry->dir, entry->lease};
}

absl::Status VmSnapshots::Create(VmSpec spec, const fs::path& dir,
                                 const fs::path& runtime_dir,
                                 absl::Time deadline,
                                 const CancelToken& cancel) {
  spec.snapshot_role = SnapshotRole::kSource;
  spec.snapshot_dir = dir;
  absl::StatusOr<std::unique_ptr<QemuProcess>> vm =
      QemuProcess::Start(spec, runtime_dir);
  if (!vm.ok()) return vm.status();
  if (absl::Status serving = AwaitAgentServing(**vm, deadline, cancel);
      !serving.ok()) {
    return absl::Status(
        serving.code(),
        absl::StrCat("the snapshot's VM did not get its agent serving: ",
                     serving.message(), "; console:\n", (*vm)->ConsoleTail(kConsoleTailLines)));
  }
  // The VM was never connected to: the saved network holds no connection.
  absl::Time migration_deadline =
      std::min(deadline, absl::Now() + kMigrationTimeout);
  absl::StatusOr<QmpClient> qmp =
      QmpClient::Connect((*vm)->dir(), kQmpSocketName, migration_deadline);
  if (!qmp.ok()) return qmp.status();
  UniqueFd state(::open((dir / "state").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!state) {
    return absl::InternalError(
        absl::StrCat("cannot create the snapshot state file: ",
                     std::strerror(errno)));
  }
  absl::Status status = qmp->Execute("stop", migration_deadline).status();
  if (status.ok()) {
    status = MigrateThroughFd(*qmp, "migrate", state.get(), migration_deadline);
  }
  if (!status.ok()) return status;
  absl::StatusOr<pb::Struct> migration = PollQmp(
      *qmp, "query-migrate", migration_deadline, [](const pb::Struct& reply) {
        std::string stage = StringField(reply, "status");
        return stage == "completed" || stage == "failed" ||
               stage == "cancelled";
      });
  if (!migration.ok()) return migration.status();
  if (StringField(*migration, "status") != "completed") {
    return absl::InternalError(absl::StrCat(
        "QEMU could not save the VM: ",
        StringField(*migration, "error-desc").empty()
            ? StringField(*migration, "status")
            : StringField(*migration, "error-desc")));
  }
  // QEMU has written and closed its copy of the fd; ours is flushed by the
  // kernel. The source VM is killed with `vm`; its RAM is in the file.
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<QemuProcess>> VmSnapshots::Resume(
    VmSpec spec, const VmSnapshot& snapshot, const fs::path& runtime_dir,
    absl::Time deadline) {
  spec.snapshot_role = SnapshotRole::kResume;
  spec.snapshot_dir = snapshot.dir;
  UniqueFd state(::open((snapshot.dir / "state").c_str(), O_RDONLY | O_CLOEXEC));
  if (!state) {
    return absl::InternalError(absl::StrCat(
        "cannot open the snapshot state: ", std::strerror(errno)));
  }
  absl::StatusOr<std::unique_ptr<QemuProcess>> vm =
      QemuProcess::Start(spec, runtime_dir);
  if (!vm.ok()) return vm.status();
  absl::Time migration_deadline =
      std::min(deadline, absl::Now() + kMigrationTimeout);
  absl::StatusOr<QmpClient> qmp =
      QmpClient::Connect((*vm)->dir(), kQmpSocketName, migration_deadline);
  if (!qmp.ok()) return qmp.status();
  if (absl::Status status = MigrateThroughFd(*qmp, "migrate-incoming",
                                             state.get(), migration_deadline);
      !status.ok()) {
    return status;
  }
  // QEMU exits when the state does not load; once it is loaded the guest
  // runs (the source saved no run state, see QemuCommand).
  absl::StatusOr<pb::Struct> running = PollQmp(
      *qmp, "query-status", migration_deadline, [](const pb::Struct& reply) {
        return StringField(reply, "status") != "inmigrate";
      });
  if (!running.ok()) {
    return absl::DataLossError(
        absl::StrCat("QEMU did not load the snapshot ", snapshot.entry, ": ",
                     running.status().message(), "; QEMU said:\n",
                     (*vm)->ConsoleTail(kConsoleTailLines)));
  }
  if (StringField(*running, "status") != "running") {
    return absl::DataLossError(
        absl::StrCat("the VM resumed from ", snapshot.entry, " is ",
                     StringField(*running, "status"), ", not running"));
  }
  return vm;
}

void VmSnapshots::Discard(VmSnapshot snapshot) {
  snapshot.lease.reset();
  // In use elsewhere: whoever fails to load it last discards it.
  if (store_->Remove(snapshot.entry).ok()) {
    spdlog::warn("event=snapshot_discarded snapshot={}", snapshot.entry);
  }
}

bool SnapshotIsCurrent(const fs::path& entry_dir,
                       const std::set<std::string>& current_entries) {
  std::ifstream inputs(entry_dir / kSnapshotInputsFile);
  if (!inputs) return false;
  std::string input;
  while (std::getline(inputs, input)) {
    if (!input.empty() && current_entries.count(input) == 0) return false;
  }
  return true;
}

}  // namespace cloudlet::vmm
