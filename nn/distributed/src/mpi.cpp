#include "seqgrad/distributed/mpi.hpp"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace seqgrad::distributed {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

// MPI counts are int: long buffers go in pieces.
constexpr std::size_t kChunk = INT_MAX / 2;

class MpiWorld final : public nn::ProcessGroup {
 public:
  MpiWorld() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rank_ = static_cast<std::size_t>(rank);
    size_ = static_cast<std::size_t>(size);
    char name[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    MPI_Get_processor_name(name, &length);
    host_.assign(name, static_cast<std::size_t>(length));
    // The exit meeting has a communicator of its own: it must not match a collective that a peer
    // is still waiting in on MPI_COMM_WORLD.
    check(MPI_Comm_dup(MPI_COMM_WORLD, &exit_comm_), "MPI_Comm_dup");
    if (provided < MPI_THREAD_FUNNELED)
      abort("MPI provides thread level " + std::to_string(provided) + ", seqgrad needs MPI_THREAD_FUNNELED");
  }

  // At exit: meet the others (at most the exit timeout), then MPI_Finalize; or abort the job when
  // they do not come, rather than hang in MPI_Finalize while they wait in a collective.
  ~MpiWorld() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    double timeout = 60;
    if (const char* env = std::getenv("SEQGRAD_MPI_EXIT_TIMEOUT")) timeout = std::atof(env);
    MPI_Request request;
    MPI_Ibarrier(exit_comm_, &request);
    const auto start = std::chrono::steady_clock::now();
    int done = 0;
    while (true) {
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done) break;
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout) {
        std::fprintf(stderr,
                     "seqgrad: MPI rank %zu of %zu: the other processes did not reach the end of the program within "
                     "%g s (one stopped early or failed?); aborting the job\n", rank_, size_, timeout);
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    MPI_Comm_free(&exit_comm_);
    MPI_Finalize();
  }

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }
  std::string describe() const override {
    return "MPI rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " on " + host_;
  }

  void allreduce_max(double* data, std::size_t count) override {
    for (std::size_t at = 0; at < count; at += kChunk)
      check(MPI_Allreduce(MPI_IN_PLACE, data + at, static_cast<int>(std::min(kChunk, count - at)), MPI_DOUBLE, MPI_MAX,
                          MPI_COMM_WORLD), "MPI_Allreduce(MAX, double)");
  }
  void allreduce_sum(std::int64_t* data, std::size_t count) override {
    for (std::size_t at = 0; at < count; at += kChunk)
      check(MPI_Allreduce(MPI_IN_PLACE, data + at, static_cast<int>(std::min(kChunk, count - at)), MPI_INT64_T, MPI_SUM,
                          MPI_COMM_WORLD), "MPI_Allreduce(SUM, int64)");
  }
  void allgather(const double* send, std::size_t count, double* recv) override {
    check(MPI_Allgather(send, static_cast<int>(count), MPI_DOUBLE, recv, static_cast<int>(count), MPI_DOUBLE, MPI_COMM_WORLD),
          "MPI_Allgather(double)");
  }
  void allgather(const std::uint64_t* send, std::size_t count, std::uint64_t* recv) override {
    check(MPI_Allgather(send, static_cast<int>(count), MPI_UINT64_T, recv, static_cast<int>(count), MPI_UINT64_T,
                        MPI_COMM_WORLD), "MPI_Allgather(uint64)");
  }
  void broadcast(std::vector<std::uint8_t>& bytes, std::size_t root) override {
    if (root >= size_)
      throw std::invalid_argument("ProcessGroup::broadcast: root " + std::to_string(root) + " of " + std::to_string(size_) +
                                  " processes");
    std::uint64_t n = bytes.size();
    check(MPI_Bcast(&n, 1, MPI_UINT64_T, static_cast<int>(root), MPI_COMM_WORLD), "MPI_Bcast(size)");
    bytes.resize(n);
    for (std::size_t at = 0; at < n; at += kChunk)
      check(MPI_Bcast(bytes.data() + at, static_cast<int>(std::min<std::size_t>(kChunk, n - at)), MPI_BYTE,
                      static_cast<int>(root), MPI_COMM_WORLD), "MPI_Bcast(bytes)");
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "seqgrad: MPI rank %zu of %zu: %s; aborting the job\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);  // MPI_Abort does not return; in case it does
  }

 private:
  std::size_t rank_ = 0, size_ = 1;
  std::string host_;
  MPI_Comm exit_comm_ = MPI_COMM_NULL;
};

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

std::shared_ptr<nn::ProcessGroup> world() {
  static const std::shared_ptr<nn::ProcessGroup> group =
      launched_by_mpi() ? std::static_pointer_cast<nn::ProcessGroup>(std::make_shared<MpiWorld>()) : nn::single_process();
  return group;
}

void print_only_on_root(const nn::ProcessGroup& group) {
  if (group.rank() == 0) return;
  std::fflush(stdout);
  if (std::freopen("/dev/null", "w", stdout) == nullptr)
    throw std::runtime_error("print_only_on_root: cannot send rank " + std::to_string(group.rank()) +
                             "'s standard output to /dev/null");
}

}  // namespace seqgrad::distributed
