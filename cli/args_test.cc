#include "cli/args.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

using ::testing::HasSubstr;

TEST(ParseArgs, RunTakesTheConfigInEverySpelling) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"run", "--config-path", "a.toml"},
           {"run", "--config-path=a.toml"},
           {"run", "-c", "a.toml"},
           {"run", "a.toml"},
           {"-c", "a.toml", "run"}}) {
    absl::StatusOr<CliOptions> options = ParseArgs(args);
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->command, Command::kRun);
    EXPECT_EQ(options->config_path, "a.toml");
  }
}

TEST(ParseArgs, ReadsGlobalOptionsBeforeOrAfterTheCommand) {
  absl::StatusOr<CliOptions> options = ParseArgs(
      {"--api-url", "http://127.0.0.1:4000", "run", "-c", "x.toml", "--json",
       "--no-start", "--rebuild"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(*options->api_url, "http://127.0.0.1:4000");
  EXPECT_TRUE(options->json);
  EXPECT_TRUE(options->no_start);
  EXPECT_TRUE(options->rebuild);
  EXPECT_FALSE(options->quiet);
  options = ParseArgs({"run", "x.toml", "-q", "--api-url=http://h:1"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->quiet);
  EXPECT_EQ(*options->api_url, "http://h:1");
}

TEST(ParseArgs, HelpAndVersionWinOverEverythingElse) {
  EXPECT_EQ(ParseArgs({"--help"})->command, Command::kHelp);
  EXPECT_EQ(ParseArgs({"run", "-h"})->command, Command::kHelp);
  EXPECT_EQ(ParseArgs({"help"})->command, Command::kHelp);
  EXPECT_EQ(ParseArgs({"--version"})->command, Command::kVersion);
  EXPECT_EQ(ParseArgs({"-V"})->command, Command::kVersion);
  EXPECT_EQ(ParseArgs({"shutdown"})->command, Command::kShutdown);
}

TEST(ParseArgs, UsageErrorsSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> args;
    const char* expected;
  } cases[] = {
      {{}, "no command"},
      {{"fly"}, "unknown command \"fly\""},
      {{"run"}, "run needs a config"},
      {{"run", "-c"}, "-c needs a value"},
      {{"run", "--bogus", "a.toml"}, "unknown option --bogus"},
      {{"run", "a.toml", "b.toml"}, "unexpected argument"},
      {{"shutdown", "x"}, "unexpected argument \"x\""},
      {{"shutdown", "-c", "a.toml"}, "only for run"},
      {{"run", "a.toml", "--json", "--quiet"}, "cannot be used together"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<CliOptions> options = ParseArgs(c.args);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(options.status().message(), HasSubstr(c.expected));
    EXPECT_THAT(options.status().message(), HasSubstr("cloudlet --help"));
  }
}

TEST(ParseApiUrl, ReadsHostAndPort) {
  absl::StatusOr<ApiUrl> url = ParseApiUrl("http://127.0.0.1:3000/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->text, "http://127.0.0.1:3000");
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 3000);
  EXPECT_TRUE(url->is_loopback());

  url = ParseApiUrl("http://[::1]:4000");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 4000);
  EXPECT_TRUE(url->is_loopback());

  url = ParseApiUrl("http://cloudlet.example.com");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 80);
  EXPECT_FALSE(url->is_loopback());
  EXPECT_TRUE(ParseApiUrl("http://localhost:9")->is_loopback());
}

TEST(ParseApiUrl, RejectsWhatItCannotReach) {
  for (const char* text : {"https://h:1", "127.0.0.1:3000", "http://",
                           "http://h:0", "http://h:x", "http://h:1/api"}) {
    EXPECT_EQ(ParseApiUrl(text).status().code(),
              absl::StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(ParseArgs, ReadsTheFunctionCommands) {
  absl::StatusOr<CliOptions> deploy = ParseArgs({"deploy", "-c", "f.toml"});
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  EXPECT_EQ(deploy->command, Command::kDeploy);
  EXPECT_EQ(deploy->config_path, "f.toml");
  EXPECT_EQ(ParseArgs({"functions"})->command, Command::kFunctions);
  absl::StatusOr<CliOptions> show = ParseArgs({"function", "show", "f"});
  ASSERT_TRUE(show.ok());
  EXPECT_EQ(show->command, Command::kFunctionShow);
  EXPECT_EQ(show->function_name, "f");
  EXPECT_EQ(ParseArgs({"function", "delete", "f"})->command,
            Command::kFunctionDelete);
  absl::StatusOr<CliOptions> invoke =
      ParseArgs({"invoke", "f", "--stdin", "-", "--", "-x", "--json"});
  ASSERT_TRUE(invoke.ok()) << invoke.status();
  EXPECT_EQ(invoke->command, Command::kInvoke);
  EXPECT_EQ(invoke->function_name, "f");
  EXPECT_EQ(*invoke->stdin_path, "-");
  EXPECT_EQ(invoke->program_args, (std::vector<std::string>{"-x", "--json"}));
  EXPECT_FALSE(invoke->json);  // after --: the program's
}

TEST(ParseArgs, RefusesMalformedFunctionCommands) {
  EXPECT_FALSE(ParseArgs({"function", "list", "f"}).ok());
  EXPECT_FALSE(ParseArgs({"function", "show"}).ok());
  EXPECT_FALSE(ParseArgs({"invoke"}).ok());
  EXPECT_FALSE(ParseArgs({"deploy"}).ok());
  EXPECT_FALSE(ParseArgs({"run", "x.toml", "--stdin", "-"}).ok());
}

}  // namespace
}  // namespace cloudlet::cli
