// One VM per language image: boot it, run a hello-world through the agent's
// Execute inside, and get the output back. Real QEMU (TCG here), real
// kernel, initramfs and images from the cache.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/workload_names.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/vm/vm_test_env.h"
#include "vmm/vm/agent_client.h"
#include "vmm/qemu/qemu_process.h"

namespace cloudlet::testing {
namespace {

using ::testing::HasSubstr;

struct Hello {
  v1::Language language;
  std::string code;
  absl::Duration deadline;  // boot + build + run under TCG
};

const Hello kHellos[] = {
    {v1::SHELL, "echo \"hello from $(echo shell)\"\n", absl::Seconds(90)},
    {v1::PYTHON, "print('hello from', 'python')\n", absl::Seconds(90)},
    {v1::NODE, "console.log('hello from ' + 'node');\n", absl::Seconds(120)},
    {v1::C,
     "#include <stdio.h>\nint main(void) { printf(\"hello from %s\\n\", "
     "\"c\"); return 0; }\n",
     absl::Seconds(120)},
    {v1::CPP,
     "#include <iostream>\nint main() { std::cout << \"hello from \" << "
     "\"cpp\" << std::endl; }\n",
     absl::Seconds(150)},
    // rustc under TCG: ~10 s for a hello-world, more on a busy machine.
    {v1::RUST,
     "fn main() {\n    println!(\"hello from {}\", \"rust\");\n}\n",
     absl::Seconds(300)},
};

class LanguageBootTest : public ::testing::TestWithParam<Hello> {};

TEST_P(LanguageBootTest, RunsHelloWorldInAFreshVm) {
  const Hello& hello = GetParam();
  const std::string name(LanguageName(hello.language));
  absl::StatusOr<vmm::GuestArtifacts> artifacts =
      RealArtifacts(hello.language);
  ASSERT_TRUE(artifacts.ok()) << artifacts.status();

  absl::Time start = absl::Now();
  absl::Time deadline = start + hello.deadline;
  vmm::VmSpec spec;
  spec.kernel = artifacts->kernel;
  spec.initramfs = artifacts->initramfs;
  spec.image = artifacts->image;
  spec.accel = vmm::DetectAccel();
  spec.name = "hello-" + name;
  auto vm = vmm::QemuProcess::Start(spec, "");
  ASSERT_TRUE(vm.ok()) << vm.status();

  vmm::AgentClient agent((*vm)->agent_target());
  absl::Status healthy =
      agent.WaitUntilHealthy(deadline, CancelToken::FromProbe([&] { return (*vm)->Exited(); }));
  ASSERT_TRUE(healthy.ok()) << healthy << "\nconsole:\n"
                            << (*vm)->ConsoleTail(40);
  absl::Duration boot = absl::Now() - start;

  v1::ExecuteRequest request;
  request.set_run_id("vm-test-" + name);
  v1::Workload& workload = *request.mutable_workload();
  workload.set_name("hello");
  workload.set_language(hello.language);
  workload.set_action(v1::PREPARE_AND_RUN);
  workload.set_code(hello.code);
  *workload.mutable_timeout() =
      google::protobuf::util::TimeUtil::SecondsToDuration(
          absl::ToInt64Seconds(deadline - absl::Now()));

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline + absl::Seconds(5)));
  std::vector<v1::ExecuteEvent> events;
  std::string stdout_text, all_output;
  absl::Status status =
      agent.Execute(context, request, [&](const v1::ExecuteEvent& event) {
        events.push_back(event);
        if (event.has_output()) {
          all_output += event.output().data();
          if (event.output().stage() == v1::RUNNING &&
              event.output().stream() == v1::STDOUT) {
            stdout_text += event.output().data();
          }
        }
      });
  ASSERT_TRUE(status.ok()) << status << "\nconsole:\n"
                           << (*vm)->ConsoleTail(40);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.front().has_accepted());
  ASSERT_TRUE(events.back().has_result());
  const v1::Result& result = events.back().result();
  EXPECT_EQ(result.status(), v1::DONE)
      << result.message() << "\noutput:\n" << all_output;
  EXPECT_EQ(result.exit_code(), 0);
  EXPECT_EQ(stdout_text, "hello from " + name + "\n") << all_output;
  std::cerr << name << ": boot " << absl::FormatDuration(boot) << ", total "
            << absl::FormatDuration(absl::Now() - start) << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    EveryLanguage, LanguageBootTest, ::testing::ValuesIn(kHellos),
    [](const ::testing::TestParamInfo<Hello>& param_info) {
      return std::string(LanguageName(param_info.param.language));
    });

}  // namespace
}  // namespace cloudlet::testing
