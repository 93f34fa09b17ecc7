#pragma once
// The processes of an MPI job as an nn::ProcessGroup, for nn::DataParallel and the seq2seq trainer:
//
//   auto group = seqgrad::distributed::world();   // at the start of main
//   seqgrad::distributed::print_only_on_root(*group);
//   options.group = group;                         // TrainerOptions, or DataParallel(params, group)
//
// and then `mpirun -np 4 ./g2p train ...` (any host file). Started without an MPI launcher, world()
// is nn::single_process() and MPI is not initialised at all: a plain run works as before, with no
// MPI start-up cost. Under a launcher (Open MPI's mpirun, or another that sets PMI/PMIx variables)
// MPI is initialised once (MPI_THREAD_FUNNELED: only the thread that called world() communicates;
// oneTBB workers never do) and finalised at exit.
//
// Faults: a process killed (SIGKILL, a crash) ends the job: mpirun notices the death and kills the
// others within about a second. A process that fails alone (an exception only it saw) calls
// ProcessGroup::abort, which ends every process with MPI_Abort. At exit, the processes wait for each
// other at most SEQGRAD_MPI_EXIT_TIMEOUT seconds (default 60) before MPI_Finalize; a process whose
// peers do not arrive (they are still waiting in a collective for it) aborts the job instead of
// hanging in MPI_Finalize.
#include <memory>

#include "seqgrad/nn/process_group.hpp"

namespace seqgrad::distributed {

// True when this process was started by an MPI launcher (mpirun / mpiexec / srun with PMI).
bool launched_by_mpi();

// MPI_COMM_WORLD as a process group, initialising MPI on the first call; nn::single_process()
// when launched_by_mpi() is false. Call it from the main thread.
std::shared_ptr<nn::ProcessGroup> world();

// Sends this process's standard output to /dev/null unless it is rank 0, so a program's progress
// and results print once (standard error stays: errors show from every process).
void print_only_on_root(const nn::ProcessGroup& group);

}  // namespace seqgrad::distributed
