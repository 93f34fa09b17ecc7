// oneDNN's matmul primitive, created once per shape and run on the calling thread (see onednn_matmul.hpp).
#include "onednn_matmul.hpp"

#include <algorithm>
#include <bit>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <omp.h>

#include "seqgrad/graph/parallel.hpp"

namespace seqgrad::onednn {

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success)
    throw std::runtime_error(std::string("matrix product: oneDNN's ") + what + " failed with status " +
                             std::to_string(int(status)));
}

void use_one_thread() {
  thread_local bool omp_single = false;
  if (!omp_single) {
    omp_set_num_threads(1);
    omp_single = true;
  }
}

const char* isa_name() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_all: return "all";
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  }
  return "unknown";
}

namespace {

dnnl_engine_t engine() {  // for the whole process: the primitives refer to it
  static const dnnl_engine_t cpu = [] {
    dnnl_engine_t e = nullptr;
    check(dnnl_engine_create(&e, dnnl_cpu, 0), "dnnl_engine_create");
    return e;
  }();
  return cpu;
}

dnnl_stream_t stream() {  // one per thread
  struct Stream {
    dnnl_stream_t handle = nullptr;
    ~Stream() {
      if (handle) dnnl_stream_destroy(handle);
    }
  };
  thread_local Stream s;
  if (!s.handle) check(dnnl_stream_create(&s.handle, engine(), dnnl_stream_default_flags), "dnnl_stream_create");
  return s.handle;
}

using AttrOwner = std::unique_ptr<dnnl_primitive_attr, dnnl_status_t (*)(dnnl_primitive_attr_t)>;

// Attributes with a user-provided scratchpad: a primitive is shared by the threads, each of which
// runs it with scratch of its own.
AttrOwner attributes_with_user_scratchpad() {
  dnnl_primitive_attr_t attr = nullptr;
  check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create");
  AttrOwner owner(attr, dnnl_primitive_attr_destroy);
  check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode");
  return owner;
}

void init(dnnl_memory_desc_t& md, const Layout& l, dnnl_data_type_t type) {
  check(dnnl_memory_desc_init_by_strides(&md, l.ndims, l.dims.data(), type, l.strides.data()),
        "dnnl_memory_desc_init_by_strides");
}

}  // namespace

// A matmul (or a reorder: src, dst, no weights) with its descriptors.
struct Primitive {
  dnnl_primitive_desc_t pd = nullptr;
  dnnl_primitive_t primitive = nullptr;
  dnnl_memory_desc_t src{}, weights{}, bias{}, dst{}, scratchpad{};
  bool has_bias = false;
  std::size_t scratchpad_bytes = 0;
  // Memory objects for one call's arguments (in the order of the descriptors above; null where the
  // primitive has no such argument), made once and pointed at each call's data: creating and
  // destroying them on every call cost 4.7% of the GRU model's bf16 step. One set per call under
  // way; the spare sets wait here.
  using Args = std::array<dnnl_memory_t, 5>;
  mutable std::mutex spare_mutex;
  mutable std::vector<Args> spare;

  Primitive() = default;
  Primitive(const Primitive&) = delete;
  Primitive& operator=(const Primitive&) = delete;
  ~Primitive() {
    for (const Args& set : spare)
      for (dnnl_memory_t memory : set)
        if (memory) dnnl_memory_destroy(memory);
    if (primitive) dnnl_primitive_destroy(primitive);
    if (pd) dnnl_primitive_desc_destroy(pd);
  }

  // Queries the scratchpad and creates the primitive once pd is made.
  void create(const char* what) {
    scratchpad = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    scratchpad_bytes = dnnl_memory_desc_get_size(&scratchpad);
    check(dnnl_primitive_create(&primitive, pd), what);
  }
};

namespace {

std::shared_ptr<const Primitive> create_matmul(dnnl_data_type_t operands, const Layout& a, const Layout& b,
                                               const Layout& c, float alpha, float beta, bool with_bias) {
  auto m = std::make_shared<Primitive>();
  init(m->src, a, operands);
  init(m->weights, b, operands);
  init(m->dst, c, dnnl_f32);
  if (with_bias) {  // [1, N] (a batch of one, for 3-D products), broadcast over the rows
    Layout row = matrix(1, std::size_t(c.dims[c.ndims - 1]), std::size_t(c.dims[c.ndims - 1]), 1);
    if (c.ndims == 3) row = batch_of(1, 0, row);
    init(m->bias, row, dnnl_f32);
    m->has_bias = true;
  }
  dnnl_matmul_desc_t desc;
  check(dnnl_matmul_desc_init(&desc, &m->src, &m->weights, with_bias ? &m->bias : nullptr, &m->dst),
        "dnnl_matmul_desc_init");
  const AttrOwner attr = attributes_with_user_scratchpad();
  if (alpha != 1.0f) check(dnnl_primitive_attr_set_output_scales(attr.get(), 1, 0, &alpha), "output scales");
  if (beta != 0.0f) {  // C += ... : the sum post-op reads the destination
    dnnl_post_ops_t post_ops = nullptr;
    check(dnnl_post_ops_create(&post_ops), "dnnl_post_ops_create");
    std::unique_ptr<dnnl_post_ops, dnnl_status_t (*)(dnnl_post_ops_t)> post_ops_owner(post_ops,
                                                                                    dnnl_post_ops_destroy);
    check(dnnl_post_ops_append_sum(post_ops, beta), "dnnl_post_ops_append_sum");
    check(dnnl_primitive_attr_set_post_ops(attr.get(), post_ops), "dnnl_primitive_attr_set_post_ops");
  }
  check(dnnl_primitive_desc_create(&m->pd, &desc, attr.get(), engine(), nullptr), "dnnl_primitive_desc_create (matmul)");
  m->create("dnnl_primitive_create (matmul)");
  return m;
}

std::shared_ptr<const Primitive> create_reorder(const Layout& from, const Layout& to) {
  auto m = std::make_shared<Primitive>();
  init(m->src, from, dnnl_f32);
  init(m->dst, to, dnnl_bf16);
  const AttrOwner attr = attributes_with_user_scratchpad();
  check(dnnl_reorder_primitive_desc_create(&m->pd, &m->src, engine(), &m->dst, engine(), attr.get()),
        "dnnl_reorder_primitive_desc_create");
  m->create("dnnl_primitive_create (reorder)");
  return m;
}

// The primitives made so far, by everything that defines them. Bounded: sequence lengths vary, and
// every length is a shape; past the limit the cache starts over (products under way keep theirs).
// The key: kind (0 reorder, else the operands' type), the three layouts, alpha, beta, bias.
using Key = std::array<std::int64_t, 1 + 3 * 7 + 3>;
std::mutex cache_mutex;
std::map<Key, std::shared_ptr<const Primitive>> cache;
constexpr std::size_t cache_limit = 4096;

template <class Create>
std::shared_ptr<const Primitive> cached(std::int64_t kind, const Layout& a, const Layout& b, const Layout& c,
                                        float alpha, float beta, bool with_bias, Create create) {
  Key key{};
  std::size_t i = 0;
  key[i++] = kind;
  for (const Layout* l : {&a, &b, &c}) {
    key[i++] = l->ndims;
    for (int d = 0; d < 3; ++d) key[i++] = l->dims[d];
    for (int d = 0; d < 3; ++d) key[i++] = l->strides[d];
  }
  key[i++] = std::bit_cast<std::uint32_t>(alpha);
  key[i++] = std::bit_cast<std::uint32_t>(beta);
  key[i++] = with_bias;
  std::lock_guard lock(cache_mutex);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= cache_limit) cache.clear();
  auto m = create();
  cache.emplace(key, m);
  return m;
}

// A set of a primitive's argument memory objects (Primitive::spare) for the length of one call.
class ArgumentSet {
 public:
  explicit ArgumentSet(const Primitive& p) : p_(p) {
    {
      std::lock_guard lock(p.spare_mutex);
      if (!p.spare.empty()) {
        set_ = p.spare.back();
        p.spare.pop_back();
        return;
      }
    }
    const dnnl_memory_desc_t* mds[5] = {&p.src, p.weights.ndims > 0 ? &p.weights : nullptr,
                                        p.has_bias ? &p.bias : nullptr, &p.dst,
                                        p.scratchpad_bytes > 0 ? &p.scratchpad : nullptr};
    for (std::size_t i = 0; i < 5; ++i)
      if (mds[i]) check(dnnl_memory_create(&set_[i], mds[i], engine(), DNNL_MEMORY_NONE), "dnnl_memory_create");
  }
  ~ArgumentSet() {
    std::lock_guard lock(p_.spare_mutex);
    p_.spare.push_back(set_);
  }
  ArgumentSet(const ArgumentSet&) = delete;
  ArgumentSet& operator=(const ArgumentSet&) = delete;
  // Argument i pointed at data.
  dnnl_memory_t at(std::size_t i, const void* data) {
    check(dnnl_memory_set_data_handle(set_[i], const_cast<void*>(data)), "dnnl_memory_set_data_handle");
    return set_[i];
  }

 private:
  const Primitive& p_;
  Primitive::Args set_{};
};

// Executes p with args on this thread alone, with this thread's scratchpad.
void execute(const Primitive& p, ArgumentSet& set, dnnl_exec_arg_t* args, int n) {
  use_one_thread();
  thread_local std::vector<unsigned char> scratch;
  if (scratch.size() < p.scratchpad_bytes) scratch.resize(p.scratchpad_bytes);
  if (p.scratchpad_bytes > 0) args[n++] = {DNNL_ARG_SCRATCHPAD, set.at(4, scratch.data())};
  check(dnnl_primitive_execute(p.primitive, stream(), n, args), "dnnl_primitive_execute");
  check(dnnl_stream_wait(stream()), "dnnl_stream_wait");
}

}  // namespace

std::shared_ptr<const Primitive> matmul(dnnl_data_type_t operands, const Layout& a, const Layout& b, const Layout& c,
                                        float alpha, float beta, bool with_bias) {
  return cached(std::int64_t(operands), a, b, c, alpha, beta, with_bias,
                [&] { return create_matmul(operands, a, b, c, alpha, beta, with_bias); });
}

std::shared_ptr<const Primitive> reorder_to_bf16(const Layout& from, const Layout& to) {
  return cached(0, from, to, to, 1.0f, 0.0f, false, [&] { return create_reorder(from, to); });
}

void run(const Primitive& m, const void* a, const void* b, float* c, const float* bias) {
  ArgumentSet set(m);
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, set.at(0, a)}, {DNNL_ARG_WEIGHTS, set.at(1, b)}, {DNNL_ARG_DST, set.at(3, c)}};
  int n = 3;
  if (m.has_bias) args[n++] = {DNNL_ARG_BIAS, set.at(2, bias)};
  execute(m, set, args, n);
}

void run_reorder(const Primitive& r, const float* from, std::uint16_t* to) {
  ArgumentSet set(r);
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, set.at(0, from)}, {DNNL_ARG_TO, set.at(3, to)}};
  execute(r, set, args, 2);
}

void batched(std::size_t threads, dnnl_data_type_t operands, std::size_t batch, bool ta, bool tb, std::size_t M,
             std::size_t N, std::size_t K, const void* A, std::size_t stride_a, const void* B, std::size_t stride_b,
             float beta, float* C, std::size_t stride_c) {
  // Groups of at least this many multiply-adds: 8 of attention's 64x64x64 products.
  constexpr std::size_t group_min_work = std::size_t(1) << 21;
  const std::size_t grain = std::max<std::size_t>(1, group_min_work / std::max<std::size_t>(1, M * N * K));
  const std::size_t bytes = operands == dnnl_bf16 ? 2 : 4;
  const Layout a = operand(ta, M, K, ta ? M : K), b = operand(tb, K, N, tb ? K : N);
  auto group = [&](std::size_t begin, std::size_t end) {
    const std::size_t n = end - begin;
    const Layout la = batch_of(stride_a == 0 ? 1 : n, stride_a, a), lb = batch_of(stride_b == 0 ? 1 : n, stride_b, b);
    run(*matmul(operands, la, lb, batch_of(n, stride_c, matrix(M, N, N, 1)), 1.0f, beta),
        static_cast<const char*>(A) + begin * stride_a * bytes, static_cast<const char*>(B) + begin * stride_b * bytes,
        C + begin * stride_c);
  };
  if (threads > 1 && grain < batch) return parallel_blocks(batch, grain, group);
  for (std::size_t begin = 0; begin < batch; begin += grain) group(begin, std::min(batch, begin + grain));
}

std::string kernel_name(const Primitive& p) {
  const char* info = nullptr;
  check(dnnl_primitive_desc_query(p.pd, dnnl_query_impl_info_str, 0, &info), "dnnl_primitive_desc_query");
  return info ? info : "unknown";
}

}  // namespace seqgrad::onednn
