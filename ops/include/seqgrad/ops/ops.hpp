#pragma once
// Every op of seqgrad.
#include "seqgrad/ops/elementwise.hpp"
#include "seqgrad/ops/index_ops.hpp"
#include "seqgrad/ops/linalg.hpp"
#include "seqgrad/ops/nn_ops.hpp"
#include "seqgrad/ops/reduce.hpp"
#include "seqgrad/ops/shape_ops.hpp"
