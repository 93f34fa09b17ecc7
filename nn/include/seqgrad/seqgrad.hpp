#pragma once
// The core and the layers in one include: graph, ops, autodiff and nn. The libraries above nn have
// their own (seqgrad/nn/seq2seq/seq2seq.hpp; the pictures' headers under seqgrad/pictures/).
#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/autodiff/graphviz.hpp"
#include "seqgrad/graph/context.hpp"
#include "seqgrad/graph/node.hpp"
#include "seqgrad/graph/random.hpp"
#include "seqgrad/graph/tensor.hpp"
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/ops.hpp"

#include "seqgrad/nn/attention.hpp"
#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/losses.hpp"
#include "seqgrad/nn/module.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/nn/schedule.hpp"
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/nn/transformer_decoder.hpp"

#include "seqgrad/nn/data_parallel.hpp"
#include "seqgrad/graph/parallel.hpp"
