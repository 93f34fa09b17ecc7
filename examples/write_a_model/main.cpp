// Writing a model: a Module that registers its layers, a forward pass made of layer and op calls,
// a float64 gradient check of the whole model, and a few training steps.
//
// The model says whether a sequence of tokens contains the token 3: embed, run a GRU over the
// padded batch (each sequence up to its own length), read the final state with a linear layer.
#include <cstdio>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

// readme-begin: model
class ContainsThree : public nn::Module {
 public:
  ContainsThree(std::size_t vocab, std::size_t hidden, Generator& gen, DType dtype = DType::f32)
      : embed(register_module("embed", std::make_shared<nn::Embedding>(vocab, 8, gen, nn::EmbeddingOptions{.dtype = dtype}))),
        gru(register_module("gru", std::make_shared<nn::GRU>(8, hidden, gen,
                                                              nn::RecurrentOptions{.batch_first = true, .dtype = dtype}))),
        head(register_module("head", std::make_shared<nn::Linear>(hidden, 2, gen, nn::LinearOptions{.dtype = dtype}))) {}

  // tokens int64 [B, T], lengths int64 [B] -> logits [B, 2]
  Tensor forward(const Tensor& tokens, const Tensor& lengths) const {
    const nn::SequenceOutput seq = gru->forward(embed->forward(tokens), lengths);
    const std::size_t batch = tokens.shape()[0];
    return head->forward(reshape(seq.h_n, {batch, seq.h_n.shape()[2]}));  // h_n [1, B, H]
  }

  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::Linear> head;
};
// readme-end: model

int main(int argc, char** argv) {
  if (argc > 1) return std::fprintf(stderr, "%s: takes no arguments (read its source)\n", argv[0]), 2;
  // Four sequences padded to length 5 (0 is padding), and whether each contains a 3.
  const Tensor tokens = Tensor::from_indices({1, 3, 2, 0, 0, 2, 2, 1, 4, 0, 4, 1, 1, 2, 3, 2, 4, 0, 0, 0}, {4, 5});
  const Tensor lengths = Tensor::from_indices({3, 4, 5, 2}, {4});
  const Tensor labels = Tensor::from_indices({1, 0, 1, 0}, {4});

  // readme-begin: gradcheck
  // The gradient of the loss with respect to every parameter, against finite differences (float64).
  Generator gen64(1);
  ContainsThree model64(5, 6, gen64, DType::f64);
  const GradCheckResult check = gradcheck(
      "ContainsThree", [&](const std::vector<Tensor>&) { return cross_entropy(model64.forward(tokens, lengths), labels); },
      model64.parameters());
  std::printf("%s\n", check.report.c_str());
  // readme-end: gradcheck
  if (!check.ok) return 1;

  // readme-begin: train
  Generator gen(2);
  ContainsThree model(5, 16, gen);
  nn::Adam adam(model.named_parameters(), {.lr = 0.05});
  double loss_value = 0;
  for (int step = 1; step <= 60; ++step) {
    adam.zero_grad();
    Tensor loss = cross_entropy(model.forward(tokens, lengths), labels);
    backward(loss);
    adam.step();
    loss_value = loss.item();
    if (step % 20 == 0) std::printf("step %d  loss %.4f\n", step, loss_value);
  }
  // readme-end: train
  std::printf("%zu parameters; final loss %.4f\n", model.num_parameters(), loss_value);
  return loss_value < 0.05 ? 0 : 1;
}
