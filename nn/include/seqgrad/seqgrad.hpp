#pragma once
// Everything a seqgrad user needs, in one include.
#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/autodiff/graphviz.hpp"
#include "seqgrad/graph/context.hpp"
#include "seqgrad/graph/node.hpp"
#include "seqgrad/graph/random.hpp"
#include "seqgrad/graph/tensor.hpp"
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/ops.hpp"
