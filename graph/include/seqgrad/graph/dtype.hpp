#pragma once
// Element types a Tensor can hold. float32 is for training, float64 for gradient checking,
// int64 for indices and targets, bool for masks.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace seqgrad {

enum class DType : std::uint8_t { f32, f64, i64, b8 };

constexpr std::size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i64: return 8;
    case DType::b8: return 1;
  }
  return 0;
}

constexpr const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    case DType::b8: return "bool";
  }
  return "?";
}

constexpr bool is_floating(DType dt) { return dt == DType::f32 || dt == DType::f64; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<bool>() { return DType::b8; }

// Calls f(T{}) with T the C++ type of a floating dtype; other dtypes are an error naming `op`.
template <class F>
decltype(auto) dispatch_float(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default:
      throw std::invalid_argument(std::string(op) + ": expected a float32 or float64 tensor, got " +
                                  dtype_name(dt));
  }
}

// Like dispatch_float, but every dtype is accepted.
template <class F>
decltype(auto) dispatch_any(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i64: return f(std::int64_t{});
    case DType::b8: break;
  }
  return f(bool{});
}

}  // namespace seqgrad
