#ifndef CLOUDLET_COMMON_PROCESS_TERMINATION_SIGNAL_H_
#define CLOUDLET_COMMON_PROCESS_TERMINATION_SIGNAL_H_

namespace cloudlet {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and so in every
// thread it starts afterwards; call first thing in main(). SIGPIPE is
// ignored (a closed socket is an error return, not a death).
void BlockTerminationSignals();

// Waits (in the calling thread) until one of the blocked signals arrives
// and returns its number.
int WaitForTerminationSignal();

// Sends SIGTERM to this process, waking WaitForTerminationSignal(): how an
// RPC handler asks main() to shut the server down.
void RaiseTermination();

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_PROCESS_TERMINATION_SIGNAL_H_
