// Tensor storage, factories, conversions and the buffer pool.
#include <gtest/gtest.h>

#include <thread>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

TEST(Tensor, FactoriesHoldTheirValues) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6u);
  EXPECT_EQ(z.dtype(), DType::f32);
  for (double v : z.to_vector()) EXPECT_EQ(v, 0.0);
  Tensor f = Tensor::full({4}, 2.5, DType::f64);
  for (double v : f.to_vector()) EXPECT_EQ(v, 2.5);
  Tensor s = Tensor::scalar(3.0);
  EXPECT_EQ(s.dim(), 0u);
  EXPECT_EQ(s.item(), 3.0);
  Tensor t = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64);
  EXPECT_EQ(t.data<double>()[4], 5.0);
  EXPECT_EQ(t.size(-1), 3u);
}

TEST(Tensor, ConversionsAndCopies) {
  Tensor t = Tensor::from({1.5, -2.25}, {2}, DType::f64);
  Tensor f = t.to(DType::f32);
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.data<float>()[1], -2.25f);
  Tensor i = t.to(DType::i64);
  EXPECT_EQ(i.data<std::int64_t>()[0], 1);
  Tensor c = t.clone();
  c.data<double>()[0] = 9;
  EXPECT_EQ(t.data<double>()[0], 1.5);  // a clone owns its data
  Tensor v = t.reshaped_view({2, 1});
  v.data<double>()[0] = 7;
  EXPECT_EQ(t.data<double>()[0], 7.0);  // a view shares it
}

TEST(Tensor, WrongElementTypeAndBadShapesAreErrors) {
  Tensor t = Tensor::zeros({2});
  EXPECT_THROW(t.data<double>(), std::invalid_argument);
  EXPECT_THROW(Tensor::from({1, 2, 3}, {2, 2}), std::invalid_argument);
  EXPECT_THROW(t.item(), std::invalid_argument);
  EXPECT_THROW(Tensor().shape(), std::logic_error);
  EXPECT_THROW(Tensor::zeros({2}, DType::i64).requires_grad_(), std::invalid_argument);
}

TEST(BufferPool, ReleasedBuffersAreReused) {
  auto pool = BufferPool::for_this_thread();
  { Tensor warm = Tensor::empty({1000, 3}); }
  const auto before = pool->stats();
  for (int i = 0; i < 10; ++i) {
    Tensor t = Tensor::empty({1000, 3});
    Tensor u = Tensor::empty({3, 1000});  // the same byte size shares one bucket
    (void)u;
  }
  const auto after = pool->stats();
  EXPECT_LE(after.fresh_allocations - before.fresh_allocations, 1u);
  EXPECT_GE(after.reuses - before.reuses, 19u);
}

TEST(BufferPool, BuffersAreAligned) {
  for (std::size_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u);
  }
}

TEST(BufferPool, EachThreadHasItsOwnPoolAndBuffersMayDieElsewhere) {
  Tensor made_elsewhere;
  BufferPool* other = nullptr;
  std::thread th([&] {
    other = BufferPool::for_this_thread().get();
    made_elsewhere = Tensor::ones({16});
  });
  th.join();
  EXPECT_NE(other, BufferPool::for_this_thread().get());
  EXPECT_EQ(made_elsewhere.to_vector()[15], 1.0);
  made_elsewhere = Tensor();  // released into the (still alive) pool of the finished thread
}
