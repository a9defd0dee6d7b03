#include "agent/service/run_registry.h"

#include <signal.h>
#include <string.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace cloudlet::agent {
namespace {

// sigdescr_np is the thread-safe strsignal.
absl::string_view SignalDescription(int signal) {
  const char* description = ::sigdescr_np(signal);
  return description != nullptr ? description : "unknown signal";
}

}  // namespace

RunRegistry::Registration::Registration(Registration&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)),
      control_(std::move(other.control_)) {}

RunRegistry::Registration::~Registration() {
  if (registry_ != nullptr) registry_->Unregister(control_->run_id());
}

absl::StatusOr<RunRegistry::Registration> RunRegistry::Register(
    const std::string& run_id) {
  absl::StatusOr<std::shared_ptr<RunControl>> control =
      RunControl::Create(run_id);
  if (!control.ok()) return control.status();
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::UnavailableError("the agent is shutting down");
  }
  if (runs_.contains(run_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("run ", run_id, " is already running; use a new run_id"));
  }
  if (runs_.size() >= max_runs_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the agent already runs ", runs_.size(),
                     " workloads, its limit; retry when one has finished"));
  }
  runs_.emplace(run_id, *control);
  return Registration(this, *std::move(control));
}

absl::Status RunRegistry::Signal(const std::string& run_id, int signal) {
  if (signal < 0 || signal >= NSIG) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal ", signal, " is not a signal number"));
  }
  if (signal == 0) signal = SIGKILL;
  std::shared_ptr<RunControl> control;
  {
    absl::MutexLock lock(&mu_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no run ", run_id, " is running on this agent"));
    }
    control = it->second;
  }
  control->RequestStop(StopRequest{
      .signal = signal,
      .reason = v1::CANCELLED,
      .message = absl::StrCat("cancelled: signal ", signal, " (",
                              SignalDescription(signal), ") sent by Signal")});
  return absl::OkStatus();
}

void RunRegistry::StopAll(v1::Reason reason, const std::string& message) {
  std::vector<std::shared_ptr<RunControl>> controls;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const auto& [id, control] : runs_) controls.push_back(control);
  }
  for (const auto& control : controls) {
    control->RequestStop(
        StopRequest{.signal = SIGKILL, .reason = reason, .message = message});
  }
}

size_t RunRegistry::active_runs() const {
  absl::MutexLock lock(&mu_);
  return runs_.size();
}

bool RunRegistry::accepting() const {
  absl::MutexLock lock(&mu_);
  return !stopping_;
}

void RunRegistry::Unregister(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  runs_.erase(run_id);
}

}  // namespace cloudlet::agent
