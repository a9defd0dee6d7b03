#ifndef CLOUDLET_AGENT_TESTING_RECORDING_SINK_H_
#define CLOUDLET_AGENT_TESTING_RECORDING_SINK_H_

// Test helper (not part of the agent): an EventSink that records events.

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/execution/event_sink.h"
#include "agent/testing/execute_output.h"

namespace cloudlet::agent {

class RecordingSink final : public EventSink {
 public:
  // Called after each recorded event, on the run's thread.
  std::function<void(const v1::ExecuteEvent&)> on_event;
  // Send() returns false from the event with this index on.
  size_t refuse_from = static_cast<size_t>(-1);
  bool receiver_gone = false;

  bool Send(const v1::ExecuteEvent& event) override {
    if (events.size() >= refuse_from) return false;
    events.push_back(event);
    arrivals.push_back(absl::Now());
    if (on_event) on_event(event);
    return true;
  }
  bool ReceiverGone() override { return receiver_gone; }

  // Concatenated data of the chunks of `stream` in `stage`.
  std::string Output(v1::Stage stage, v1::Stream stream) const {
    return ConcatOutput(events, stage, stream);
  }

  std::vector<v1::ExecuteEvent> events;
  std::vector<absl::Time> arrivals;
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_TESTING_RECORDING_SINK_H_
