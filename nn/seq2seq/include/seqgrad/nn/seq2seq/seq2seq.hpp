#pragma once
// The sequence-to-sequence library in one include (with the core and the layers below it).
#include "seqgrad/seqgrad.hpp"

#include "seqgrad/nn/seq2seq/batch.hpp"
#include "seqgrad/nn/seq2seq/batcher.hpp"
#include "seqgrad/nn/seq2seq/bleu.hpp"
#include "seqgrad/nn/seq2seq/decoding.hpp"
#include "seqgrad/nn/seq2seq/evaluation.hpp"
#include "seqgrad/nn/seq2seq/lr_schedule.hpp"
#include "seqgrad/nn/seq2seq/metrics.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/nn/seq2seq/progress.hpp"
#include "seqgrad/nn/seq2seq/readers.hpp"
#include "seqgrad/nn/seq2seq/run_folder.hpp"
#include "seqgrad/nn/seq2seq/sampling.hpp"
#include "seqgrad/nn/seq2seq/trainer.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"
