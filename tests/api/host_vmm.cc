#include "tests/api/host_vmm.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

extern char** environ;

namespace cloudlet::testing {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  int64_t ns = absl::ToInt64Nanoseconds(d);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::optional<grpc::StatusCode> CodeNamed(const std::string& name) {
  for (int code = 1; code <= 16; ++code) {
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) == name) {
      return static_cast<grpc::StatusCode>(code);
    }
  }
  return std::nullopt;
}

v1::RunEvent StageEvent(v1::Stage stage) {
  v1::RunEvent event;
  event.mutable_stage()->set_stage(stage);
  return event;
}

}  // namespace

grpc::Status HostVmm::Run(grpc::ServerContext* context,
                          const v1::RunRequest* request,
                          grpc::ServerWriter<v1::RunEvent>* writer) {
  absl::Time start = absl::Now();
  const v1::Workload& workload = request->workload();
  if (auto it = workload.env().find("HOST_VMM_FAIL");
      it != workload.env().end()) {
    std::optional<grpc::StatusCode> code = CodeNamed(it->second);
    if (code.has_value()) return grpc::Status(*code, "scripted failure");
  }
  std::string program;
  std::string file;
  if (workload.language() == v1::SHELL) {
    program = "sh";
    file = "main.sh";
  } else if (workload.language() == v1::PYTHON) {
    program = "python3";
    file = "main.py";
  } else {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the host VMM runs shell and python only");
  }
  {
    absl::MutexLock lock(&mu_);
    last_request_ = *request;
    if (running_ >= options_.max_runs) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("all ", options_.max_runs,
                                       " VM slots are busy and the queue is "
                                       "full; retry later"));
    }
    ++started_;
    ++running_;
  }
  struct Leave {
    HostVmm* vmm;
    bool cancelled = false;
    ~Leave() {
      absl::MutexLock lock(&vmm->mu_);
      --vmm->running_;
      if (cancelled) ++vmm->cancelled_;
    }
  } leave{this};

  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-host-vmm-");
  if (!dir.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "temp dir");
  std::ofstream(dir->path() / file, std::ios::binary) << workload.code();

  SpawnOptions spawn;
  spawn.argv = {program, file};
  for (const std::string& arg : workload.args()) spawn.argv.push_back(arg);
  spawn.cwd = dir->path();
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& [key, value] : workload.env()) {
    env.push_back(absl::StrCat(key, "=", value));
  }
  spawn.env = env;
  spawn.stdin_mode = workload.stdin().empty() ? StdioMode::kNull
                                              : StdioMode::kPipe;

  v1::RunEvent event;
  std::string run_id = NewRunId();
  event.mutable_accepted()->set_run_id(run_id);
  writer->Write(event);
  writer->Write(StageEvent(v1::BOOTING));
  event.Clear();
  event.mutable_booted()->set_accel("host");
  event.mutable_booted()->set_memory_mib(request->vm().memory_mib());
  writer->Write(event);

  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(spawn);
  if (!child.ok()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        std::string(child.status().message()));
  }
  if (!workload.stdin().empty()) {
    (void)!::write(child->stdin_pipe().get(), workload.stdin().data(),
                   workload.stdin().size());
    child->stdin_pipe().Reset();
  }
  writer->Write(StageEvent(v1::RUNNING));

  absl::Duration timeout = workload.has_timeout()
                               ? FromProto(workload.timeout())
                               : absl::Minutes(5);
  absl::Time deadline = absl::Now() + timeout;
  v1::Result result;
  result.set_ended_in(v1::RUNNING);
  bool open_out = true, open_err = true;
  char buffer[16 * 1024];
  while (open_out || open_err) {
    if (context->IsCancelled()) {
      child->Kill();
      leave.cancelled = true;
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    }
    if (absl::Now() >= deadline) {
      child->Kill();
      result.set_status(v1::FAILED);
      result.set_reason(v1::TIMEOUT);
      result.set_message(
          absl::StrCat("timed out after ", absl::FormatDuration(timeout)));
      break;
    }
    pollfd fds[2] = {
        {.fd = open_out ? child->stdout_pipe().get() : -1, .events = POLLIN,
         .revents = 0},
        {.fd = open_err ? child->stderr_pipe().get() : -1, .events = POLLIN,
         .revents = 0}};
    if (::poll(fds, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? open_out : open_err) = false;
        continue;
      }
      event.Clear();
      event.mutable_output()->set_stage(v1::RUNNING);
      event.mutable_output()->set_stream(i == 0 ? v1::STDOUT : v1::STDERR);
      event.mutable_output()->set_data(buffer, static_cast<size_t>(n));
      if (!writer->Write(event)) {
        child->Kill();
        leave.cancelled = true;
        return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
      }
    }
  }
  if (result.reason() == v1::REASON_UNSPECIFIED) {
    ExitStatus status = child->Wait();
    result.set_status(v1::DONE);
    result.set_reason(v1::EXITED);
    if (status.killed_by_signal()) {
      result.set_signal(status.signal);
    } else {
      result.set_exit_code(status.code);
    }
  }
  writer->Write(StageEvent(result.status()));
  SetDuration(absl::Now() - start, result.mutable_timings()->mutable_total());
  event.Clear();
  *event.mutable_result() = result;
  writer->Write(event);
  return grpc::Status::OK;
}

grpc::Status HostVmm::Shutdown(grpc::ServerContext*, const v1::ShutdownRequest*,
                               v1::ShutdownResponse* response) {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    response->set_running_runs(static_cast<uint32_t>(running_));
  }
  if (options_.on_shutdown) options_.on_shutdown();
  return grpc::Status::OK;
}

grpc::Status HostVmm::Health(grpc::ServerContext*, const v1::VmmHealthRequest*,
                             v1::VmmHealthResponse* response) {
  absl::MutexLock lock(&mu_);
  response->set_ready(!shutdown_);
  response->set_shutting_down(shutdown_);
  response->set_running_runs(static_cast<uint32_t>(running_));
  response->set_max_vms(static_cast<uint32_t>(options_.max_runs));
  response->set_accel("host");
  response->set_version("host-vmm");
  return grpc::Status::OK;
}

int HostVmm::runs_started() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

int HostVmm::runs_running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

int HostVmm::runs_cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool HostVmm::shutdown_requested() const {
  absl::MutexLock lock(&mu_);
  return shutdown_;
}

v1::RunRequest HostVmm::last_request() const {
  absl::MutexLock lock(&mu_);
  return last_request_;
}

bool HostVmm::WaitForCancelled(int count, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return cancelled_ >= count;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
}

absl::StatusOr<std::unique_ptr<HostVmmServer>> HostVmmServer::Start(
    int port, HostVmm::Options options) {
  auto server = std::unique_ptr<HostVmmServer>(new HostVmmServer());
  server->vmm_ = std::make_unique<HostVmm>(std::move(options));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                           grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->vmm_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("host VMM cannot listen on 127.0.0.1:", port));
  }
  return server;
}

HostVmmServer::~HostVmmServer() { Stop(); }

std::string HostVmmServer::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void HostVmmServer::Stop(absl::Duration deadline) {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + deadline));
  server_->Wait();
  server_.reset();
}

}  // namespace cloudlet::testing
