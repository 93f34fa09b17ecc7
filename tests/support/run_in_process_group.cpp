// run_in_process_group COMMAND [ARGS...]: runs COMMAND in a process group of its own and ends the
// whole group when COMMAND ends or when this launcher is stopped, so that a test which starts
// background processes (a training run it will kill, mpirun and its ranks) leaves nothing behind.
//
// Why a launcher: on a timeout CTest kills the process it started, and only that one, with
// SIGKILL, which no trap can catch; the script's own children lived on as orphans. Here a
// guardian process waits on a pipe that only the launcher holds open: however the launcher ends,
// the kernel closes the pipe and the guardian kills the group. SIGTERM, SIGINT and SIGHUP sent to
// the launcher are passed on to the group first, so a script's traps still run.
//
// Exit status: COMMAND's, or 128 + the signal that ended it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>

namespace {

pid_t group = 0;  // the process group of COMMAND (its leader's pid)

void pass_on(int sig) { kill(-group, sig); }

// The guardian's whole life: block until every write end of the pipe is closed, then end the group.
[[noreturn]] void guard(int read_end) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, SIG_IGN);  // it must outlive the launcher
  char byte;
  while (read(read_end, &byte, 1) < 0 && errno == EINTR) {
  }
  kill(-group, SIGKILL);
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: run_in_process_group COMMAND [ARGS...]\n");
    return 2;
  }
  int pipe_ends[2];
  if (pipe2(pipe_ends, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "run_in_process_group: pipe: %s\n", std::strerror(errno));
    return 2;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "run_in_process_group: fork: %s\n", std::strerror(errno));
    return 2;
  }
  if (child == 0) {
    setpgid(0, 0);
    execvp(argv[1], argv + 1);  // the pipe's ends close on exec
    std::fprintf(stderr, "run_in_process_group: cannot run %s: %s\n", argv[1], std::strerror(errno));
    _exit(127);
  }
  setpgid(child, child);  // also here: whichever of the two runs first, the group exists before use
  group = child;

  const pid_t guardian = fork();
  if (guardian == 0) {
    close(pipe_ends[1]);
    guard(pipe_ends[0]);
  }
  close(pipe_ends[0]);

  struct sigaction action {};
  action.sa_handler = pass_on;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);

  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  kill(-group, SIGKILL);  // whatever COMMAND left running
  close(pipe_ends[1]);
  if (guardian > 0) {
    while (waitpid(guardian, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
