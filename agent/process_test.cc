#include "agent/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/log_tail.h"
#include "agent/output_copier.h"
#include "agent/program_lookup.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace sweep {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Kind = ProcessExit::Kind;

constexpr std::chrono::seconds kTimeout(10);

// Polls `condition` until it holds or kTimeout passes; the short pause only
// keeps the loop from spinning on a shared machine.
bool WaitUntil(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::optional<ProcessExit> WaitForExit(TrialProcess& process) {
  std::optional<ProcessExit> exit;
  WaitUntil([&] { return (exit = process.TryWait()).has_value(); });
  return exit;
}

// True once `pid` no longer runs: gone, or a zombie nobody reaps (PID 1 in a
// container need not reap orphans).
bool ProcessIsGone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && line.size() > paren + 2 &&
         line[paren + 2] == 'Z';
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  return env;
}

std::string Python() {
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  const char* path = getenv("PATH");
  return ResolveProgram("python3", path == nullptr ? "" : path).value();
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "process_test.XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    log_ = dir_ + "/trial.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProcessLaunchSpec PythonSpec(const std::string& code,
                               const std::vector<std::string>& args = {}) {
    ProcessLaunchSpec spec;
    spec.argv = {Python(), "-c", code};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = CurrentEnvironment();
    spec.log_path = log_;
    return spec;
  }

  // Runs `spec` to its end and returns the exit.
  ProcessExit Run(const ProcessLaunchSpec& spec) {
    auto process = TrialProcess::Start(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return {};
    std::optional<ProcessExit> exit = WaitForExit(**process);
    EXPECT_TRUE(exit.has_value()) << "still running after the timeout";
    return exit.value_or(ProcessExit{});
  }

  // Runs `spec` to its successful end with its output through an
  // OutputCopier into log_.
  void RunThroughCopier(ProcessLaunchSpec spec) {
    absl::StatusOr<std::unique_ptr<OutputCopier>> copier =
        OutputCopier::Create(log_);
    ASSERT_TRUE(copier.ok()) << copier.status();
    spec.log_path.clear();
    spec.output_fd = (*copier)->write_end();
    auto process = TrialProcess::Start(spec);
    (*copier)->Start();
    ASSERT_TRUE(process.ok()) << process.status();
    ASSERT_TRUE(WaitForExit(**process).value_or(ProcessExit{}).success());
    (*copier)->Finish();
    EXPECT_EQ((*copier)->lost_bytes(), 0u);
  }

  std::string dir_;
  std::string log_;
};

TEST_F(ProcessTest, ReportsExitCode) {
  ProcessExit exit = Run(PythonSpec("import sys; sys.exit(3)"));
  EXPECT_EQ(exit.kind, Kind::kExited);
  EXPECT_EQ(exit.code, 3);
  EXPECT_FALSE(exit.success());
  EXPECT_EQ(exit.ToString(), "exit code 3");
  EXPECT_TRUE(Run(PythonSpec("pass")).success());
}

TEST_F(ProcessTest, ReportsSignalExit) {
  ProcessExit exit = Run(
      PythonSpec("import os, signal; os.kill(os.getpid(), signal.SIGUSR1)"));
  EXPECT_EQ(exit.kind, Kind::kSignaled);
  EXPECT_EQ(exit.code, SIGUSR1);
  EXPECT_EQ(exit.ToString(), "killed by signal 10 (SIGUSR1)");
}

TEST_F(ProcessTest, AppendsStdoutAndStderrToLog) {
  WriteFile(log_, "earlier\n");
  Run(
      PythonSpec("import sys\n"
                 "print('out', flush=True)\n"
                 "print('err', file=sys.stderr, flush=True)\n"
                 "print('out again', flush=True)"));
  EXPECT_EQ(ReadFile(log_), "earlier\nout\nerr\nout again\n");
}

TEST_F(ProcessTest, CreatesLogWithMode0644) {
  mode_t previous = umask(022);
  Run(PythonSpec("pass"));
  umask(previous);
  struct stat st;
  ASSERT_EQ(stat(log_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(ProcessTest, PassesExactlyTheGivenEnvironment) {
  ProcessLaunchSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {"FOO=bar baz", "EMPTY=", "EQUALS=a=b"};
  spec.log_path = log_;
  EXPECT_TRUE(Run(spec).success());
  EXPECT_EQ(ReadFile(log_), "FOO=bar baz\nEMPTY=\nEQUALS=a=b\n");
}

TEST_F(ProcessTest, PassesArgvVerbatimWithoutAShell) {
  const std::vector<std::string> args = {
      "",  "a b",  "$HOME",       "`id`",           "; echo pwned", "'\"\\",
      "*", "a\nb", "${envvar:X}", "--lr=0.1|tee x", ">out",         "&&"};
  EXPECT_TRUE(
      Run(PythonSpec("import sys; sys.stdout.write('\\0'.join(sys.argv[1:]))",
                     args))
          .success());
  EXPECT_EQ(ReadFile(log_), absl::StrJoin(args, std::string(1, '\0')));
}

// Makes this test's own stdin a pipe nobody writes to, so a child that
// inherited it would block instead of reading EOF.
class BlockingStdin {
 public:
  BlockingStdin() {
    saved_ = dup(STDIN_FILENO);
    EXPECT_EQ(pipe(pipe_), 0);
    dup2(pipe_[0], STDIN_FILENO);
  }
  ~BlockingStdin() {
    dup2(saved_, STDIN_FILENO);
    close(saved_);
    close(pipe_[0]);
    close(pipe_[1]);
  }

 private:
  int saved_ = -1;
  int pipe_[2] = {-1, -1};
};

TEST_F(ProcessTest, ChildStartsWithDefaultSignalsAndNoneBlocked) {
  // The agent blocks SIGTERM and SIGINT in its threads and may ignore some;
  // none of that may reach the program, or a stop order would not stop it.
  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &previous);
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGUSR2, &ignore, &old_action);
  Run(PythonSpec(
      "for line in open('/proc/self/status'):\n"
      "    if line.startswith(('SigBlk', 'SigIgn')): print(line.strip())"));
  sigaction(SIGUSR2, &old_action, nullptr);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  const std::string status = ReadFile(log_);
  EXPECT_THAT(status, HasSubstr("SigBlk:\t0000000000000000"));
  const size_t ignored_at = status.find("SigIgn:\t");
  ASSERT_NE(ignored_at, std::string::npos) << status;
  const unsigned long long ignored =
      std::stoull(status.substr(ignored_at + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & (1ULL << (SIGUSR2 - 1)), 0u) << status;
}

TEST_F(ProcessTest, LeakedDescriptorsStayOutOfTheChild) {
  // A descriptor the agent opened without O_CLOEXEC.
  const int opened = open("/dev/null", O_RDONLY);
  ASSERT_GE(opened, 0);
  const int leaked = fcntl(opened, F_DUPFD, 100);  // Not a number Python uses.
  close(opened);
  ASSERT_GE(leaked, 100);
  Run(PythonSpec("import os; print(sorted(os.listdir('/proc/self/fd')))"));
  close(leaked);
  // 0, 1, 2 and the one listdir itself opens.
  const std::string fds = ReadFile(log_);
  EXPECT_THAT(fds, Not(HasSubstr("'" + std::to_string(leaked) + "',"))) << fds;
  EXPECT_THAT(fds, StartsWith("['0', '1', '2', '"));
}

TEST_F(ProcessTest, StdinIsDevNull) {
  BlockingStdin blocking_stdin;
  EXPECT_TRUE(Run(PythonSpec("import os, sys\n"
                             "print(os.readlink('/proc/self/fd/0'))\n"
                             "print(len(sys.stdin.read()))"))
                  .success());
  EXPECT_EQ(ReadFile(log_), "/dev/null\n0\n");
}

TEST_F(ProcessTest, RunsInItsOwnProcessGroup) {
  auto process = TrialProcess::Start(
      PythonSpec("import os; print(os.getpgid(0), os.getpid())"));
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE(WaitForExit(**process).has_value());
  const pid_t pid = (*process)->pid();
  EXPECT_NE(pid, getpgrp());
  EXPECT_EQ(ReadFile(log_), absl::StrCat(pid, " ", pid, "\n"));
}

TEST_F(ProcessTest, RunsInTheWorkingDirectory) {
  ProcessLaunchSpec spec = PythonSpec("import os; print(os.getcwd())");
  spec.working_dir = dir_;
  Run(spec);
  EXPECT_EQ(ReadFile(log_), std::filesystem::canonical(dir_).string() + "\n");
}

TEST_F(ProcessTest, ResolvesTheProgramOnThePathOfItsEnvironment) {
  const std::string script = dir_ + "/hello";
  WriteFile(script, "#!/bin/sh\necho hello from $0\n");
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  ProcessLaunchSpec spec;
  spec.argv = {"hello"};
  spec.env = {absl::StrCat("PATH=/nonexistent:relative:", dir_)};
  spec.log_path = log_;
  EXPECT_TRUE(Run(spec).success());
  EXPECT_EQ(ReadFile(log_), absl::StrCat("hello from ", script, "\n"));
}

TEST_F(ProcessTest, MissingProgramOnPathIsNamed) {
  ProcessLaunchSpec spec;
  spec.argv = {"no-such-program-for-sweep"};
  spec.env = {"PATH=" + dir_};
  spec.log_path = log_;
  auto process = TrialProcess::Start(spec);
  EXPECT_EQ(process.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(process.status().message()),
              StartsWith("cannot run 'no-such-program-for-sweep': No such "
                         "file or directory"));
}

TEST_F(ProcessTest, MissingProgramPathIsNamed) {
  ProcessLaunchSpec spec;
  spec.argv = {dir_ + "/missing"};
  spec.log_path = log_;
  auto process = TrialProcess::Start(spec);
  EXPECT_EQ(process.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(process.status().message()),
            absl::StrCat("cannot run '", dir_,
                         "/missing': No such file or directory"));
}

TEST_F(ProcessTest, NonExecutableProgramIsPermissionDenied) {
  const std::string script = dir_ + "/script";
  WriteFile(script, "#!/bin/sh\n");
  ProcessLaunchSpec spec;
  spec.argv = {script};
  spec.log_path = log_;
  auto process = TrialProcess::Start(spec);
  EXPECT_EQ(process.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(process.status().message()),
              HasSubstr("Permission denied"));
}

TEST_F(ProcessTest, MissingInterpreterLineIsExplained) {
  const std::string script = dir_ + "/train.py";
  WriteFile(script, "#!/nonexistent/python\n");
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  ProcessLaunchSpec spec;
  spec.argv = {script};
  spec.log_path = log_;
  auto process = TrialProcess::Start(spec);
  EXPECT_EQ(process.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(process.status().message()), HasSubstr("#! line"));
}

TEST_F(ProcessTest, MissingWorkingDirectoryIsNamed) {
  ProcessLaunchSpec spec = PythonSpec("pass");
  spec.working_dir = dir_ + "/nowhere";
  auto process = TrialProcess::Start(spec);
  EXPECT_EQ(process.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(
      std::string(process.status().message()),
      HasSubstr(absl::StrCat("working directory '", dir_, "/nowhere'")));
}

TEST_F(ProcessTest, RefusesMalformedSpecs) {
  ProcessLaunchSpec empty;
  empty.log_path = log_;
  EXPECT_EQ(TrialProcess::Start(empty).status().code(),
            absl::StatusCode::kInvalidArgument);
  ProcessLaunchSpec bad_env = PythonSpec("pass");
  bad_env.env.push_back("NO_EQUALS_SIGN");
  EXPECT_THAT(std::string(TrialProcess::Start(bad_env).status().message()),
              HasSubstr("'NO_EQUALS_SIGN') is not NAME=VALUE"));
  // Longer than the kernel takes for one argument: said, with the remedy.
  ProcessLaunchSpec long_argument = PythonSpec("pass");
  long_argument.argv.push_back("--text=" + std::string(140'000, 'x'));
  EXPECT_THAT(
      std::string(TrialProcess::Start(long_argument).status().message()),
      HasSubstr("is 140007 bytes, over the kernel's 128 KiB limit for one "
                "argument: pass long parameter values through "
                "${args_json_file}"));
  // Many arguments under it, over the limit together (ARG_MAX): E2BIG.
  ProcessLaunchSpec many_arguments = PythonSpec("pass");
  for (int i = 0; i < 100; ++i) {
    many_arguments.argv.push_back(std::string(100'000, 'y'));
  }
  EXPECT_THAT(
      std::string(TrialProcess::Start(many_arguments).status().message()),
      HasSubstr("over the kernel's limit: pass long parameter values"));
}

// A program whose child ignores SIGTERM and writes its pid to argv[1]. The
// program ignores SIGTERM too when argv[2] is "ignore", exits once the
// grandchild is up when it is "exit", and else just sleeps.
constexpr char kGrandchild[] = R"(
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(600)
)";
constexpr char kParent[] = R"(
import os, signal, subprocess, sys, time
pid_file, mode, grandchild = sys.argv[1:4]
if mode == 'ignore':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, '-c', grandchild, pid_file])
while mode == 'exit' and not os.path.exists(pid_file):
    time.sleep(0.01)
if mode != 'exit':
    time.sleep(600)
)";

class ProcessGroupTest : public ProcessTest {
 protected:
  // Starts kParent in `mode` and returns the grandchild's pid.
  pid_t StartFamily(const std::string& mode) {
    const std::string pid_file = dir_ + "/grandchild.pid";
    auto process =
        TrialProcess::Start(PythonSpec(kParent, {pid_file, mode, kGrandchild}));
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return -1;
    process_ = *std::move(process);
    EXPECT_TRUE(WaitUntil([&] { return !ReadFile(pid_file).empty(); }))
        << ReadFile(log_);
    return std::atoi(ReadFile(pid_file).c_str());
  }

  std::unique_ptr<TrialProcess> process_;
};

TEST_F(ProcessGroupTest, StopEscalatesToKillAfterTheGracePeriod) {
  const pid_t grandchild = StartFamily("ignore");
  ASSERT_GT(grandchild, 0);
  const auto start = TrialProcess::Clock::now();
  ASSERT_TRUE(process_->RequestStop(start, std::chrono::seconds(30)).ok());
  EXPECT_TRUE(process_->stop_requested());

  // Both ignore SIGTERM: before the grace period ends nothing else happens.
  EXPECT_FALSE(process_->Tick(start + std::chrono::seconds(29)).has_value());
  EXPECT_FALSE(process_->kill_sent());
  EXPECT_FALSE(ProcessIsGone(grandchild));

  std::optional<ProcessExit> exit;
  EXPECT_TRUE(WaitUntil([&] {
    return (exit = process_->Tick(start + std::chrono::seconds(30)))
        .has_value();
  }));
  EXPECT_TRUE(process_->kill_sent());
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->kind, Kind::kSignaled);
  EXPECT_EQ(exit->code, SIGKILL);
  EXPECT_TRUE(WaitUntil([&] { return ProcessIsGone(grandchild); }));
}

TEST_F(ProcessGroupTest, AfterAStopTheRestOfTheGroupGetsTheGrace) {
  // The program dies at SIGTERM; its child ignores it. The child, which
  // might be finishing its own clean-up, is left alone until the grace is
  // over, then killed; the trial ends with the program's own exit.
  const pid_t grandchild = StartFamily("sleep");
  ASSERT_GT(grandchild, 0);
  const auto start = TrialProcess::Clock::now();
  ASSERT_TRUE(process_->RequestStop(start, std::chrono::seconds(30)).ok());
  const std::string stat_path =
      "/proc/" + std::to_string(process_->pid()) + "/stat";
  ASSERT_TRUE(WaitUntil([&] {
    const std::string stat = ReadFile(stat_path);
    const size_t end = stat.rfind(')');
    return end != std::string::npos && end + 2 < stat.size() &&
           stat[end + 2] == 'Z';
  })) << "the program did not die at SIGTERM";
  EXPECT_FALSE(process_->Tick(start + std::chrono::seconds(1)).has_value());
  EXPECT_FALSE(process_->kill_sent());
  EXPECT_FALSE(ProcessIsGone(grandchild));

  const std::optional<ProcessExit> exit =
      process_->Tick(start + std::chrono::seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->kind, Kind::kSignaled);
  EXPECT_EQ(exit->code, SIGTERM);
  EXPECT_TRUE(WaitUntil([&] { return ProcessIsGone(grandchild); }));
}

TEST_F(ProcessGroupTest, TerminateLeavesNoGrandchildBehind) {
  const pid_t grandchild = StartFamily("sleep");
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(process_->Terminate().ok());
  std::optional<ProcessExit> exit = WaitForExit(*process_);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->kind, Kind::kSignaled);
  EXPECT_EQ(exit->code, SIGTERM);
  EXPECT_TRUE(WaitUntil([&] { return ProcessIsGone(grandchild); }));
}

TEST_F(ProcessGroupTest, ProgramExitKillsWhatItLeftRunning) {
  const pid_t grandchild = StartFamily("exit");
  ASSERT_GT(grandchild, 0);
  std::optional<ProcessExit> exit = WaitForExit(*process_);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->success()) << exit->ToString();
  EXPECT_TRUE(WaitUntil([&] { return ProcessIsGone(grandchild); }));
  // Signals after the end are harmless no-ops.
  EXPECT_TRUE(process_->Terminate().ok());
  EXPECT_TRUE(process_->Kill().ok());
}

TEST_F(ProcessTest, DestructorKillsAndReapsARunningProgram) {
  auto process =
      TrialProcess::Start(PythonSpec("import time; time.sleep(600)"));
  ASSERT_TRUE(process.ok()) << process.status();
  const pid_t pid = (*process)->pid();
  process->reset();
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

// Through an OutputCopier's pipe, a program cannot rewrite its output: a
// wrapper's `exec > /dev/stdout` reopens the pipe where it would have
// truncated the file, and stdout no longer writes over what stderr appended.
TEST_F(ProcessTest, OutputThroughACopierCannotBeRewritten) {
  WriteFile(log_, "earlier\n");
  RunThroughCopier(PythonSpec(
      "import os, sys\n"
      "print('banner', flush=True)\n"
      "fd = os.open('/proc/self/fd/1', os.O_WRONLY | os.O_TRUNC)\n"
      "for i in range(300):\n"
      "    os.write(fd, b'value=%d\\n' % i)\n"
      "    if i % 3 == 0: print('warning', i, file=sys.stderr, flush=True)\n"));
  std::string expected = "earlier\nbanner\n";
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&expected, "value=", i, "\n");
    if (i % 3 == 0) absl::StrAppend(&expected, "warning ", i, "\n");
  }
  EXPECT_EQ(ReadFile(log_), expected);
}

// Far more than the pipe holds, written faster than the copy could keep up
// with if it waited for anything.
TEST_F(ProcessTest, ACopierTakesEverythingAFastProgramWrites) {
  RunThroughCopier(PythonSpec(
      "import sys\n"
      "sys.stdout.write(''.join('line %d\\n' % i for i in range(500000)))\n"));
  const std::string log = ReadFile(log_);
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 500000);
  EXPECT_TRUE(absl::EndsWith(log, "line 499999\n")) << log.substr(0, 100);
}

// A writer that outlives the program (a daemon that left its process group)
// holds the pipe open and keeps writing: Finish takes what the pipe held and
// returns, and the writer sees a closed pipe.
TEST_F(ProcessTest, ACopierFinishesWithoutWaitingForAWriterThatOutlivedIt) {
  absl::StatusOr<std::unique_ptr<OutputCopier>> copier =
      OutputCopier::Create(log_);
  ASSERT_TRUE(copier.ok()) << copier.status();
  UniqueFd daemon(dup((*copier)->write_end()));
  (*copier)->Start();
  ASSERT_EQ(write(daemon.get(), "first\n", 6), 6);
  std::atomic<bool> writing{true};
  std::atomic<int> write_error{0};
  signal(SIGPIPE, SIG_IGN);
  std::thread writer([&] {
    // Whole blocks, as fast as the copy reads them: the pipe is seldom
    // empty.
    const std::string block = std::string(65535, 'm') + "\n";
    while (writing) {
      if (write(daemon.get(), block.data(), block.size()) < 0) {
        write_error = errno;
        return;
      }
    }
  });
  ASSERT_TRUE(
      WaitUntil([&] { return std::filesystem::file_size(log_) > (1u << 20); }));
  (*copier)->Finish();  // Would never return if it waited for the writer.
  writer.join();
  EXPECT_EQ(write_error.load(), EPIPE);
  std::ifstream log(log_, std::ios::binary);
  std::string start(9, '\0');
  log.read(start.data(), 9);
  EXPECT_EQ(start, "first\nmmm");
}

// A log that takes no more (a full disk; here a file size limit): the
// output is counted as lost, not held, and the end of it is kept for the
// trial's tail.
TEST_F(ProcessTest, ACopierKeepsTheEndOfWhatALogCouldNotTake) {
  absl::StatusOr<std::unique_ptr<OutputCopier>> copier =
      OutputCopier::Create(log_);
  ASSERT_TRUE(copier.ok()) << copier.status();
  rlimit before;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit limited = before;
  limited.rlim_cur = 10000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  struct Restore {
    rlimit limit;
    decltype(signal(SIGXFSZ, SIG_IGN)) handler;
    ~Restore() {
      setrlimit(RLIMIT_FSIZE, &limit);
      signal(SIGXFSZ, handler);
    }
  } restore{before, old_handler};
  ProcessLaunchSpec spec = PythonSpec(
      "import sys\n"
      "sys.stdout.write('y' * 100000 + '\\n')\n"
      "sys.stdout.flush()\n"
      "raise RuntimeError('boom at the end')\n");
  spec.log_path.clear();
  spec.output_fd = (*copier)->write_end();
  auto process = TrialProcess::Start(spec);
  (*copier)->Start();
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_FALSE(WaitForExit(**process).value_or(ProcessExit{}).success());
  (*copier)->Finish();
  EXPECT_GT((*copier)->lost_bytes(), 90000u);
  EXPECT_THAT((*copier)->write_error(), HasSubstr("too large"));
  EXPECT_EQ(std::filesystem::file_size(log_), 10000u);
  const std::string lost = (*copier)->lost_tail();
  EXPECT_LE(lost.size(), OutputCopier::kLostTailBytes);
  EXPECT_THAT(LastLine(LogTailOf(lost, 40, /*starts_mid_line=*/true)),
              HasSubstr("RuntimeError: boom at the end"));
}

TEST_F(ProcessTest, ACopierNamesALogItCannotOpen) {
  absl::StatusOr<std::unique_ptr<OutputCopier>> copier =
      OutputCopier::Create(dir_ + "/missing/output.log");
  ASSERT_FALSE(copier.ok());
  EXPECT_THAT(copier.status().message(),
              HasSubstr(dir_ + "/missing/output.log"));
}

TEST_F(ProcessTest, LogTailKeepsTheLastLines) {
  std::string log;
  for (int i = 1; i <= 100; ++i) absl::StrAppend(&log, "line ", i, "\n");
  WriteFile(log_, log);
  EXPECT_EQ(ReadLogTail(log_, 3, 1 << 20).value(),
            "line 98\nline 99\nline 100\n");
  // 20 bytes cut "line 98" short: that partial line is dropped.
  EXPECT_EQ(ReadLogTail(log_, 3, 20).value(), "line 99\nline 100\n");
  EXPECT_EQ(ReadLogTail(log_, 0, 1 << 20).value(), "");

  WriteFile(log_, "a\nb\nno newline");
  EXPECT_EQ(ReadLogTail(log_, 2, 1 << 20).value(), "b\nno newline");
  WriteFile(log_, "one very long line");
  EXPECT_EQ(ReadLogTail(log_, 2, 4).value(), "line");
  EXPECT_EQ(ReadLogTail(dir_ + "/missing", 2, 4).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ProcessTest, LogTailIsValidUtf8) {
  WriteFile(log_, "caf\xC3\xA9 \xFF\xC3\n");
  EXPECT_EQ(ReadLogTail(log_, 5, 1 << 20).value(),
            "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\n");
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"),  // A surrogate.
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // Overlong.
  EXPECT_EQ(ToValidUtf8("\xF0\x9F\x98\x80 ok"), "\xF0\x9F\x98\x80 ok");
}

TEST(LastLineTest, IsTheLastNonBlankLineMadeSafeForATerminal) {
  EXPECT_EQ(LastLine("first\n  Error: the cause  \n\n \t\n"),
            "Error: the cause");
  EXPECT_EQ(LastLine(""), "");
  // W&B's chatter (and the W&B shim's) is not the program's last word.
  EXPECT_EQ(LastLine("ValueError: bad lr\nwandb: the Sweep shim stands in for "
                     "wandb\nwandb: Waiting for W&B process to finish...\n"),
            "ValueError: bad lr");
  EXPECT_EQ(LastLine("x\nwandb: ERROR Run initialization has timed out\n"),
            "wandb: ERROR Run initialization has timed out");
  EXPECT_EQ(LastLine("wandb: synced\n"), "");
  EXPECT_EQ(LastLine("\n  \n"), "");
  EXPECT_EQ(LastLine("a\x1b[31mred\x07"), "a?[31mred?");
  EXPECT_EQ(LastLine("abcdefgh", 5), "abcde...");
  // "\xC3\xA9" is one character: a cut inside it backs off to its start.
  EXPECT_EQ(LastLine("abcd\xC3\xA9z", 5), "abcd...");
  EXPECT_EQ(LastLine("abcd\xC3\xA9z", 6), "abcd\xC3\xA9...");
}

TEST_F(ProcessTest, ResolvesProgramsLikeExecvp) {
  const std::string first = dir_ + "/first";
  const std::string second = dir_ + "/second";
  std::filesystem::create_directories(first);
  std::filesystem::create_directories(second);
  WriteFile(first + "/tool", "");  // Not executable: skipped.
  WriteFile(second + "/tool", "");
  ASSERT_EQ(chmod((second + "/tool").c_str(), 0755), 0);
  const std::string path = absl::StrCat(first, "::relative:", second);
  EXPECT_EQ(ResolveProgram("tool", path).value(), second + "/tool");
  EXPECT_EQ(ResolveProgram("tool", first).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveProgram("./tool", "").value(), "./tool");
  EXPECT_EQ(ResolveProgram("tool", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ProcessTest, DefaultInterpreterPrefersPython) {
  EXPECT_EQ(DefaultInterpreter(dir_), "python3");
  WriteFile(dir_ + "/python", "");
  ASSERT_EQ(chmod((dir_ + "/python").c_str(), 0755), 0);
  EXPECT_EQ(DefaultInterpreter(dir_), "python");
}

TEST(RunsScriptFromWorkingDirectoryTest, PlainInterpretersButNotWrappers) {
  for (const char* plain :
       {"python", "python3", "python3.11", "/opt/conda/envs/x/bin/python",
        "pypy3", "bash", "/usr/bin/perl5.36", "Rscript"}) {
    EXPECT_TRUE(RunsScriptFromWorkingDirectory(plain)) << plain;
  }
  for (const char* wrapper : {"./run-in-container.sh", "srun", "uv",
                              "/usr/bin/env", "python-wrapper", ""}) {
    EXPECT_FALSE(RunsScriptFromWorkingDirectory(wrapper)) << wrapper;
  }
}

TEST(FindEnvValueTest, FindsTheFirstEntry) {
  const std::vector<std::string> env = {"PATHX=no", "PATH=/a", "PATH=/b",
                                        "EMPTY="};
  EXPECT_EQ(FindEnvValue(env, "PATH"), "/a");
  EXPECT_EQ(FindEnvValue(env, "EMPTY"), "");
  EXPECT_EQ(FindEnvValue(env, "HOME"), std::nullopt);
}

}  // namespace
}  // namespace sweep
