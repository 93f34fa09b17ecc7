#pragma once
// Tensor: a handle to a contiguous, row-major block of elements with a shape and a dtype, plus the
// autograd fields (which node produced it, whether it is a leaf that wants a gradient, its .grad).
// Copying a Tensor copies the handle, not the data, as in PyTorch.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "seqgrad/graph/dtype.hpp"
#include "seqgrad/graph/pool.hpp"
#include "seqgrad/graph/shape.hpp"

namespace seqgrad {

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (no data): defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- factories (data from this thread's buffer pool) ---
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor scalar(double value, DType dtype = DType::f32);
  // Copies `values` (converted to dtype); throws when their count does not match the shape.
  static Tensor from(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32);
  static Tensor from_indices(const std::vector<std::int64_t>& values, const Shape& shape);
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }

  // --- data ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  std::size_t dim() const { return shape().size(); }
  std::size_t size(long axis) const;  // negative axes count from the end
  std::size_t numel() const;
  DType dtype() const;
  template <class T> T* data();  // throws when T is not this tensor's element type
  template <class T> const T* data() const;
  void* raw_data() const;
  double item() const;                  // the value of a one-element tensor
  std::vector<double> to_vector() const;  // every element, converted to double
  Tensor to(DType dtype) const;         // converted copy, outside the graph
  Tensor clone() const;                 // copy of the data, outside the graph
  Tensor reshaped_view(const Shape& shape) const;  // shares data; outside the graph (ops::reshape is the op)
  void fill_(double value);             // in place; for leaves and buffers
  void copy_from_(const Tensor& src);   // in place; same shape and dtype
  std::string str() const;              // shape, dtype and (up to 64) values, for printing

  // --- autograd ---
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaves
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  Tensor& grad();  // accumulated gradient of a leaf; undefined until a backward reaches it
  const Tensor& grad() const;
  void zero_grad();  // fills .grad with zeros, keeping its buffer
  Tensor detach() const;  // same data, cut from the graph
  const std::string& name() const;
  Tensor& set_name(std::string name);

  TensorImpl* impl() const { return impl_.get(); }
  long use_count() const { return impl_.use_count(); }  // handles to this tensor (0 when undefined)

 private:
  const TensorImpl& checked() const;
  [[noreturn]] static void throw_undefined();
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  std::size_t numel = 0;
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // producer for results of ops; the accumulator node for leaves
  Tensor grad;
  std::string name;
};

// The accessors every op calls, inline: an op calls them a dozen times.
inline const TensorImpl& Tensor::checked() const {
  if (!impl_) [[unlikely]] throw_undefined();
  return *impl_;
}
inline const Shape& Tensor::shape() const { return checked().shape; }
inline std::size_t Tensor::numel() const { return checked().numel; }
inline DType Tensor::dtype() const { return checked().dtype; }
inline void* Tensor::raw_data() const { return checked().storage->data(); }
inline bool Tensor::requires_grad() const { return checked().requires_grad; }
inline const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked().grad_fn; }

template <class T>
T* Tensor::data() {
  const auto& t = checked();
  if (t.dtype != dtype_of<T>())
    throw std::invalid_argument(std::string("Tensor::data: tensor holds ") + dtype_name(t.dtype) +
                                ", not " + dtype_name(dtype_of<T>()));
  return static_cast<T*>(t.storage->data());
}
template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

}  // namespace seqgrad
