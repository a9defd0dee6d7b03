#include "tests/agent/agent_process.h"

#include <signal.h>

#include <fstream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/testing/execute_output.h"
#include "agent/testing/process_table.h"
#include "common/rpc/grpc_status.h"
#include "common/sync/poll.h"

namespace cloudlet::agent_test {

absl::StatusOr<std::unique_ptr<AgentProcess>> AgentProcess::Start(
    AgentProcessOptions options) {
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-agent-test-");
  if (!dir.ok()) return dir.status();
  std::filesystem::path port_file = dir->path() / "port";
  std::error_code error;
  std::filesystem::create_directories(dir->path() / "work", error);
  if (error) return absl::InternalError(error.message());

  SpawnOptions spawn;
  spawn.argv = {CLOUDLET_AGENT_BINARY, "--listen=127.0.0.1:0",
                absl::StrCat("--port_file=", port_file.string()),
                absl::StrCat("--work_root=", (dir->path() / "work").string())};
  spawn.argv.insert(spawn.argv.end(), options.flags.begin(),
                    options.flags.end());
  spawn.env = options.env;
  spawn.stdout_mode = StdioMode::kInherit;
  spawn.stderr_mode = StdioMode::kInherit;
  absl::StatusOr<ChildProcess> process = ChildProcess::Spawn(spawn);
  if (!process.ok()) return process.status();
  std::unique_ptr<AgentProcess> agent(
      new AgentProcess(*std::move(dir), *std::move(process)));

  absl::Time deadline = absl::Now() + absl::Seconds(20);
  int port = 0;
  absl::Status ready = PollUntil(
      "the agent's port file", deadline, [&]() -> absl::StatusOr<bool> {
        if (agent->process_.HasExited()) {
          return absl::UnavailableError(absl::StrCat(
              "the agent exited: ", agent->process_.Wait().ToString()));
        }
        std::ifstream file(port_file);
        return static_cast<bool>(file >> port) && port > 0;
      });
  if (!ready.ok()) return ready;

  agent->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                        grpc::InsecureChannelCredentials());
  agent->stub_ = v1::WorkloadRunner::NewStub(agent->channel_);
  ready =
      PollUntil("the agent's Health", deadline, [&]() -> absl::StatusOr<bool> {
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
        v1::AgentHealthResponse response;
        grpc::Status status =
            agent->stub_->Health(&context, v1::AgentHealthRequest(), &response);
        return status.ok() && response.serving();
      });
  if (!ready.ok()) return ready;
  return agent;
}

absl::StatusOr<ExitStatus> AgentProcess::Terminate(absl::Duration timeout) {
  if (absl::Status s = process_.SignalGroup(SIGTERM); !s.ok()) return s;
  return process_.WaitFor(timeout);
}

std::string RunRecord::Output(v1::Stage stage, v1::Stream stream) const {
  return agent::ConcatOutput(events, stage, stream);
}

std::string RunRecord::Summary() const {
  std::string summary = absl::StrCat("status=", status.error_code(), " \"",
                                     status.error_message(), "\" events:");
  for (const v1::ExecuteEvent& event : events) {
    if (event.has_output()) {
      absl::StrAppend(&summary, "\n  output ",
                      v1::Stage_Name(event.output().stage()), " ",
                      v1::Stream_Name(event.output().stream()), ": ",
                      event.output().data().substr(0, 300));
    } else {
      absl::StrAppend(&summary, "\n  ", event.ShortDebugString());
    }
  }
  return summary;
}

RunRecord Execute(v1::WorkloadRunner::Stub& stub,
                  const v1::ExecuteRequest& request, absl::Duration deadline,
                  const EventHook& on_event) {
  RunRecord record;
  grpc::ClientContext context;
  absl::Time start = absl::Now();
  context.set_deadline(absl::ToChronoTime(start + deadline));
  std::unique_ptr<grpc::ClientReader<v1::ExecuteEvent>> reader =
      stub.Execute(&context, request);
  v1::ExecuteEvent event;
  while (reader->Read(&event)) {
    record.arrivals.push_back(absl::Now());
    record.events.push_back(event);
    if (event.has_result()) record.result = event.result();
    if (on_event) on_event(event, context);
  }
  record.status = reader->Finish();
  record.elapsed = absl::Now() - start;
  return record;
}

v1::ExecuteRequest Request(v1::Language language, std::string code) {
  v1::ExecuteRequest request;
  request.mutable_workload()->set_name("test");
  request.mutable_workload()->set_language(language);
  request.mutable_workload()->set_action(v1::PREPARE_AND_RUN);
  request.mutable_workload()->set_code(std::move(code));
  return request;
}

bool GroupGoneWithin(pid_t pgid, absl::Duration timeout) {
  return PollUntil(
             "process group gone", absl::Now() + timeout,
             [&] { return agent::testing::LiveProcessesInGroup(pgid).empty(); })
      .ok();
}

}  // namespace cloudlet::agent_test
