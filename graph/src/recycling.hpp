#pragma once
// A per-thread cache of fixed-size blocks for the graph's small bookkeeping objects (TensorImpl,
// Storage, Node: a few of each per op). A training step creates hundreds of them in the forward
// pass and frees them all in the backward pass; glibc's per-thread cache holds only 7 blocks of a
// size, so without this most of them went through malloc's slower bins (about a fifth of a batch-1
// step in the profile). A block freed on another thread joins that thread's cache; nothing is
// owned per thread, so that is safe. Used through std::allocate_shared.
#include <cstddef>
#include <new>

namespace seqgrad::detail {

template <std::size_t Size>
struct BlockCache {
  struct Block {
    Block* next;
  };
  static constexpr std::size_t kMaxBlocks = 1 << 14;  // beyond this, blocks go back to the system

  // Trivially destructible thread-locals: usable at any time, even while the thread exits.
  static inline thread_local Block* head = nullptr;
  static inline thread_local std::size_t count = 0;
  static inline thread_local bool closed = false;  // the thread is exiting: no more caching

  // Frees the cached blocks when the thread exits.
  struct Reaper {
    ~Reaper() {
      closed = true;
      while (head) {
        Block* b = head;
        head = b->next;
        ::operator delete(b);
      }
      count = 0;
    }
  };
  static void register_reaper() { static thread_local Reaper reaper; (void)reaper; }

#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer every block comes from and goes back to the system, so that a use after
  // free of these objects is still caught.
  static void* allocate() { return ::operator new(Size); }
  static void deallocate(void* p) { ::operator delete(p); }
#else
  static void* allocate() {
    if (head) {
      Block* b = head;
      head = b->next;
      --count;
      return b;
    }
    if (!closed) register_reaper();
    return ::operator new(Size);
  }

  static void deallocate(void* p) {
    if (closed || count >= kMaxBlocks) {
      ::operator delete(p);
      return;
    }
    Block* b = static_cast<Block*>(p);
    b->next = head;
    head = b;
    ++count;
  }
#endif
};

template <class T>
struct RecyclingAllocator {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  using value_type = T;
  RecyclingAllocator() = default;
  template <class U>
  RecyclingAllocator(const RecyclingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(BlockCache<sizeof(T) < sizeof(void*) ? sizeof(void*) : sizeof(T)>::allocate());
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n != 1) return ::operator delete(p);
    BlockCache<sizeof(T) < sizeof(void*) ? sizeof(void*) : sizeof(T)>::deallocate(p);
  }
  template <class U>
  bool operator==(const RecyclingAllocator<U>&) const noexcept { return true; }
};

}  // namespace seqgrad::detail
