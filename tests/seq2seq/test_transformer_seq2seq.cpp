// The Seq2Seq model with a transformer decoder: it runs over every encoder, its whole-target
// training pass equals stepping it one position at a time, cached decoding equals re-running the
// prefix (greedy and beam, 35 steps), scheduled sampling's two passes feed the first pass's
// guesses, its loss passes a float64 gradient check, it learns a small task, and its options are
// checked.
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/seq2seq/decoding.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/ops/ops.hpp"
#include "seq2seq_cases.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;

namespace {


ModelConfig transformer_config(EncoderKind encoder, DType dtype = DType::f64) {
  ModelConfig c;
  c.src_vocab = 8;
  c.tgt_vocab = 9;
  c.embedding_dim = 3;
  c.hidden_dim = 4;
  c.encoder = encoder;
  c.decoder = DecoderCell::transformer;
  c.decoder_layers = 2;
  c.heads = 2;
  c.feedforward_dim = 6;
  c.dtype = dtype;
  return c;
}

// The variants every property below is checked on.
std::vector<std::pair<std::string, ModelConfig>> variants(DType dtype = DType::f64) {
  std::vector<std::pair<std::string, ModelConfig>> out;
  out.emplace_back("transformer encoder, post-LN", transformer_config(EncoderKind::transformer, dtype));
  ModelConfig pre = transformer_config(EncoderKind::transformer, dtype);
  pre.norm_first = true;
  pre.positions = PositionKind::learned;
  pre.max_positions = 40;
  pre.tie_embeddings = true;
  out.emplace_back("transformer encoder, pre-LN, learned positions, tied", pre);
  ModelConfig bi = transformer_config(EncoderKind::gru, dtype);
  bi.bidirectional = true;  // states of 8: projected to the decoder's 4
  out.emplace_back("bidirectional GRU encoder", bi);
  out.emplace_back("LSTM encoder", transformer_config(EncoderKind::lstm, dtype));
  return out;
}

}  // namespace

TEST(TransformerSeq2Seq, EveryEncoderRunsWithCrossAttentionOnRealTokensOnly) {
  const seq2seq_test::TinyBatch b;
  for (const auto& [name, config] : variants()) {
    SCOPED_TRACE(name);
    Generator gen(1);
    Seq2Seq model(config, gen);
    const TrainOutput out = model.forward(b.src, b.lengths, b.tgt_in);
    EXPECT_EQ(out.logits.shape(), (Shape{2, 4, 9}));
    ASSERT_EQ(out.weights.size(), 4u);
    for (const Tensor& w : out.weights) {
      const std::vector<double> v = w.to_vector();  // [2, 4]; row 1 has 2 real tokens
      EXPECT_NEAR(v[0] + v[1] + v[2] + v[3], 1.0, 1e-12);
      EXPECT_NEAR(v[4] + v[5], 1.0, 1e-12);
      EXPECT_EQ(v[6], 0.0);
      EXPECT_EQ(v[7], 0.0);
    }
  }
}

TEST(TransformerSeq2Seq, ParametersAreNamedAndTyingSharesTheEmbedding) {
  Generator gen(2);
  ModelConfig c = transformer_config(EncoderKind::transformer);
  Seq2Seq untied(c, gen);
  EXPECT_NO_THROW(untied.parameter("decoder.layers.1.multihead_attn.in_proj_weight"));
  EXPECT_NO_THROW(untied.parameter("output.weight"));
  EXPECT_THROW(untied.parameter("bridge.weight"), std::exception);  // no s_0 to bridge to
  c.tie_embeddings = true;
  Seq2Seq tied(c, gen);
  EXPECT_THROW(tied.parameter("output.weight"), std::exception);
  EXPECT_EQ(tied.parameter("output_bias").shape(), (Shape{9}));
  EXPECT_EQ(untied.num_parameters() - tied.num_parameters(), 9u * 4u);  // one [V, d] matrix fewer
  // The scaled embedding starts at std d^-1/2 (here 0.5), its padding row at zero.
  const std::vector<double> e = tied.parameter("tgt_embedding.weight").to_vector();
  double sq = 0;
  for (std::size_t i = 4; i < e.size(); ++i) sq += e[i] * e[i];
  EXPECT_EQ(e[0], 0.0);
  EXPECT_NEAR(std::sqrt(sq / double(e.size() - 4)), 0.5, 0.2);
}

TEST(TransformerSeq2Seq, PaddingOfTheSourceAndTargetChangesNothing) {
  const seq2seq_test::TinyBatch b;
  const Tensor wider = Tensor::from_indices({4, 5, 6, 2, 0, 0, 7, 2, 0, 0, 0, 0}, {2, 6});
  const Tensor longer_tgt = Tensor::from_indices({1, 6, 5, 4, 0, 1, 7, 0, 0, 0}, {2, 5});
  for (const auto& [name, config] : variants()) {
    SCOPED_TRACE(name);
    Generator gen(3);
    Seq2Seq model(config, gen);
    const Tensor a = model.forward(b.src, b.lengths, b.tgt_in).logits;
    const std::vector<double> w = model.forward(wider, b.lengths, b.tgt_in).logits.to_vector();
    const std::vector<double> l = narrow(model.forward(b.src, b.lengths, longer_tgt).logits, 1, 0, 4).to_vector();
    const std::vector<double> av = a.to_vector();
    for (std::size_t i = 0; i < av.size(); ++i) {
      EXPECT_NEAR(av[i], w[i], 1e-12) << "element " << i;
      EXPECT_NEAR(av[i], l[i], 1e-12) << "element " << i;  // causal: later positions change nothing before them
    }
  }
}

// Training runs all positions at once; decoding steps through them. Both give the same logits, with
// the cache and without.
TEST(TransformerSeq2Seq, WholeTargetPassEqualsSteppingWithAndWithoutTheCache) {
  const seq2seq_test::TinyBatch b;
  for (const auto& [name, config] : variants()) {
    for (bool cached : {true, false}) {
      SCOPED_TRACE(name + (cached ? ", cached" : ", recomputed"));
      Generator gen(4);
      Seq2Seq model(config, gen);
      model.eval();
      const std::vector<double> whole = model.forward(b.src, b.lengths, b.tgt_in).logits.to_vector();  // [2, 4, 9]
      const EncodedSource source = model.encode(b.src, b.lengths);
      DecoderState state = source.initial;
      state.recompute_prefix = !cached;
      for (std::size_t t = 0; t < 4; ++t) {
        const Tensor prev = Tensor::from_indices({b.tgt_in.data<std::int64_t>()[t], b.tgt_in.data<std::int64_t>()[4 + t]}, {2});
        const StepOutput s = model.step(source, prev, state);
        EXPECT_EQ(s.state.position(), t + 1);
        EXPECT_EQ(s.head_weights.shape(), (Shape{2, 2, 4}));
        const std::vector<double> step = s.logits.to_vector();
        for (std::size_t r = 0; r < 2; ++r)
          for (std::size_t v = 0; v < 9; ++v)
            EXPECT_NEAR(step[r * 9 + v], whole[(r * 4 + t) * 9 + v], 1e-12) << "row " << r << " step " << t;
        state = s.state;
      }
    }
  }
}

namespace {
// An output bias that keeps <eos> (id 2) from ever being chosen: every hypothesis runs to max_length.
void never_end(Seq2Seq& model) {
  Tensor bias = model.config().tie_embeddings ? model.parameter("output_bias") : model.parameter("output.bias");
  std::vector<double> v = bias.to_vector();
  v[2] = -1e4;
  bias.copy_from_(Tensor::from(v, bias.shape(), bias.dtype()));
}
}  // namespace

// The cache changes the cost, not the answer: 35 steps of greedy and of beam search give the same
// tokens, scores and attention.
TEST(TransformerSeq2Seq, CachedDecodingEqualsRecomputingThePrefix) {
  const seq2seq_test::TinyBatch b;
  for (const auto& [name, config] : variants(DType::f32)) {
    SCOPED_TRACE(name);
    Generator gen(5);
    Seq2Seq model(config, gen);
    model.eval();
    never_end(model);
    for (std::size_t beam : {std::size_t(0), std::size_t(3)}) {
      DecodeOptions options{.max_length = 35, .beam_width = beam ? beam : 1};
      options.attention_head = 1;
      DecodeOptions recompute = options;
      recompute.cache = false;
      const auto cached = beam ? beam_search(model, b.src, b.lengths, options) : greedy_decode(model, b.src, b.lengths, options);
      const auto slow = beam ? beam_search(model, b.src, b.lengths, recompute) : greedy_decode(model, b.src, b.lengths, recompute);
      for (std::size_t r = 0; r < 2; ++r) {
        SCOPED_TRACE((beam ? "beam, row " : "greedy, row ") + std::to_string(r));
        ASSERT_EQ(cached[r].tokens.size(), 35u);
        EXPECT_EQ(cached[r].tokens, slow[r].tokens);
        EXPECT_NEAR(cached[r].log_prob, slow[r].log_prob, 1e-5);
        EXPECT_NEAR(cached[r].score, slow[r].score, 1e-5);
        ASSERT_EQ(cached[r].attention.size(), slow[r].attention.size());
        for (std::size_t t = 0; t < cached[r].attention.size(); ++t)
          for (std::size_t i = 0; i < cached[r].attention[t].size(); ++i)
            EXPECT_NEAR(cached[r].attention[t][i], slow[r].attention[t][i], 1e-5) << "step " << t;
      }
    }
  }
}

TEST(TransformerSeq2Seq, ScheduledSamplingFeedsTheFirstPassGuesses) {
  // With ratio 0 the input at t > 0 is the first (teacher-forced) pass's argmax at t - 1.
  const seq2seq_test::TinyBatch b;
  Generator gen(6), feed(7);
  Seq2Seq model(transformer_config(EncoderKind::transformer), gen);
  const Tensor first = argmax(model.forward(b.src, b.lengths, b.tgt_in).logits, -1);  // [2, 4]
  std::vector<std::int64_t> fed = {1, 0, 0, 0, 1, 0, 0, 0};
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t t = 1; t < 4; ++t) fed[r * 4 + t] = first.data<std::int64_t>()[r * 4 + t - 1];
  const TrainOutput sampled = model.forward(b.src, b.lengths, b.tgt_in, {.teacher_forcing_ratio = 0.0, .gen = &feed});
  const TrainOutput forced = model.forward(b.src, b.lengths, Tensor::from_indices(fed, {2, 4}));
  EXPECT_EQ(sampled.logits.to_vector(), forced.logits.to_vector());
  // Ratio 1 is plain teacher forcing and draws nothing.
  Generator untouched(7);
  const TrainOutput truth = model.forward(b.src, b.lengths, b.tgt_in, {.teacher_forcing_ratio = 1.0, .gen = &untouched});
  EXPECT_EQ(truth.logits.to_vector(), model.forward(b.src, b.lengths, b.tgt_in).logits.to_vector());
  EXPECT_EQ(untouched.next_u64(), Generator(7).next_u64());
}

TEST(TransformerSeq2Seq, LossGradientMatchesFiniteDifferences) {
  const seq2seq_test::TinyBatch b;
  for (const auto& [name, config] : variants()) {
    Generator gen(8);
    Seq2Seq model(config, gen);
    const auto loss = [&](const std::vector<Tensor>&) {
      return nn::sequence_cross_entropy(model.forward(b.src, b.lengths, b.tgt_in).logits, b.tgt_out, 0);
    };
    const GradCheckResult r = gradcheck("seq2seq transformer decoder, " + name, loss, model.parameters(), test_support::kLayerCheck);
    EXPECT_TRUE(r.ok) << r.report;
  }
}

TEST(TransformerSeq2Seq, OverfitsAFewPairsToExactOutput) {
  const seq2seq_test::FourReversals task;  // the cross-attention must find the right source position
  ModelConfig c = transformer_config(EncoderKind::transformer, DType::f32);
  c.hidden_dim = 16;
  c.feedforward_dim = 32;
  c.tie_embeddings = true;
  Generator gen(9);
  Seq2Seq model(c, gen);
  task.fit(model, 0.01, 200);
  model.eval();
  const std::vector<Hypothesis> out = beam_search(model, task.src, task.lengths, {.max_length = 10, .beam_width = 3});
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i].tokens, task.want[i]) << "pair " << i;
    EXPECT_TRUE(out[i].finished);
  }
}

TEST(TransformerSeq2Seq, BadOptionsAreClearErrors) {
  const seq2seq_test::TinyBatch b;
  Generator gen(10);
  const auto message = [&](const ModelConfig& c) {
    try {
      Seq2Seq model(c, gen);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  ModelConfig layers = transformer_config(EncoderKind::gru);
  layers.decoder = DecoderCell::gru;  // one cell: two decoder layers are not a thing it has
  EXPECT_NE(message(layers).find("decoder_layers 2 with a gru decoder"), std::string::npos) << message(layers);
  ModelConfig tie = transformer_config(EncoderKind::gru);
  tie.decoder = DecoderCell::lstm;
  tie.decoder_layers = 1;
  tie.tie_embeddings = true;
  EXPECT_NE(message(tie).find("tie_embeddings needs the transformer decoder"), std::string::npos) << message(tie);
  ModelConfig heads = transformer_config(EncoderKind::gru);
  heads.heads = 3;
  EXPECT_NE(message(heads).find("not divisible by 3 heads"), std::string::npos) << message(heads);

  ModelConfig learned = transformer_config(EncoderKind::gru);
  learned.positions = PositionKind::learned;
  learned.max_positions = 5;
  Seq2Seq model(learned, gen);
  model.eval();
  never_end(model);
  try {
    greedy_decode(model, b.src, b.lengths, {.max_length = 8});
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("position 5 is beyond the 5 learned positions"), std::string::npos) << e.what();
  }
  DecodeOptions head{.max_length = 3};
  head.attention_head = 2;
  try {
    greedy_decode(model, b.src, b.lengths, head);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("attention_head 2 is not one of the model's 2 heads"), std::string::npos) << e.what();
  }
}
