#pragma once
// "The other processes" of a data-parallel run, as nn sees them: a rank, a size and the handful of
// collectives that DataParallel and the trainer need. nn links no MPI: this is the interface, with
// the single-process implementation here; the MPI one is seqgrad::distributed's (distributed/mpi.hpp).
//
// Every collective must be called by every process of the group, in the same order, with the same
// counts (as in MPI). The single-process group returns its input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace seqgrad::nn {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual std::size_t rank() const = 0;  // 0 .. size() - 1
  virtual std::size_t size() const = 0;  // number of processes
  virtual std::string describe() const = 0;  // "1 process", "MPI rank 1 of 4 on host-b", ...

  // data[i] = the largest data[i] over all processes.
  virtual void allreduce_max(double* data, std::size_t count) = 0;
  // data[i] = the sum of data[i] over all processes (integers: exact, in any order).
  virtual void allreduce_sum(std::int64_t* data, std::size_t count) = 0;
  // recv[r * count + i] = send[i] of process r (recv holds size() * count values).
  virtual void allgather(const double* send, std::size_t count, double* recv) = 0;
  virtual void allgather(const std::uint64_t* send, std::size_t count, std::uint64_t* recv) = 0;
  // Every process receives `root`'s bytes (resized to them).
  virtual void broadcast(std::vector<std::uint8_t>& bytes, std::size_t root) = 0;
  virtual void barrier() = 0;
  // Ends every process of the job now, with `message` on standard error (a fault only one process
  // saw, which would otherwise leave the others waiting in a collective). The single-process group
  // throws std::runtime_error(message) instead.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

  bool is_root() const { return rank() == 0; }
};

// The group of one process: every collective returns its input.
class SingleProcess final : public ProcessGroup {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  std::string describe() const override { return "1 process"; }
  void allreduce_max(double*, std::size_t) override {}
  void allreduce_sum(std::int64_t*, std::size_t) override {}
  void allgather(const double* send, std::size_t count, double* recv) override;
  void allgather(const std::uint64_t* send, std::size_t count, std::uint64_t* recv) override;
  void broadcast(std::vector<std::uint8_t>&, std::size_t root) override;
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override;
};

// A shared single-process group (the default of DataParallel and the trainer).
std::shared_ptr<ProcessGroup> single_process();

// The shard assignment: shard s of a step runs on process s mod P. It depends only on the shard
// index and the number of processes, never on timing.
inline std::size_t shard_owner(std::size_t shard, std::size_t processes) { return shard % processes; }

// FNV-1a, 64 bits: the start-up consistency hashes (data, model, options) compared across processes.
class Fnv1a {
 public:
  Fnv1a& bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) hash_ = (hash_ ^ p[i]) * 0x100000001b3ULL;
    return *this;
  }
  template <class T>
  Fnv1a& value(const T& v) { return bytes(&v, sizeof v); }
  Fnv1a& text(const std::string& s) { return value(s.size()).bytes(s.data(), s.size()); }
  std::uint64_t digest() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace seqgrad::nn
