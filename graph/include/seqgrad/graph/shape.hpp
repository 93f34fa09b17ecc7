#pragma once
// Shapes, numpy broadcasting and axis normalisation: the shape arithmetic every op shares.
#include <cstddef>
#include <string>
#include <vector>

namespace seqgrad {

using Shape = std::vector<std::size_t>;

std::string to_string(const Shape& shape);  // "[2,3]"
std::size_t numel(const Shape& shape);

// numpy rules: align on the right, a size-1 dimension stretches. Throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Maps a possibly negative axis into [0, rank); throws naming `op`, the axis and the rank.
std::size_t normalize_axis(long axis, std::size_t rank, const char* op);

// Row-major strides (in elements) of a contiguous tensor of this shape.
std::vector<std::size_t> contiguous_strides(const Shape& shape);

}  // namespace seqgrad
