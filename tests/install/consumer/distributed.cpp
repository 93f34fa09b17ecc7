// Links seqgrad::distributed from an installed seqgrad (find_package(seqgrad COMPONENTS distributed)).
#include <cstdio>

#include "seqgrad/distributed/mpi.hpp"

int main() {
  const auto group = seqgrad::distributed::world();
  std::printf("consumer_distributed: %s\n", group->describe().c_str());
  return group->size() >= 1 ? 0 : 1;
}
