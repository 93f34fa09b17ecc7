#include "seqgrad/graph/pool.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace seqgrad {

namespace {
constexpr std::size_t kAlign = 64;

// SEQGRAD_POISON_BUFFERS=1 fills every buffer handed out with 0xFF bytes (NaN as a float, -1 as an
// integer), so an op that reads memory it never wrote shows up as NaN instead of quietly using
// whatever the buffer's last owner left there. The sanitizer test build sets it.
bool poison_buffers() {
  static const bool on = [] {
    const char* v = std::getenv("SEQGRAD_POISON_BUFFERS");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return on;
}
}  // namespace

// Exact sizes rounded to the alignment: a repeated step asks for exactly the sizes it asked for
// before, so exact buckets reuse everything without the waste of power-of-two classes.
std::size_t BufferPool::bucket(std::size_t bytes) {
  return bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
}

BufferPool::~BufferPool() { trim(); }

void* BufferPool::acquire(std::size_t bytes) {
  const std::size_t b = bucket(bytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(b);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats_.reuses++;
      stats_.bytes_cached -= b;
    } else {
      stats_.fresh_allocations++;
    }
    stats_.bytes_in_use += b;
  }
  if (!p) {
    p = std::aligned_alloc(kAlign, b);
    if (!p) {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.bytes_in_use -= b;
      throw std::bad_alloc();
    }
  }
  if (poison_buffers()) std::memset(p, 0xFF, b);
  return p;
}

void BufferPool::release(void* data, std::size_t bytes) {
  const std::size_t b = bucket(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_[b].push_back(data);
  stats_.bytes_cached += b;
  stats_.bytes_in_use -= b;
}

void BufferPool::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [b, list] : free_)
    for (void* p : list) std::free(p);
  free_.clear();
  stats_.bytes_cached = 0;
}

PoolStats BufferPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::shared_ptr<BufferPool> BufferPool::for_this_thread() {
  thread_local std::shared_ptr<BufferPool> pool = std::make_shared<BufferPool>();
  return pool;
}

Storage::Storage(std::size_t bytes, std::shared_ptr<BufferPool> pool)
    : data_(pool->acquire(bytes)), bytes_(bytes), pool_(std::move(pool)) {}

Storage::~Storage() { pool_->release(data_, bytes_); }

}  // namespace seqgrad
