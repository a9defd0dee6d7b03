#include "cli/output/exit_codes.h"

#include <string.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/workload_names.h"

namespace cloudlet::cli {
namespace {

std::string WithMessage(absl::string_view what, const v1::Result& result) {
  if (result.message().empty()) return std::string(what);
  return absl::StrCat(what, ": ", result.message());
}

}  // namespace

int ExitCodeForResult(const v1::Result& result) {
  switch (result.reason()) {
    case v1::EXITED:
    case v1::REASON_UNSPECIFIED:
      if (result.termination_case() == v1::Result::kSignal) {
        return 128 + result.signal();
      }
      if (result.termination_case() == v1::Result::kExitCode) {
        return result.exit_code() & 0xff;
      }
      return result.status() == v1::DONE ? 0 : kExitPlatformFailure;
    case v1::BUILD_FAILED:
      if (result.termination_case() == v1::Result::kExitCode &&
          (result.exit_code() & 0xff) != 0) {
        return result.exit_code() & 0xff;
      }
      return 1;
    case v1::TIMEOUT:
      return kExitTimeout;
    case v1::CANCELLED:
      return kExitInterrupted;
    default:
      return kExitPlatformFailure;
  }
}

int ExitCodeForError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitPlatformFailure;
  }
}

std::string DescribeResult(const v1::Result& result) {
  switch (result.reason()) {
    case v1::EXITED:
    case v1::REASON_UNSPECIFIED:
      if (result.termination_case() == v1::Result::kSignal) {
        // The agent's message says the signal and why when it knows (e.g.
        // the guest's OOM killer); prefer it to the bare signal.
        if (!result.message().empty()) return result.message();
        return absl::StrCat("workload killed by signal ", result.signal(), " (",
                            ::strsignal(result.signal()), ")");
      }
      if (result.termination_case() == v1::Result::kExitCode ||
          result.status() == v1::DONE) {
        return "";
      }
      return WithMessage("the run failed", result);
    case v1::BUILD_FAILED:
      if (result.termination_case() == v1::Result::kExitCode) {
        return WithMessage(
            absl::StrCat("build failed (exit code ", result.exit_code(), ")"),
            result);
      }
      return WithMessage("build failed", result);
    case v1::TIMEOUT:
      return WithMessage("timed out", result);
    case v1::CANCELLED:
      return WithMessage("cancelled", result);
    case v1::OUTPUT_LIMIT:
      return WithMessage("output limit reached", result);
    default:
      return WithMessage(absl::StrReplaceAll(ReasonName(result.reason()),
                                             {{"_", " "}}),
                         result);
  }
}

}  // namespace cloudlet::cli
