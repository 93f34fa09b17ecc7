#pragma once
// oneDNN's matmul primitive for the GEMM backend (oneDNN builds only): the float32 products of a
// batch of small matrices (gemm_backend.cpp) and the bfloat16 products (gemm_bf16.cpp). A primitive
// costs up to half a millisecond to create, so each shape's is made once and kept; every call runs
// on the calling thread alone, as every library call of the backend does.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <oneapi/dnnl/dnnl.h>

namespace seqgrad::onednn {

// Throws std::runtime_error naming `what` (a oneDNN function) and the status, unless it succeeded.
void check(dnnl_status_t status, const char* what);

// Sets the calling thread's OpenMP thread count (oneDNN's threads) to 1, once per thread: oneDNN
// (Debian's build) runs its threads through OpenMP, whose thread count is a per-thread setting.
void use_one_thread();

// oneDNN's name for the instruction set it runs, e.g. "avx512_core_bf16".
const char* isa_name();

// A matrix, or a batch of matrices (batch first), as oneDNN describes it: dims and strides in elements.
struct Layout {
  int ndims = 2;
  std::array<dnnl_dim_t, 3> dims{}, strides{};
};

inline Layout matrix(std::size_t rows, std::size_t cols, std::size_t row_stride, std::size_t col_stride) {
  return {2, {dnnl_dim_t(rows), dnnl_dim_t(cols), 0}, {dnnl_dim_t(row_stride), dnnl_dim_t(col_stride), 0}};
}

// count matrices m, entry i at stride * i; a count of 1 with stride 0 is one matrix broadcast over
// the other operand's batch.
inline Layout batch_of(std::size_t count, std::size_t stride, const Layout& m) {
  return {3, {dnnl_dim_t(count), m.dims[0], m.dims[1]}, {dnnl_dim_t(stride), m.strides[0], m.strides[1]}};
}

// op(X) of a packed operand X (stored rows x cols) as a rows_op x cols_op matrix.
inline Layout operand(bool transposed, std::size_t rows_op, std::size_t cols_op, std::size_t stored_cols) {
  return transposed ? matrix(rows_op, cols_op, 1, stored_cols) : matrix(rows_op, cols_op, stored_cols, 1);
}

struct Primitive;  // a created primitive with its descriptors and spare argument memories

// The primitive of C = alpha A B + beta C (+ bias, a float32 row of N values added to every row of
// the product, before beta C), A and B of type `operands` (dnnl_f32 or dnnl_bf16), C float32.
std::shared_ptr<const Primitive> matmul(dnnl_data_type_t operands, const Layout& a, const Layout& b, const Layout& c,
                                        float alpha, float beta, bool with_bias = false);

// The reorder from float32 laid out as `from` to bfloat16 laid out as `to` (same dims): oneDNN's
// jitted conversion.
std::shared_ptr<const Primitive> reorder_to_bf16(const Layout& from, const Layout& to);

// Runs a matmul on this thread: a and b of its operand type, c float32; bias: its bias row, when
// it has one.
void run(const Primitive& matmul, const void* a, const void* b, float* c, const float* bias = nullptr);

// to (bfloat16) = from (float32) through a reorder, on this thread.
void run_reorder(const Primitive& reorder, const float* from, std::uint16_t* to);

// Whether a batched product goes to batched(): its entries are separate products (stride_c != 0)
// of a batched operand (a 2-D product, both strides 0, is a product of its own, cut into blocks over
// the threads, even as a batch of one), neither vectors (the backend's own loops) nor larger than a
// thread should take alone. A batch of one entry goes there too, so that an entry has the same bits
// however many entries a data-parallel shard holds.
inline bool batched_takes(std::size_t stride_a, std::size_t stride_b, std::size_t stride_c, std::size_t M,
                          std::size_t N, std::size_t K) {
  constexpr std::size_t max_work = std::size_t(1) << 22;  // multiply-adds
  return stride_c != 0 && (stride_a != 0 || stride_b != 0) && M > 1 && N > 1 && K > 1 && M * N * K < max_work;
}

// C_i = op(A_i) op(B_i) + beta C_i for the entries i of a batch: A_i packed at A + i * stride_a
// elements ([M, K], or [K, M] when ta), B_i at B + i * stride_b ([K, N], or [N, K] when tb), both
// of type `operands` (a stride of 0: one matrix for every entry), C_i [M, N] float32 at
// C + i * stride_c. The entries go in groups, one single-threaded 3-D product each, on up to
// `threads` threads: one call per small product (attention's 64x64x64) would spend more on the call
// than on the arithmetic. The groups follow from the shape alone, and an entry's bits do not depend
// on its group, so C does not depend on `threads` or on the batch size.
void batched(std::size_t threads, dnnl_data_type_t operands, std::size_t batch, bool ta, bool tb, std::size_t M,
             std::size_t N, std::size_t K, const void* A, std::size_t stride_a, const void* B, std::size_t stride_b,
             float beta, float* C, std::size_t stride_c);

// oneDNN's name for the kernel a primitive runs on, e.g. "brg:avx512_core_bf16".
std::string kernel_name(const Primitive& p);

}  // namespace seqgrad::onednn
