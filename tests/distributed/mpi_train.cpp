// A small G2P-shaped training run (bidirectional GRU encoder, additive attention, GRU decoder,
// dropout) on a synthetic reversal task, through nn::seq2seq::Trainer on
// seqgrad::distributed::world(): alone, or as one process of an `mpirun -np N` job. Rank 0 prints
// every step's loss as the bits of its double and a hash of every parameter's bytes, which
// run_mpi_tests.py compares between layouts (processes x threads), resumed runs and killed runs.
//
//   mpi_train --steps K [--threads N] [--checkpoints DIR [--save-every N] [--resume]]
//             [--seed S] [--rank1-seed S] [--rank1-data-seed S] [--kill-rank1-in-step K]
//             [--fail-rank1-in-step K]
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "seqgrad/distributed/mpi.hpp"
#include "seqgrad/nn/seq2seq/trainer.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;

namespace {

std::vector<Example> reversal_task(std::size_t count, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<Example> out;
  for (std::size_t i = 0; i < count; ++i) {
    Example ex;
    const std::size_t length = 3 + gen.below(8);
    for (std::size_t t = 0; t < length; ++t) ex.source.push_back(kNumSpecials + static_cast<TokenId>(gen.below(20)));
    ex.target.assign(ex.source.rbegin(), ex.source.rend());
    out.push_back(std::move(ex));
  }
  return out;
}

// The world, except that rank 1 kills itself (SIGKILL: no clean-up, as a crash or the OOM killer)
// when it enters the gradient reduction of step `kill_in_step` (one integer allreduce per step).
class KillingGroup final : public nn::ProcessGroup {
 public:
  // throw: rank 1 throws (an error only it sees, which leaves main while rank 0 waits) instead.
  KillingGroup(std::shared_ptr<nn::ProcessGroup> inner, std::size_t kill_in_step, bool throw_instead)
      : inner_(std::move(inner)), kill_(kill_in_step), throw_(throw_instead) {}
  std::size_t rank() const override { return inner_->rank(); }
  std::size_t size() const override { return inner_->size(); }
  std::string describe() const override { return inner_->describe(); }
  void allreduce_max(double* d, std::size_t n) override { inner_->allreduce_max(d, n); }
  void allreduce_sum(std::int64_t* d, std::size_t n) override {
    if (++steps_ == kill_ && rank() == 1) {
      if (throw_) throw std::runtime_error("rank 1 fails alone in step " + std::to_string(steps_));
      std::fprintf(stderr, "mpi_train: rank 1 kills itself (SIGKILL) in step %zu\n", steps_);
      std::raise(SIGKILL);
    }
    inner_->allreduce_sum(d, n);
  }
  void allgather(const double* s, std::size_t n, double* r) override { inner_->allgather(s, n, r); }
  void allgather(const std::uint64_t* s, std::size_t n, std::uint64_t* r) override { inner_->allgather(s, n, r); }
  void broadcast(std::vector<std::uint8_t>& b, std::size_t root) override { inner_->broadcast(b, root); }
  void barrier() override { inner_->barrier(); }
  [[noreturn]] void abort(const std::string& m) override {
    inner_->abort(m);
    std::abort();  // not reached (the attribute does not pass through a virtual call)
  }

 private:
  std::shared_ptr<nn::ProcessGroup> inner_;
  std::size_t kill_, steps_ = 0;
  bool throw_;
};

}  // namespace

int main(int argc, char** argv) {
  std::shared_ptr<nn::ProcessGroup> group = distributed::world();
  distributed::print_only_on_root(*group);
  std::size_t steps = 6, threads = 1, save_every = 0, kill_in_step = 0, fail_in_step = 0;
  std::uint64_t seed = 7, data_seed = 3;
  long rank1_seed = -1, rank1_data_seed = -1;
  std::string checkpoints;
  bool resume = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "mpi_train: %s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--steps") steps = std::stoul(next());
    else if (a == "--threads") threads = std::stoul(next());
    else if (a == "--checkpoints") checkpoints = next();
    else if (a == "--save-every") save_every = std::stoul(next());
    else if (a == "--resume") resume = true;
    else if (a == "--seed") seed = std::stoull(next());
    else if (a == "--rank1-seed") rank1_seed = std::stol(next());
    else if (a == "--rank1-data-seed") rank1_data_seed = std::stol(next());
    else if (a == "--kill-rank1-in-step") kill_in_step = std::stoul(next());
    else if (a == "--fail-rank1-in-step") fail_in_step = std::stoul(next());
    else { std::fprintf(stderr, "mpi_train: unknown argument %s\n", a.c_str()); return 2; }
  }
  if (group->rank() == 1 && rank1_seed >= 0) seed = static_cast<std::uint64_t>(rank1_seed);
  if (group->rank() == 1 && rank1_data_seed >= 0) data_seed = static_cast<std::uint64_t>(rank1_data_seed);
  if (kill_in_step > 0) group = std::make_shared<KillingGroup>(group, kill_in_step, false);
  if (fail_in_step > 0) group = std::make_shared<KillingGroup>(group, fail_in_step, true);
  try {
    ModelConfig config;
    config.src_vocab = config.tgt_vocab = kNumSpecials + 20;
    config.embedding_dim = 32;
    config.hidden_dim = 64;
    config.attention_dim = 64;
    config.encoder = EncoderKind::gru;
    config.bidirectional = true;
    config.context = ContextKind::additive;
    config.dropout = 0.1;
    Generator gen(seed);
    Seq2Seq model(config, gen);
    TrainerOptions o;
    o.batch_size = 32;
    o.shard_size = 8;  // 4 shards a step: 2 per process at -np 2
    o.threads = threads;
    o.max_epochs = 1000;
    o.max_steps = steps;
    o.optimizer.lr = 3e-3;
    o.eval_every_steps = save_every;  // no dev set: a "validation" only saves last.ckpt
    o.log_every_steps = 0;
    o.seed = seed;
    o.checkpoint_dir = checkpoints;
    o.resume = resume;
    o.reporter = nullptr;
    o.group = group;
    std::printf("layout: %zu processes x %zu threads (%s)\n", group->size(), threads, group->describe().c_str());
    Trainer trainer(model, reversal_task(256, data_seed), {}, o);
    const TrainSummary s = trainer.run();
    const std::size_t first = s.steps - s.step_losses.size() + 1;
    for (std::size_t k = 0; k < s.step_losses.size(); ++k) {
      std::uint64_t bits;
      std::memcpy(&bits, &s.step_losses[k], sizeof bits);
      std::printf("loss %zu %016llx %.9g\n", first + k, static_cast<unsigned long long>(bits), s.step_losses[k]);
    }
    nn::Fnv1a h;
    for (const auto& [name, p] : model.named_parameters()) h.text(name).bytes(p.raw_data(), p.numel() * dtype_size(p.dtype()));
    std::printf("parameters %016llx\n", static_cast<unsigned long long>(h.digest()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpi_train (rank %zu): %s\n", group->rank(), e.what());
    return 1;
  }
}
