#include "api/http/http_errors.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "gtest/gtest.h"

namespace cloudlet::api {
namespace {

TEST(HttpStatusFor, MapsVmmAndDecodingErrorsToTheirHttpStatus) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnimplemented), 405);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDataLoss), 500);
}

TEST(ErrorJson, IsOneLineObjectWithCodeAndEscapedMessage) {
  std::string json = ErrorJson(absl::ResourceExhaustedError(
      "all \"2\" VM slots busy\nretry later"));
  EXPECT_EQ(json.find('\n'), std::string::npos);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  EXPECT_EQ(parsed.fields().at("code").string_value(), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(parsed.fields().at("message").string_value(),
            "all \"2\" VM slots busy\nretry later");
  EXPECT_EQ(parsed.fields().size(), 2u);
}

}  // namespace
}  // namespace cloudlet::api
