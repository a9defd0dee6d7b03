#include "tests/hardening/hardening_support.h"

#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <fstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/api/http_client.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void ListTree(const fs::path& root, const fs::path& dir,
              std::vector<std::string>& out) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    out.push_back(fs::relative(entry.path(), root, error).string());
    if (entry.is_directory(error) && !entry.is_symlink(error)) {
      ListTree(root, entry.path(), out);
    }
  }
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HardenedChain>> HardenedChain::Start(
    Chain::Options options) {
  absl::StatusOr<TempDir> tmp = TempDir::Create("cloudlet-hardening-");
  if (!tmp.ok()) return tmp.status();
  std::unique_ptr<HardenedChain> hardened(new HardenedChain);
  hardened->tmp_ = std::make_unique<TempDir>(*std::move(tmp));
  hardened->runtime_dir_ = hardened->tmp_->path() / "runtime";
  // A later flag wins: this replaces the chain's own --runtime_dir.
  options.vmm_flags.push_back(
      absl::StrCat("--runtime_dir=", hardened->runtime_dir_.string()));
  ScopedEnv tmpdir("TMPDIR", hardened->tmp_->path().string());
  absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start(options);
  if (!chain.ok()) return chain.status();
  hardened->chain_ = *std::move(chain);
  return hardened;
}

HardenedChain::~HardenedChain() { chain_.reset(); }

std::vector<std::string> HardenedChain::Leftovers() const {
  std::vector<std::string> left;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(tmp_->path(), error)) {
    std::string name = entry.path().filename().string();
    // The chain's own dir (port file) and the runtime dir itself.
    if (absl::StartsWith(name, "cloudlet-e2e-") || name == "runtime") continue;
    left.push_back(name);
  }
  ListTree(tmp_->path(), runtime_dir_, left);
  return left;
}

v1::RunRequest MakeRun(v1::Language language, std::string code,
                       absl::Duration timeout, uint64_t output_limit_bytes) {
  v1::RunRequest request;
  v1::Workload& workload = *request.mutable_workload();
  workload.set_language(language);
  workload.set_code(std::move(code));
  if (timeout > absl::ZeroDuration()) {
    int64_t ms = absl::ToInt64Milliseconds(timeout);
    workload.mutable_timeout()->set_seconds(ms / 1000);
    workload.mutable_timeout()->set_nanos(static_cast<int32_t>(ms % 1000) *
                                          1000000);
  }
  workload.set_output_limit_bytes(output_limit_bytes);
  return request;
}

std::string StreamedRun::Summary() const {
  if (http_status != 200) {
    return absl::StrCat("HTTP ", http_status, ": ", error_body);
  }
  std::string summary = "no result";
  if (result) {
    summary = absl::StrCat(
        v1::Stage_Name(result->status()), " ",
        v1::Reason_Name(result->reason()), " in ",
        v1::Stage_Name(result->ended_in()),
        result->has_signal() ? absl::StrCat(" signal=", result->signal())
                             : absl::StrCat(" exit_code=", result->exit_code()),
        ": \"", result->message(), "\"");
    if (!result->console_tail().empty()) {
      absl::StrAppend(&summary, "\nconsole tail:\n", result->console_tail());
    }
  }
  return absl::StrCat(summary, " after ", absl::FormatDuration(wall),
                      "\nstdout: ", Tail(out, 400), "\nstderr: ",
                      Tail(err, 800));
}

absl::StatusOr<StreamedRun> RunThroughApi(
    const std::string& api_url, const v1::RunRequest& request,
    absl::Duration client_timeout,
    const std::function<void(const v1::RunEvent&)>& on_event) {
  std::string body;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(request, &body, print)
           .ok()) {
    return absl::InternalError("cannot encode the RunRequest as JSON");
  }
  StreamedRun run;
  size_t consumed = 0;  // bytes of the body already parsed into events
  absl::Status parse_error;
  // Parses the complete SSE frames that arrived since the last call.
  auto take_frames = [&](const std::string& so_far) {
    size_t end = so_far.rfind("\n\n");
    if (end == std::string::npos || end + 2 <= consumed) return;
    absl::string_view fresh(so_far.data() + consumed, end - consumed);
    consumed = end + 2;
    for (absl::string_view frame : absl::StrSplit(fresh, "\n\n")) {
      absl::string_view data;
      bool has_event = false;
      for (absl::string_view line : absl::StrSplit(frame, '\n')) {
        if (absl::StartsWith(line, "event: ")) has_event = true;
        if (absl::StartsWith(line, "data: ")) data = line.substr(6);
      }
      if (!has_event) continue;  // a comment (keep-alive)
      v1::RunEvent event;
      google::protobuf::util::JsonParseOptions parse;
      parse.ignore_unknown_fields = true;
      if (!google::protobuf::util::JsonStringToMessage(
               google::protobuf::StringPiece(data.data(), data.size()),
               &event, parse)
               .ok()) {
        parse_error = absl::InternalError(
            absl::StrCat("an SSE frame is not a RunEvent: ", frame));
        continue;
      }
      if (event.has_output()) {
        const v1::OutputChunk& chunk = event.output();
        if (chunk.stream() == v1::STDERR) {
          run.err += chunk.data();
        } else if (chunk.stage() == v1::RUNNING) {
          run.out += chunk.data();
        }
      }
      if (event.has_result()) run.result = event.result();
      if (on_event) on_event(event);
      run.events.push_back(std::move(event));
    }
  };
  absl::Time start = absl::Now();
  absl::StatusOr<HttpResult> http = HttpCall(
      "POST", api_url + "/run", body, client_timeout,
      [&](const HttpResult& so_far) {
        take_frames(so_far.body);  // an error body holds no SSE frame
        return true;
      });
  if (!http.ok()) return http.status();
  run.wall = absl::Now() - start;
  run.http_status = http->status;
  if (http->status != 200) {
    run.error_body = http->body;
    return run;
  }
  take_frames(http->body + "\n\n");
  if (!parse_error.ok()) return parse_error;
  return run;
}

absl::StatusOr<Footprint> FootprintOf(pid_t pid) {
  Footprint footprint;
  std::error_code error;
  fs::path proc = fs::path("/proc") / std::to_string(pid);
  for (auto it = fs::directory_iterator(proc / "fd", error);
       !error && it != fs::directory_iterator(); it.increment(error)) {
    ++footprint.fds;
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", (proc / "fd").string(), ": ",
                     error.message()));
  }
  std::ifstream status(proc / "status");
  std::string line;
  while (std::getline(status, line)) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 2) continue;
    if (fields[0] == "VmRSS:") {
      (void)absl::SimpleAtoi(fields[1], &footprint.rss_kib);
    } else if (fields[0] == "Threads:") {
      (void)absl::SimpleAtoi(fields[1], &footprint.threads);
    }
  }
  if (footprint.rss_kib == 0) {
    return absl::NotFoundError(
        absl::StrCat("no VmRSS in ", (proc / "status").string()));
  }
  return footprint;
}

}  // namespace cloudlet::testing
