#pragma once
// Per-thread graph state: whether ops record nodes, whether anomaly checks run, the node counter.
// Per thread, so that worker threads build and differentiate their own graphs at the same time.
#include <cstdint>

namespace seqgrad {

struct GraphContext {
  bool grad_enabled = true;
  bool anomaly_mode = false;
  std::uint64_t next_seq = 0;
};

GraphContext& graph_context();  // this thread's

}  // namespace seqgrad
