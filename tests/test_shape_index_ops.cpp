// Shape and index ops: forward values against hand-computed expectations, gradients at known places
// (the catalogue's gradient checks cover the rest), data sharing, round trips and errors.
#include <gtest/gtest.h>

#include <functional>
#include <numeric>

#include "seqgrad/seqgrad.hpp"
#include "support/expect_error.hpp"

using namespace seqgrad;
using seqgrad::test_support::expect_error;

namespace {

using Values = std::vector<double>;

// 0, 1, 2, ... in the given shape.
Tensor arange(const Shape& shape, DType dtype = DType::f64) {
  Values v(numel(shape));
  std::iota(v.begin(), v.end(), 0.0);
  return Tensor::from(v, shape, dtype);
}

Tensor ids(std::vector<std::int64_t> v, const Shape& shape) { return Tensor::from_indices(v, shape); }

// d(sum(y * upstream)) / d(leaf) for y = f(leaf): the gradient the op's backward delivers.
Tensor grad_of(const Tensor& leaf_values, const std::function<Tensor(const Tensor&)>& f, const Tensor& upstream) {
  Tensor x = leaf_values.clone().requires_grad_();
  backward(f(x), upstream);
  return x.grad();
}

}  // namespace

// ---- reshape family ----

TEST(Reshape, SharesTheInputsData) {
  Tensor x = arange({2, 3});
  Tensor y = reshape(x, {3, 2});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.raw_data(), x.raw_data());
  x.fill_(7.0);
  EXPECT_EQ(y.to_vector(), Values(6, 7.0));
  EXPECT_EQ(unsqueeze(x, 0).raw_data(), x.raw_data());
  EXPECT_EQ(squeeze(unsqueeze(x, 1), 1).raw_data(), x.raw_data());
}

TEST(Reshape, InfersOneDimension) {
  const Tensor x = arange({2, 3, 4});
  EXPECT_EQ(reshape_infer(x, {-1, 4}).shape(), (Shape{6, 4}));
  EXPECT_EQ(reshape_infer(x, {2, -1, 3}).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(reshape_infer(x, {24}).shape(), (Shape{24}));
  EXPECT_EQ(reshape_infer(x, {-1, 4}).to_vector(), x.to_vector());
  expect_error([&] { reshape_infer(x, {-1, -1}); }, {"reshape_infer", "[2,3,4]", "-1"});
  expect_error([&] { reshape_infer(x, {-1, 5}); }, {"reshape_infer", "[2,3,4]", "[-1,5]"});
  expect_error([&] { reshape_infer(x, {5, 5}); }, {"reshape_infer", "[5,5]"});
  expect_error([&] { reshape_infer(x, {-2, 12}); }, {"reshape_infer", "negative"});
  expect_error([&] { reshape(x, {5, 5}); }, {"reshape", "[2,3,4]", "[5,5]"});
}

TEST(Reshape, GradientIsTheUpstreamInTheInputsShape) {
  const Tensor up = arange({6});
  const Tensor g = grad_of(arange({2, 3}), [](const Tensor& x) { return reshape(x, {6}); }, up);
  EXPECT_EQ(g.shape(), (Shape{2, 3}));
  EXPECT_EQ(g.to_vector(), up.to_vector());
}

TEST(Reshape, UnsqueezeAndSqueezeTakeNegativeAxes) {
  const Tensor x = arange({2, 3});
  EXPECT_EQ(unsqueeze(x, 0).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(unsqueeze(x, 2).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -3).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(squeeze(arange({2, 1, 3}), -2).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(arange({1}), 0).shape(), (Shape{}));
  expect_error([&] { squeeze(x, 1); }, {"squeeze", "dimension 1", "[2,3]", "size 3"});
  expect_error([&] { unsqueeze(x, 3); }, {"unsqueeze", "axis 3", "rank 2"});
  expect_error([&] { squeeze(x, -3); }, {"squeeze", "axis -3", "rank 2"});
}

// ---- permute, transpose ----

TEST(Permute, MovesEveryElement) {
  const Tensor x = arange({2, 3, 4});
  const Tensor y = permute(x, {2, 0, 1});
  ASSERT_EQ(y.shape(), (Shape{4, 2, 3}));
  const double* X = x.data<double>();
  const double* Y = y.data<double>();
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(Y[(k * 2 + i) * 3 + j], X[(i * 3 + j) * 4 + k]);
}

TEST(Permute, InverseOrderRestoresTheInputAndTheGradientGoesBack) {
  const Tensor x = arange({2, 3, 4, 5});
  const std::vector<std::vector<std::size_t>> orders = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 2, 3}, {2, 3, 0, 1}, {0, 3, 1, 2}};
  for (const auto& order : orders) {
    std::vector<std::size_t> inverse(order.size());
    for (std::size_t k = 0; k < order.size(); ++k) inverse[order[k]] = k;
    EXPECT_EQ(permute(permute(x, order), inverse).to_vector(), x.to_vector()) << to_string(order);
    // The gradient of permute is the upstream permuted back.
    const Tensor up = arange(permute(x, order).shape());
    const Tensor g = grad_of(x, [&](const Tensor& t) { return permute(t, order); }, up);
    EXPECT_EQ(g.to_vector(), permute(up, inverse).to_vector()) << to_string(order);
  }
}

TEST(Permute, WorksOnIntegerTensors) {
  const Tensor t = ids({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(transpose(t, 0, 1).to_vector(), (Values{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(transpose(t, 0, 1).dtype(), DType::i64);
}

TEST(Permute, TransposeSwapsTwoAxes) {
  const Tensor x = arange({2, 3});
  const Tensor y = transpose(x, -1, 0);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.to_vector(), (Values{0, 3, 1, 4, 2, 5}));
  expect_error([&] { transpose(x, 0, 2); }, {"transpose", "axis 2", "rank 2"});
  expect_error([&] { permute(x, {0, 0}); }, {"permute", "[0,0]", "[2,3]"});
  expect_error([&] { permute(x, {0, 1, 2}); }, {"permute", "[0,1,2]", "[2,3]"});
}

// ---- broadcast_to ----

TEST(BroadcastTo, RepeatsAndSumsBack) {
  const Tensor x = Tensor::from({1, 2, 3}, {3, 1}, DType::f64);
  const Tensor y = broadcast_to(x, {2, 3, 2});
  EXPECT_EQ(y.to_vector(), (Values{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  const Tensor g = grad_of(x, [](const Tensor& t) { return broadcast_to(t, {2, 3, 2}); }, arange({2, 3, 2}));
  // element r of x collects upstream[b, r, c] over b and c: 0+1+6+7, 2+3+8+9, 4+5+10+11
  EXPECT_EQ(g.to_vector(), (Values{14, 22, 30}));
  expect_error([&] { broadcast_to(x, {3, 2, 2}); }, {"broadcast_to", "[3,1]", "[3,2,2]"});
  expect_error([&] { broadcast_to(x, {3}); }, {"broadcast_to", "[3,1]", "[3]"});
}

// ---- concat, stack ----

TEST(Concat, JoinsAlongAnyAxis) {
  const Tensor a = arange({2, 2}), b = Tensor::from({10, 11, 12, 13, 14, 15}, {2, 3}, DType::f64);
  EXPECT_EQ(concat({a, b}, 1).to_vector(), (Values{0, 1, 10, 11, 12, 2, 3, 13, 14, 15}));
  EXPECT_EQ(concat({a, b}, -1).shape(), (Shape{2, 5}));
  const Tensor c = Tensor::from({20, 21}, {1, 2}, DType::f64);
  EXPECT_EQ(concat({a, c, a}, 0).to_vector(), (Values{0, 1, 2, 3, 20, 21, 0, 1, 2, 3}));
  EXPECT_EQ(concat({arange({2, 0}), a}, 1).to_vector(), a.to_vector());  // an empty block joins nothing
}

TEST(Concat, EachInputGetsItsSliceOfTheGradient) {
  Tensor a = arange({2, 1}).requires_grad_(), b = arange({2, 2}).requires_grad_();
  backward(concat({a, b}, 1), Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64));
  EXPECT_EQ(a.grad().to_vector(), (Values{1, 4}));
  EXPECT_EQ(b.grad().to_vector(), (Values{2, 3, 5, 6}));
}

TEST(Concat, RefusesMismatchedShapesAndDtypes) {
  expect_error([] { concat({arange({2, 3}), arange({3, 3})}, 1); }, {"concat", "[2,3]", "[3,3]", "axis 1"});
  expect_error([] { concat({arange({2, 3}), arange({2})}, 0); }, {"concat", "[2,3]", "[2]"});
  expect_error([] { concat({arange({2, 3}), arange({2, 3}, DType::f32)}, 0); }, {"concat", "float32", "float64"});
  expect_error([] { concat({arange({2, 3})}, 2); }, {"concat", "axis 2", "rank 2"});
  expect_error([] { concat({}, 0); }, {"concat"});
}

TEST(Concat, JoinsMasksAndIds) {
  EXPECT_EQ(concat({ids({1, 2}, {2}), ids({3}, {1})}, 0).to_vector(), (Values{1, 2, 3}));
  const Tensor m = gt(Tensor::from({1, -1}, {2}), 0.0);
  const Tensor joined = concat({m, m}, 0);
  EXPECT_EQ(joined.dtype(), DType::b8);
  EXPECT_EQ(joined.to_vector(), (Values{1, 0, 1, 0}));
}

TEST(Stack, AddsANewAxis) {
  const Tensor a = arange({2, 3}), b = Tensor::from({10, 11, 12, 13, 14, 15}, {2, 3}, DType::f64);
  const Tensor s0 = stack({a, b}, 0);
  EXPECT_EQ(s0.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s0.to_vector(), (Values{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}));
  const Tensor s2 = stack({a, b}, -1);
  EXPECT_EQ(s2.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s2.to_vector(), (Values{0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15}));
  expect_error([&] { stack({a, arange({3, 2})}, 0); }, {"stack", "[2,3]", "[3,2]"});
  expect_error([&] { stack({a, b}, 3); }, {"stack", "axis 3", "rank 2"});
}

// ---- narrow, split ----

TEST(Narrow, CopiesASubBlockAndAddsTheGradientBackIntoIt) {
  const Tensor x = arange({3, 4});
  EXPECT_EQ(narrow(x, 1, 1, 2).to_vector(), (Values{1, 2, 5, 6, 9, 10}));
  EXPECT_EQ(narrow(x, 0, 2, 1).to_vector(), (Values{8, 9, 10, 11}));
  EXPECT_EQ(narrow(x, -1, 4, 0).shape(), (Shape{3, 0}));
  const Tensor g = grad_of(x, [](const Tensor& t) { return narrow(t, 1, 1, 2); },
                           Tensor::from({1, 2, 3, 4, 5, 6}, {3, 2}, DType::f64));
  EXPECT_EQ(g.to_vector(), (Values{0, 1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0}));
}

// The backwards of permute and narrow write a fresh gradient buffer outright (narrow: zeros only
// around its slice) and add into one that already holds a term: a second path into the input, its
// term before or after theirs, and a second backward into a leaf's .grad, give the sums.
TEST(Narrow, AndPermuteWriteAFreshGradientAndAddToOneAlreadyThere) {
  const Tensor up = arange({4, 2, 3});
  const Tensor back = permute(up, {1, 2, 0});  // permute's gradient: up permuted back
  std::vector<double> expected = back.to_vector();
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t k = 1; k < 3; ++k) expected[i * 4 + k] += 3.0;  // narrow(axis 2, 1, 2), times 3
  for (double& e : expected) e += 2.0;  // the third path, a * 2
  for (const bool third_path_first : {false, true}) {
    Tensor x = arange({2, 3, 4}).requires_grad_();
    const Tensor a = x * 1.0;  // interior: its gradient buffer starts fresh
    const Tensor p = sum(permute(a, {2, 0, 1}) * up), n = sum(narrow(a, 2, 1, 2) * 3.0), o = sum(a * 2.0);
    backward(third_path_first ? o + (p + n) : (p + n) + o);
    EXPECT_EQ(x.grad().to_vector(), expected) << third_path_first;
  }
  Tensor w = arange({2, 3, 4}).requires_grad_();  // a leaf: the second backward adds into its .grad
  for (int pass = 0; pass < 2; ++pass) backward(sum(permute(w, {2, 0, 1}) * up) + sum(narrow(w, 2, 1, 2) * 3.0));
  std::vector<double> twice = expected;
  for (double& e : twice) e = 2 * (e - 2.0);
  EXPECT_EQ(w.grad().to_vector(), twice);
}

TEST(Narrow, OutOfRangeNamesStartLengthAndSize) {
  const Tensor x = arange({3, 4});
  expect_error<std::out_of_range>([&] { narrow(x, 1, 3, 2); }, {"narrow", "start 3", "length 2", "size 4"});
  expect_error<std::out_of_range>([&] { narrow(x, 0, 4, 0); }, {"narrow", "start 4", "size 3"});
  expect_error<std::out_of_range>([&] { narrow(x, 1, 1, std::size_t(-1)); }, {"narrow", "start 1", "size 4"});
  expect_error([&] { narrow(x, 2, 0, 1); }, {"narrow", "axis 2", "rank 2"});
}

TEST(Split, ChunksWithASmallerLast) {
  const Tensor x = arange({5, 2});
  const auto parts = split(x, 2, 0);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].to_vector(), (Values{0, 1, 2, 3}));
  EXPECT_EQ(parts[1].to_vector(), (Values{4, 5, 6, 7}));
  EXPECT_EQ(parts[2].to_vector(), (Values{8, 9}));
  EXPECT_EQ(split(x, 2, -1).size(), 1u);
  EXPECT_EQ(split(x, 7, 0).size(), 1u);
  expect_error([&] { split(x, 0, 0); }, {"split", "0"});
}

// ---- cast ----

TEST(Cast, ConvertsAndCastsTheGradientBack) {
  Tensor x = Tensor::from({0.5, -1.25}, {2}, DType::f32).requires_grad_();
  const Tensor y = cast(x, DType::f64);
  EXPECT_EQ(y.dtype(), DType::f64);
  EXPECT_EQ(y.to_vector(), (Values{0.5, -1.25}));
  backward(y, Tensor::from({2, 3}, {2}, DType::f64));
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  EXPECT_EQ(x.grad().to_vector(), (Values{2, 3}));
  EXPECT_EQ(cast(x, DType::f32).impl(), x.impl());
  const Tensor token_ids = cast(Tensor::from({1.0, 2.0}, {2}), DType::i64);
  EXPECT_EQ(token_ids.dtype(), DType::i64);
  EXPECT_FALSE(cast(x, DType::i64).requires_grad());
  EXPECT_EQ(cast(token_ids, DType::f32).to_vector(), (Values{1, 2}));
}

// ---- embedding ----

TEST(Embedding, CopiesRowsAndScatterAddsTheirGradients) {
  const Tensor w = arange({4, 2});
  const Tensor idx = ids({3, 1, 3, 0}, {2, 2});
  const Tensor y = embedding(w, idx);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(y.to_vector(), (Values{6, 7, 2, 3, 6, 7, 0, 1}));
  const Tensor up = Tensor::from({1, 2, 10, 20, 100, 200, 1000, 2000}, {2, 2, 2}, DType::f64);
  const Tensor g = grad_of(w, [&](const Tensor& t) { return embedding(t, idx); }, up);
  // row 3 is used twice: 1 + 100 and 2 + 200; row 2 not at all
  EXPECT_EQ(g.to_vector(), (Values{1000, 2000, 10, 20, 0, 0, 101, 202}));
}

TEST(Embedding, PaddingRowGetsNoGradient) {
  const Tensor w = arange({3, 2});
  const Tensor idx = ids({0, 2, 0, 1}, {4});
  const Tensor y = embedding(w, idx, 0);
  EXPECT_EQ(y.to_vector(), (Values{0, 1, 4, 5, 0, 1, 2, 3}));  // the padding row is still looked up
  const Tensor g = grad_of(w, [&](const Tensor& t) { return embedding(t, idx, 0); }, Tensor::ones({4, 2}, DType::f64));
  EXPECT_EQ(g.to_vector(), (Values{0, 0, 1, 1, 1, 1}));
}

TEST(Embedding, RefusesBadIndices) {
  const Tensor w = arange({10, 3});
  expect_error<std::out_of_range>([&] { embedding(w, ids({1, 12}, {2})); }, {"embedding: index 12 is out of range for 10 rows"});
  expect_error<std::out_of_range>([&] { embedding(w, ids({-1}, {1})); }, {"embedding: index -1 is out of range for 10 rows"});
  expect_error<std::out_of_range>([&] { embedding(w, ids({1}, {1}), 10); }, {"embedding", "padding_idx 10", "10 rows"});
  expect_error([&] { embedding(w, Tensor::from({1.0}, {1})); }, {"embedding", "int64", "float32"});
  expect_error([&] { embedding(arange({10}), ids({1}, {1})); }, {"embedding", "2-D", "[10]"});
  expect_error([&] { embedding(arange({2, 2}, DType::f32).to(DType::i64), ids({1}, {1})); }, {"embedding", "int64"});
}

// ---- index_select ----

TEST(IndexSelect, PicksAlongAnAxisAndSumsRepeatedGradients) {
  const Tensor x = arange({2, 3, 2});
  const Tensor idx = ids({2, 0, 2}, {3});
  const Tensor y = index_select(x, 1, idx);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(y.to_vector(), (Values{4, 5, 0, 1, 4, 5, 10, 11, 6, 7, 10, 11}));
  EXPECT_EQ(index_select(x, -1, ids({1}, {1})).to_vector(), (Values{1, 3, 5, 7, 9, 11}));
  const Tensor g = grad_of(x, [&](const Tensor& t) { return index_select(t, 1, idx); }, Tensor::ones({2, 3, 2}, DType::f64));
  EXPECT_EQ(g.to_vector(), (Values{1, 1, 0, 0, 2, 2, 1, 1, 0, 0, 2, 2}));
  // Reordering token ids (as beam search does) works on int64 tensors too.
  EXPECT_EQ(index_select(ids({7, 8, 9}, {3}), 0, ids({2, 2, 0}, {3})).to_vector(), (Values{9, 9, 7}));
}

TEST(IndexSelect, RefusesBadIndices) {
  const Tensor x = arange({2, 4});
  expect_error<std::out_of_range>([&] { index_select(x, 1, ids({4}, {1})); }, {"index_select: index 4", "axis 1", "size 4"});
  expect_error<std::out_of_range>([&] { index_select(x, 0, ids({-2}, {1})); }, {"index_select: index -2", "axis 0", "size 2"});
  expect_error([&] { index_select(x, 1, ids({0, 1}, {1, 2})); }, {"index_select", "1-D", "[1,2]"});
  expect_error([&] { index_select(x, 2, ids({0}, {1})); }, {"index_select", "axis 2", "rank 2"});
  expect_error([&] { index_select(x, 0, Tensor::from({0}, {1}, DType::f64)); }, {"index_select", "int64", "float64"});
}

// ---- gather ----

TEST(Gather, FollowsTorchGather) {
  const Tensor x = arange({2, 3});  // [[0,1,2],[3,4,5]]
  // torch.gather(x, 1, [[2,0],[1,1]]) = [[2,0],[4,4]]
  EXPECT_EQ(gather(x, 1, ids({2, 0, 1, 1}, {2, 2})).to_vector(), (Values{2, 0, 4, 4}));
  // torch.gather(x, 0, [[1,0,1]]) = [[3,1,5]]
  EXPECT_EQ(gather(x, 0, ids({1, 0, 1}, {1, 3})).to_vector(), (Values{3, 1, 5}));
  // 3-D, last axis: picking one entry per row, as for target log-probabilities
  const Tensor x3 = arange({2, 2, 3});
  EXPECT_EQ(gather(x3, -1, ids({2, 0, 1, 1}, {2, 2, 1})).to_vector(), (Values{2, 3, 7, 10}));
  const Tensor g = grad_of(x, [](const Tensor& t) { return gather(t, 1, ids({2, 2, 2, 0}, {2, 2})); },
                           Tensor::from({1, 2, 3, 4}, {2, 2}, DType::f64));
  EXPECT_EQ(g.to_vector(), (Values{0, 0, 3, 4, 0, 3}));
}

TEST(Gather, RefusesBadIndices) {
  const Tensor x = arange({2, 3});
  expect_error<std::out_of_range>([&] { gather(x, 1, ids({3}, {1, 1})); }, {"gather: index 3", "axis 1", "size 3"});
  expect_error<std::out_of_range>([&] { gather(x, 0, ids({-1}, {1, 1})); }, {"gather: index -1", "axis 0", "size 2"});
  expect_error([&] { gather(x, 1, ids({0, 1}, {2})); }, {"gather", "[2]", "[2,3]"});
  expect_error([&] { gather(x, 1, ids({0, 0, 0}, {3, 1})); }, {"gather", "[3,1]", "[2,3]"});
  expect_error([&] { gather(x, -3, ids({0}, {1, 1})); }, {"gather", "axis -3", "rank 2"});
  expect_error([&] { gather(x, 1, Tensor::from({0}, {1, 1})); }, {"gather", "int64", "float32"});
}

// index_add and scatter_add: the backwards of index_select and gather, as ops of their own so that
// those gradients can be differentiated again. Values from torch.index_add / torch.scatter_add.
TEST(IndexAdd, FollowsTorchIndexAdd) {
  const Tensor x = arange({2, 3}) + 1.0;  // [[1,2,3],[4,5,6]]
  const Tensor source = Tensor::from({10, 20, 30, 40, 50, 60}, {2, 3}, DType::f64);
  EXPECT_EQ(index_add(x, 1, ids({2, 0, 2}, {3}), source).to_vector(), (Values{21, 2, 43, 54, 5, 106}));
  // d/dsource = index_select of the upstream gradient; d/dx = the upstream gradient
  const Tensor up = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64);
  EXPECT_EQ(grad_of(source, [&](const Tensor& s) { return index_add(x, 1, ids({2, 0, 2}, {3}), s); }, up).to_vector(),
            (Values{3, 1, 3, 6, 4, 6}));
}

TEST(ScatterAdd, FollowsTorchScatterAdd) {
  const Tensor x = Tensor::zeros({2, 3}, DType::f64);
  const Tensor source = Tensor::from({1, 2, 3, 4}, {2, 2}, DType::f64);
  EXPECT_EQ(scatter_add(x, 1, ids({2, 0, 2, 1}, {2, 2}), source).to_vector(), (Values{2, 0, 1, 0, 4, 3}));
  const Tensor up = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64);
  EXPECT_EQ(grad_of(source, [&](const Tensor& s) { return scatter_add(x, 1, ids({2, 0, 2, 1}, {2, 2}), s); }, up)
                .to_vector(),
            (Values{3, 1, 6, 5}));
}

TEST(IndexAdd, RefusesWhatDoesNotFit) {
  const Tensor x = arange({2, 3});
  expect_error([&] { index_add(x, 1, ids({0, 1}, {2}), arange({2, 3})); }, {"index_add", "[2,3]", "[2,2]"});
  expect_error<std::out_of_range>([&] { index_add(x, 1, ids({3}, {1}), arange({2, 1})); }, {"index_add", "3"});
  expect_error([&] { scatter_add(x, 1, ids({0, 1}, {1, 2}), arange({1, 3})); }, {"scatter_add", "[1,2]", "[1,3]"});
  expect_error<std::out_of_range>([&] { scatter_add(x, 1, ids({5}, {1, 1}), arange({1, 1})); }, {"scatter_add", "5"});
}
