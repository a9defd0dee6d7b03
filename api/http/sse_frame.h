#ifndef CLOUDLET_API_HTTP_SSE_FRAME_H_
#define CLOUDLET_API_HTTP_SSE_FRAME_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vmm.pb.h"

namespace cloudlet::api {

// Server-Sent Events framing of the Run stream. One frame per RunEvent:
//
//   event: output
//   data: {"output":{"stage":"RUNNING","stream":"STDOUT","data":"aGkK"}}
//
// `event:` is the name of the RunEvent's oneof member (accepted, progress,
// stage, booted, output, result) and `data:` is the whole RunEvent through
// protobuf's JSON mapping (proto field names, one line), so a client can
// parse it back into a RunEvent without looking at the event name.

// The oneof member's name; InvalidArgument for an event with none set.
absl::StatusOr<std::string> SseEventName(const v1::RunEvent& event);

// The RunEvent as one line of JSON (no trailing newline).
absl::StatusOr<std::string> RunEventJson(const v1::RunEvent& event);

// The complete frame, ending in the blank line that dispatches it.
absl::StatusOr<std::string> SseFrame(const v1::RunEvent& event);

// A frame for a failure after the stream started (the VMM went away, the
// stream ended without a result): `event: error` with the same
// {"code","message"} object as error responses.
std::string SseErrorFrame(const absl::Status& status);

// A comment line, ignored by SSE clients; used as a keep-alive.
std::string SseComment(absl::string_view text);

}  // namespace cloudlet::api

#endif  // CLOUDLET_API_HTTP_SSE_FRAME_H_
