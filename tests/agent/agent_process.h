#ifndef CLOUDLET_TESTS_AGENT_AGENT_PROCESS_H_
#define CLOUDLET_TESTS_AGENT_AGENT_PROCESS_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent.grpc.pb.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"

namespace cloudlet::agent_test {

struct AgentProcessOptions {
  // Flags added to --listen, --port_file and --work_root.
  std::vector<std::string> flags;
  // The agent's whole environment; nullopt inherits the test's.
  std::optional<std::vector<std::string>> env;
};

inline AgentProcessOptions WithFlags(std::vector<std::string> flags) {
  AgentProcessOptions options;
  options.flags = std::move(flags);
  return options;
}

// The real cloudlet-agent binary, serving on a free loopback port with a
// private work root, as a client (the VMM) sees it. Its log goes to the
// test's stderr. Destroying it kills the agent's process group.
class AgentProcess {
 public:
  // Starts the agent and waits (polling Health, 20 s at most) until it
  // answers.
  static absl::StatusOr<std::unique_ptr<AgentProcess>> Start(
      AgentProcessOptions options = {});

  v1::WorkloadRunner::Stub& stub() { return *stub_; }
  pid_t pid() const { return process_.pid(); }
  // Where the agent creates its runs' work dirs; empty between runs.
  std::filesystem::path work_root() const { return dir_.path() / "work"; }

  // Sends SIGTERM and waits up to `timeout` for the agent to exit.
  absl::StatusOr<ExitStatus> Terminate(absl::Duration timeout);

 private:
  AgentProcess(TempDir dir, ChildProcess process)
      : dir_(std::move(dir)), process_(std::move(process)) {}

  TempDir dir_;
  ChildProcess process_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkloadRunner::Stub> stub_;
};

// What one Execute call delivered.
struct RunRecord {
  grpc::Status status;
  std::vector<v1::ExecuteEvent> events;
  std::vector<absl::Time> arrivals;  // when each event was received
  std::optional<v1::Result> result;
  absl::Duration elapsed;  // call start to stream end

  // The data of all chunks of `stream` in `stage`, concatenated.
  std::string Output(v1::Stage stage, v1::Stream stream) const;
  // "ACCEPTED STAGE(BUILDING) OUTPUT ... RESULT": for failure messages.
  std::string Summary() const;
};

// Called for each event as it arrives; may cancel the call via `context`.
using EventHook =
    std::function<void(const v1::ExecuteEvent&, grpc::ClientContext& context)>;

// Calls Execute with a `deadline` and collects the stream.
RunRecord Execute(v1::WorkloadRunner::Stub& stub,
                  const v1::ExecuteRequest& request,
                  absl::Duration deadline = absl::Seconds(60),
                  const EventHook& on_event = nullptr);

// A request for `code` in `language` (PREPARE_AND_RUN).
v1::ExecuteRequest Request(v1::Language language, std::string code);

// Waits up to `timeout` until process group `pgid` has no live process.
bool GroupGoneWithin(pid_t pgid, absl::Duration timeout);

}  // namespace cloudlet::agent_test

#endif  // CLOUDLET_TESTS_AGENT_AGENT_PROCESS_H_
