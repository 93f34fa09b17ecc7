#pragma once
// Per-thread graph state: whether ops record nodes, whether anomaly checks run (and in whose
// backward), the node counter.
// Per thread, so that worker threads build and differentiate their own graphs at the same time.
#include <cstdint>

namespace seqgrad {

struct GraphContext {
  bool grad_enabled = true;
  bool anomaly_mode = false;
  std::uint64_t next_seq = 0;
  // Under anomaly mode, the op whose backward a create_graph walk is running (null otherwise): its
  // formula's ops are recorded like any op, and an anomaly in one of them ('div') names this op too.
  const char* in_backward_of = nullptr;
};

GraphContext& graph_context();  // this thread's

}  // namespace seqgrad
