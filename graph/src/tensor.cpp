#include "seqgrad/graph/tensor.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

#include "recycling.hpp"
#include "seqgrad/graph/node.hpp"

namespace seqgrad {

namespace {

Tensor make(const Shape& shape, DType dtype) {
  auto impl = std::allocate_shared<TensorImpl>(detail::RecyclingAllocator<TensorImpl>());
  impl->numel = numel(shape);
  impl->storage = std::allocate_shared<Storage>(detail::RecyclingAllocator<Storage>(), impl->numel * dtype_size(dtype),
                                                BufferPool::for_this_thread());
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

template <class T>
void fill_as(void* data, std::size_t n, double v) {
  T* p = static_cast<T*>(data);
  const T x = static_cast<T>(v);
  for (std::size_t i = 0; i < n; ++i) p[i] = x;
}

void fill_raw(void* data, DType dt, std::size_t n, double v) {
  dispatch_any(dt, [&](auto tag) { fill_as<decltype(tag)>(data, n, v); });
}

double read_as_double(const void* data, DType dt, std::size_t i) {
  return dispatch_any(dt, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T*>(data)[i]);
  });
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) { return make(shape, dtype); }

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = make(shape, dtype);
  std::memset(t.raw_data(), 0, t.numel() * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = make(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::from(const std::vector<double>& values, const Shape& shape, DType dtype) {
  if (values.size() != seqgrad::numel(shape))
    throw std::invalid_argument("Tensor::from: " + std::to_string(values.size()) +
                                " values do not fill shape " + to_string(shape));
  Tensor t = make(shape, dtype);
  dispatch_any(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
  return t;
}

Tensor Tensor::from_indices(const std::vector<std::int64_t>& values, const Shape& shape) {
  if (values.size() != seqgrad::numel(shape))
    throw std::invalid_argument("Tensor::from_indices: " + std::to_string(values.size()) +
                                " values do not fill shape " + to_string(shape));
  Tensor t = make(shape, DType::i64);
  std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(std::int64_t));
  return t;
}

void Tensor::throw_undefined() { throw std::logic_error("Tensor: use of an undefined tensor"); }

std::size_t Tensor::size(long axis) const { return shape()[normalize_axis(axis, dim(), "Tensor::size")]; }

double Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("Tensor::item: tensor of shape " + to_string(shape()) +
                                " does not hold exactly one element");
  return read_as_double(raw_data(), dtype(), 0);
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> v(numel());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = read_as_double(raw_data(), dtype(), i);
  return v;
}

Tensor Tensor::to(DType dtype) const {
  Tensor out = make(shape(), dtype);
  dispatch_any(this->dtype(), [&](auto from) {
    using F = decltype(from);
    const F* src = data<F>();
    dispatch_any(dtype, [&](auto to) {
      using T = decltype(to);
      T* dst = out.data<T>();
      for (std::size_t i = 0; i < numel(); ++i) dst[i] = static_cast<T>(src[i]);
    });
  });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = make(shape(), dtype());
  std::memcpy(out.raw_data(), raw_data(), numel() * dtype_size(dtype()));
  return out;
}

Tensor Tensor::reshaped_view(const Shape& shape) const {
  if (seqgrad::numel(shape) != numel())
    throw std::invalid_argument("reshape: cannot view " + to_string(this->shape()) + " as " + to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->shape = shape;
  impl->numel = numel();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

void Tensor::fill_(double value) { fill_raw(raw_data(), dtype(), numel(), value); }

void Tensor::copy_from_(const Tensor& src) {
  if (src.shape() != shape() || src.dtype() != dtype())
    throw std::invalid_argument("copy_from_: source " + to_string(src.shape()) + " " + dtype_name(src.dtype()) +
                                " does not match destination " + to_string(shape()) + " " + dtype_name(dtype()));
  if (src.raw_data() != raw_data()) std::memcpy(raw_data(), src.raw_data(), numel() * dtype_size(dtype()));
}

std::string Tensor::str() const {
  if (!impl_) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << to_string(shape()) << ", dtype=" << dtype_name(dtype()) << ", data=[";
  const std::size_t n = std::min<std::size_t>(numel(), 64);
  for (std::size_t i = 0; i < n; ++i) os << (i ? ", " : "") << read_as_double(raw_data(), dtype(), i);
  if (n < numel()) os << ", ...";
  os << "])";
  return os.str();
}


Tensor& Tensor::requires_grad_(bool on) {
  auto& t = const_cast<TensorImpl&>(checked());
  if (t.grad_fn && !t.grad_fn->leaf_accumulator)
    throw std::invalid_argument("requires_grad_: only leaf tensors can be marked; this one is the result of '" +
                                t.grad_fn->op + "' (use detach() first)");
  if (on && !is_floating(t.dtype))
    throw std::invalid_argument(std::string("requires_grad_: only float tensors can require gradients, not ") +
                                dtype_name(t.dtype));
  t.requires_grad = on;
  if (on && !t.grad_fn) {
    // Created now, not on first use, so that worker threads sharing this leaf never race to create it.
    auto acc = std::make_shared<Node>();
    acc->op = "leaf";
    acc->leaf_accumulator = true;
    acc->leaf = impl_;
    acc->shape = t.shape;
    acc->dtype = t.dtype;
    t.grad_fn = std::move(acc);
  } else if (!on) {
    t.grad_fn.reset();
  }
  return *this;
}

bool Tensor::is_leaf() const {
  const auto& fn = checked().grad_fn;
  return !fn || fn->leaf_accumulator;
}

Tensor& Tensor::grad() { return const_cast<TensorImpl&>(checked()).grad; }
const Tensor& Tensor::grad() const { return checked().grad; }

void Tensor::zero_grad() {
  if (!grad().defined()) return;
  // A gradient recorded by a create_graph walk may be in use by a graph: replace it, never fill it.
  if (grad().requires_grad()) grad() = Tensor::zeros(grad().shape(), grad().dtype());
  else grad().fill_(0.0);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->shape = shape();
  impl->numel = numel();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

const std::string& Tensor::name() const { return checked().name; }
Tensor& Tensor::set_name(std::string name) {
  const_cast<TensorImpl&>(checked()).name = std::move(name);
  return *this;
}

}  // namespace seqgrad
