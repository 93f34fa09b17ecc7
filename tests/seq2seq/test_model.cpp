// The encoder-decoder end to end on tiny sizes: every encoder/context combination runs with the
// right shapes and attention rules, the loss of a batch passes a float64 gradient check through the
// whole model, a model with attention overfits a few pairs to exact output, beam search of width 1
// is greedy, scheduled sampling feeds the model's own guesses, and the schedules give their formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/seq2seq/decoding.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/nn/seq2seq/sampling.hpp"
#include "seqgrad/ops/ops.hpp"
#include "seq2seq_cases.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;

namespace {

using seq2seq_test::TinyBatch;

ModelConfig tiny_config(EncoderKind encoder, ContextKind context, DType dtype = DType::f64) {
  ModelConfig c;
  c.src_vocab = 8;
  c.tgt_vocab = 9;
  c.embedding_dim = 3;
  c.hidden_dim = 4;
  c.attention_dim = 3;
  c.encoder = encoder;
  c.context = context;
  c.heads = 2;
  c.feedforward_dim = 6;
  c.dtype = dtype;
  return c;
}

const ContextKind kAllContexts[] = {ContextKind::none,    ContextKind::mean,     ContextKind::dot,
                                    ContextKind::scaled_dot, ContextKind::general, ContextKind::additive,
                                    ContextKind::multi_head};

}  // namespace

TEST(Seq2Seq, EveryEncoderAndContextRunsWithAttentionOnRealTokensOnly) {
  const TinyBatch b;
  for (EncoderKind enc : {EncoderKind::gru, EncoderKind::lstm, EncoderKind::transformer})
    for (ContextKind ctx : kAllContexts) {
      SCOPED_TRACE(to_string(enc) + " + " + to_string(ctx));
      Generator gen(1);
      Seq2Seq model(tiny_config(enc, ctx), gen);
      const TrainOutput out = model.forward(b.src, b.lengths, b.tgt_in);
      EXPECT_EQ(out.logits.shape(), (Shape{2, 4, 9}));
      const bool attends = ctx != ContextKind::none && ctx != ContextKind::mean;
      ASSERT_EQ(out.weights.size(), attends ? 4u : 0u);
      for (const Tensor& w : out.weights) {
        const std::vector<double> v = w.to_vector();  // [2, 4]; row 1 has 2 real tokens
        EXPECT_NEAR(v[0] + v[1] + v[2] + v[3], 1.0, 1e-12);
        EXPECT_NEAR(v[4] + v[5], 1.0, 1e-12);
        EXPECT_EQ(v[6], 0.0);
        EXPECT_EQ(v[7], 0.0);
      }
    }
}

TEST(Seq2Seq, BidirectionalMultiLayerEncoderWithLstmDecoder) {
  const TinyBatch b;
  ModelConfig c = tiny_config(EncoderKind::lstm, ContextKind::additive);
  c.bidirectional = true;
  c.encoder_layers = 2;
  c.decoder = DecoderCell::lstm;
  Generator gen(2);
  Seq2Seq model(c, gen);
  EXPECT_EQ(model.context_dim(), 8u);
  EXPECT_NO_THROW(model.parameter("bridge.weight"));
  EXPECT_NO_THROW(model.parameter("encoder.weight_hh_l1_reverse"));
  EXPECT_EQ(model.forward(b.src, b.lengths, b.tgt_in).logits.shape(), (Shape{2, 4, 9}));
}

TEST(Seq2Seq, PaddingOfTheSourceChangesNothing) {
  // The same two sequences, padded to 4 and to 6 columns, give the same logits.
  const TinyBatch b;
  const Tensor wider = Tensor::from_indices({4, 5, 6, 2, 0, 0, 7, 2, 0, 0, 0, 0}, {2, 6});
  for (EncoderKind enc : {EncoderKind::gru, EncoderKind::transformer}) {
    Generator gen(3);
    Seq2Seq model(tiny_config(enc, ContextKind::additive), gen);
    const std::vector<double> a = model.forward(b.src, b.lengths, b.tgt_in).logits.to_vector();
    const std::vector<double> w = model.forward(wider, b.lengths, b.tgt_in).logits.to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], w[i], 1e-12) << to_string(enc) << " element " << i;
  }
}

TEST(Seq2Seq, LossGradientThroughTheWholeModelMatchesFiniteDifferences) {
  const TinyBatch b;
  for (EncoderKind enc : {EncoderKind::gru, EncoderKind::transformer})
    for (ContextKind ctx : {ContextKind::additive, ContextKind::multi_head, ContextKind::mean}) {
      Generator gen(4);
      Seq2Seq model(tiny_config(enc, ctx), gen);
      const auto loss = [&](const std::vector<Tensor>&) {
        return nn::sequence_cross_entropy(model.forward(b.src, b.lengths, b.tgt_in).logits, b.tgt_out, 0);
      };
      const GradCheckResult r = gradcheck("seq2seq " + to_string(enc) + " + " + to_string(ctx), loss,
                                          model.parameters(), test_support::kLayerCheck);
      EXPECT_TRUE(r.ok) << r.report;
    }
}

TEST(Seq2Seq, OverfitsAFewPairsToExactOutput) {
  const seq2seq_test::FourReversals task;
  ModelConfig c = tiny_config(EncoderKind::gru, ContextKind::additive, DType::f32);
  c.embedding_dim = 8;
  c.hidden_dim = 16;
  c.attention_dim = 8;
  Generator gen(6);
  Seq2Seq model(c, gen);
  task.fit(model, 0.03, 150);
  model.eval();
  const std::vector<Hypothesis> out = greedy_decode(model, task.src, task.lengths, {.max_length = 10});
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i].tokens, task.want[i]) << "pair " << i;
    EXPECT_TRUE(out[i].finished);
    EXPECT_EQ(out[i].attention.size(), task.want[i].size() + 1);  // one row per output step, <eos> included
  }
}

TEST(Decoding, BeamOfWidthOneIsGreedyAndWiderBeamsScoreNoWorse) {
  const TinyBatch b;
  Generator gen(7);
  Seq2Seq model(tiny_config(EncoderKind::gru, ContextKind::additive), gen);
  model.eval();
  const auto greedy = greedy_decode(model, b.src, b.lengths, {.max_length = 6});
  const auto beam1 = beam_search(model, b.src, b.lengths, {.max_length = 6, .beam_width = 1, .length_penalty = 0});
  const auto beam4 = beam_search(model, b.src, b.lengths, {.max_length = 6, .beam_width = 4, .length_penalty = 0});
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(beam1[i].tokens, greedy[i].tokens) << "row " << i;
    EXPECT_NEAR(beam1[i].log_prob, greedy[i].log_prob, 1e-9);
    if (greedy[i].finished && beam4[i].finished) {
      EXPECT_GE(beam4[i].log_prob, greedy[i].log_prob - 1e-9);
    }
    // the attention rows cover the real source tokens of the row
    for (const auto& row : beam4[i].attention) EXPECT_EQ(row.size(), i == 0 ? 4u : 2u);
  }
}

TEST(Decoding, NBestOfOneIsBeamSearchAndMoreAreRankedByScore) {
  const TinyBatch b;
  Generator gen(7);
  Seq2Seq model(tiny_config(EncoderKind::gru, ContextKind::additive), gen);
  model.eval();
  const DecodeOptions options{.max_length = 6, .beam_width = 4};
  const auto best = beam_search(model, b.src, b.lengths, options);
  const auto one = beam_search_nbest(model, b.src, b.lengths, options, 1);
  const auto nbest = beam_search_nbest(model, b.src, b.lengths, options, 4);
  ASSERT_EQ(one.size(), 2u);
  ASSERT_EQ(nbest.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(one[i].size(), 1u) << "row " << i;
    EXPECT_EQ(one[i][0].tokens, best[i].tokens) << "row " << i;
    EXPECT_DOUBLE_EQ(one[i][0].score, best[i].score);
    // The search for four runs until four are finished (at max_length every alive one is): it sees
    // everything the search for one saw, so its best scores at least as well.
    ASSERT_EQ(nbest[i].size(), 4u) << "row " << i;
    EXPECT_GE(nbest[i][0].score, best[i].score - 1e-12) << "row " << i;
    for (std::size_t j = 0; j < nbest[i].size(); ++j) {
      const Hypothesis& h = nbest[i][j];
      // the score is the log-probability over Wu et al.'s length penalty of the output and its <eos>
      EXPECT_NEAR(h.score, h.log_prob / length_penalty(h.tokens.size() + (h.finished ? 1 : 0), 0.6), 1e-12);
      if (j > 0) {
        EXPECT_GE(nbest[i][j - 1].score, h.score) << "row " << i << " rank " << j;
        EXPECT_NE(nbest[i][j - 1].tokens, h.tokens) << "row " << i << " rank " << j;
      }
    }
  }
  EXPECT_THROW(beam_search_nbest(model, b.src, b.lengths, options, 5), std::invalid_argument);
  EXPECT_THROW(beam_search_nbest(model, b.src, b.lengths, options, 0), std::invalid_argument);
}

TEST(Decoding, LengthPenaltyIsWuEtAl) {
  EXPECT_DOUBLE_EQ(length_penalty(1, 0.6), 1.0);
  EXPECT_NEAR(length_penalty(7, 0.6), std::pow(12.0 / 6.0, 0.6), 1e-15);
  EXPECT_DOUBLE_EQ(length_penalty(30, 0.0), 1.0);
}

TEST(ScheduledSampling, RatioZeroFeedsTheModelsOwnArgmax) {
  // With teacher_forcing_ratio 0 the decoder input at t > 0 is the argmax of step t-1: the same as
  // running forward with tgt_in replaced by those argmaxes.
  const TinyBatch b;
  Generator gen(8), feed(9);
  Seq2Seq model(tiny_config(EncoderKind::gru, ContextKind::additive), gen);
  const TrainOutput sampled = model.forward(b.src, b.lengths, b.tgt_in, {.teacher_forcing_ratio = 0.0, .gen = &feed});
  const Tensor guesses = argmax(sampled.logits, -1);  // [2, 4]
  std::vector<std::int64_t> fed = {1, 0, 0, 0, 1, 0, 0, 0};
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t t = 1; t < 4; ++t) fed[r * 4 + t] = guesses.data<std::int64_t>()[r * 4 + t - 1];
  const TrainOutput forced = model.forward(b.src, b.lengths, Tensor::from_indices(fed, {2, 4}));
  EXPECT_EQ(sampled.logits.to_vector(), forced.logits.to_vector());
  EXPECT_THROW(model.forward(b.src, b.lengths, b.tgt_in, {.teacher_forcing_ratio = 0.5}), std::invalid_argument);
}

TEST(ScheduledSampling, SchedulesFollowTheirFormulas) {
  EXPECT_DOUBLE_EQ(TeacherForcingSchedule::constant(0.75).at(1000), 0.75);
  const auto lin = TeacherForcingSchedule::linear(1.0, 0.001, 0.2);
  EXPECT_DOUBLE_EQ(lin.at(0), 1.0);
  EXPECT_DOUBLE_EQ(lin.at(300), 0.7);
  EXPECT_DOUBLE_EQ(lin.at(5000), 0.2);
  EXPECT_DOUBLE_EQ(TeacherForcingSchedule::exponential(0.99).at(100), std::pow(0.99, 100));
  EXPECT_DOUBLE_EQ(TeacherForcingSchedule::inverse_sigmoid(50).at(200), 50 / (50 + std::exp(4.0)));
  EXPECT_DOUBLE_EQ(TeacherForcingSchedule::parse("inverse_sigmoid:50").at(200), 50 / (50 + std::exp(4.0)));
  EXPECT_DOUBLE_EQ(TeacherForcingSchedule::parse("linear:1,0.001,0.2").at(300), 0.7);
  EXPECT_THROW(TeacherForcingSchedule::parse("linear:1,0.001"), std::invalid_argument);
  EXPECT_THROW(TeacherForcingSchedule::parse("cosine:1"), std::invalid_argument);
  EXPECT_THROW(TeacherForcingSchedule::exponential(1.5), std::invalid_argument);
}

TEST(Seq2Seq, BadInputsAreClearErrors) {
  const TinyBatch b;
  Generator gen(10);
  Seq2Seq model(tiny_config(EncoderKind::gru, ContextKind::additive), gen);
  EXPECT_THROW(model.encode(b.src, Tensor::from_indices({5, 2}, {2})), std::invalid_argument);
  EXPECT_THROW(model.encode(b.src, Tensor::from_indices({0, 2}, {2})), std::invalid_argument);
  EXPECT_THROW(model.forward(b.src, b.lengths, Tensor::from_indices({1, 2}, {1, 2})), std::invalid_argument);
  ModelConfig bad = tiny_config(EncoderKind::gru, ContextKind::dot);
  bad.bidirectional = true;  // states of 8 cannot be dotted with a decoder state of 4
  EXPECT_THROW(Seq2Seq(bad, gen), std::invalid_argument);
  EXPECT_THROW(parse_context_kind("luong"), std::invalid_argument);
}

// The kinds' names are what the programs and config.json read and write: every kind survives the
// round trip, and an unknown name is refused naming the known ones.
TEST(Seq2Seq, KindNamesRoundTripAndUnknownNamesAreRefused) {
  for (EncoderKind k : {EncoderKind::gru, EncoderKind::lstm, EncoderKind::transformer})
    EXPECT_EQ(parse_encoder_kind(to_string(k)), k);
  for (DecoderCell c : {DecoderCell::gru, DecoderCell::lstm, DecoderCell::transformer})
    EXPECT_EQ(parse_decoder_cell(to_string(c)), c);
  EXPECT_EQ(to_string(DecoderCell::gru), "gru");
  EXPECT_EQ(to_string(DecoderCell::lstm), "lstm");
  EXPECT_EQ(to_string(DecoderCell::transformer), "transformer");
  for (PositionKind k : {PositionKind::sinusoidal, PositionKind::learned}) EXPECT_EQ(parse_position_kind(to_string(k)), k);
  for (ContextKind k : {ContextKind::none, ContextKind::mean, ContextKind::dot, ContextKind::scaled_dot,
                        ContextKind::general, ContextKind::additive, ContextKind::multi_head})
    EXPECT_EQ(parse_context_kind(to_string(k)), k);
  try {
    parse_decoder_cell("bidirectional");  // an encoder's option, not a decoder
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("decoder 'bidirectional'"), std::string::npos) << what;
    EXPECT_NE(what.find("gru, lstm, transformer"), std::string::npos) << what;
  }
}
