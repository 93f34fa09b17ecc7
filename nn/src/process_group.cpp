#include "seqgrad/nn/process_group.hpp"

#include <algorithm>
#include <stdexcept>

namespace seqgrad::nn {

void SingleProcess::allgather(const double* send, std::size_t count, double* recv) { std::copy_n(send, count, recv); }

void SingleProcess::allgather(const std::uint64_t* send, std::size_t count, std::uint64_t* recv) {
  std::copy_n(send, count, recv);
}

void SingleProcess::broadcast(std::vector<std::uint8_t>&, std::size_t root) {
  if (root != 0) throw std::invalid_argument("ProcessGroup::broadcast: root " + std::to_string(root) + " of 1 process");
}

void SingleProcess::abort(const std::string& message) { throw std::runtime_error(message); }

std::shared_ptr<ProcessGroup> single_process() {
  static const auto group = std::make_shared<SingleProcess>();
  return group;
}

}  // namespace seqgrad::nn
