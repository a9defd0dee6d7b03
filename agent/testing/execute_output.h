#ifndef CLOUDLET_AGENT_TESTING_EXECUTE_OUTPUT_H_
#define CLOUDLET_AGENT_TESTING_EXECUTE_OUTPUT_H_

// Test helper (not part of the agent): what a run printed, from its events.

#include <string>
#include <vector>

#include "agent.pb.h"

namespace cloudlet::agent {

// The data of every output chunk of `stream` in `stage`, concatenated in
// the order the events came.
inline std::string ConcatOutput(const std::vector<v1::ExecuteEvent>& events,
                                v1::Stage stage, v1::Stream stream) {
  std::string out;
  for (const v1::ExecuteEvent& event : events) {
    if (event.has_output() && event.output().stage() == stage &&
        event.output().stream() == stream) {
      out += event.output().data();
    }
  }
  return out;
}

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_TESTING_EXECUTE_OUTPUT_H_
