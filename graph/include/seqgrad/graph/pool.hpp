#pragma once
// Buffer pool: tensor data comes from here and goes back here, so that a training step that repeats
// the shapes of the one before allocates no new memory (glibc's mmap threshold makes fresh large
// buffers page-fault on every step; bench/README.md has what that cost).
//
// Each thread has its own pool (worker shards in data-parallel training never contend). A buffer
// remembers its pool, so it may be released on any thread: the free lists are guarded by a mutex,
// uncontended in the common case.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace seqgrad {

struct PoolStats {
  std::uint64_t fresh_allocations = 0;  // buffers obtained from the system allocator
  std::uint64_t reuses = 0;             // buffers served from a free list
  std::size_t bytes_cached = 0;         // bytes parked in free lists now
  std::size_t bytes_in_use = 0;         // bytes handed out and not yet returned
};

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  ~BufferPool();
  void* acquire(std::size_t bytes);            // 64-byte aligned, contents unspecified
  void release(void* data, std::size_t bytes);  // give a buffer from acquire() back
  void trim();                                 // return every cached buffer to the system
  PoolStats stats() const;

  static std::shared_ptr<BufferPool> for_this_thread();

 private:
  static std::size_t bucket(std::size_t bytes);
  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  PoolStats stats_;
};

// The memory behind one or more tensors (a reshape shares it). Returned to its pool on destruction.
class Storage {
 public:
  Storage(std::size_t bytes, std::shared_ptr<BufferPool> pool);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_;
  std::size_t bytes_;
  std::shared_ptr<BufferPool> pool_;
};

}  // namespace seqgrad
