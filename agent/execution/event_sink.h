#ifndef CLOUDLET_AGENT_EXECUTION_EVENT_SINK_H_
#define CLOUDLET_AGENT_EXECUTION_EVENT_SINK_H_

#include "agent.pb.h"

namespace cloudlet::agent {

// Where one run's events go (the gRPC stream, or a vector in tests). Called
// only from the run's own thread.
class EventSink {
 public:
  virtual ~EventSink() = default;

  // Delivers one event; may block while the receiver applies flow control.
  // False when the receiver is gone: the run then stops as cancelled.
  virtual bool Send(const v1::ExecuteEvent& event) = 0;

  // True once the receiver has gone away (e.g. the client cancelled the
  // call). Polled at least every 100 ms while a process runs.
  virtual bool ReceiverGone() = 0;
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_EXECUTION_EVENT_SINK_H_
