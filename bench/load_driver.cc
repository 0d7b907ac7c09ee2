#include "bench/load_driver.h"

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/call_loop.h"
#include "bench/empty.grpc.pb.h"
#include "sweep/v1/sweep.grpc.pb.h"

namespace sweep::bench {
namespace {

// A simulated agent: RegisterAgent, then trials back to back. The metric is
// a noisy decreasing curve, a * exp(-b * step) + c, drawn per trial.
class SimulatedAgent final : public CallLoop {
 public:
  SimulatedAgent(v1::AgentService::Stub* stub, const std::string& sweep_id,
                 const LoadOptions& options, uint32_t seed, double phase,
                 RunRecorder* recorder)
      : CallLoop(recorder, options.rpc_deadline, options.think, phase),
        stub_(stub),
        reports_per_trial_(options.reports_per_trial),
        honour_stop_(options.honour_stop),
        rng_(seed) {
    register_request_.set_sweep_id(sweep_id);
    register_request_.set_host("127.0.0.1");
    register_request_.set_slots(1);
    register_request_.set_pid(getpid());
  }

  void Start() override { Register(); }

 private:
  void Register() {
    Issue(
        Method::kRegisterAgent,
        [this](grpc::ClientContext* context, Completion done) {
          stub_->async()->RegisterAgent(context, &register_request_,
                                        &register_response_, std::move(done));
        },
        [this] {
          acquire_request_.set_agent_id(register_response_.agent_id());
          MarkReady();
          AfterPhase([this] { Acquire(); });
        });
  }

  void Acquire() {
    Issue(
        Method::kAcquireTrial,
        [this](grpc::ClientContext* context, Completion done) {
          stub_->async()->AcquireTrial(context, &acquire_request_,
                                       &acquire_response_, std::move(done));
        },
        [this] {
          if (!acquire_response_.has_trial()) {
            return Fail(absl::StrCat("AcquireTrial gave no trial: ",
                                     acquire_response_.ShortDebugString()));
          }
          const v1::TrialAssignment& trial = acquire_response_.trial();
          report_request_.set_sweep_id(trial.sweep_id());
          report_request_.set_number(trial.number());
          report_request_.set_lease_id(trial.lease_id());
          finish_request_.set_sweep_id(trial.sweep_id());
          finish_request_.set_number(trial.number());
          finish_request_.set_lease_id(trial.lease_id());
          metric_name_ = trial.metric_name().empty() ? std::string("loss")
                                                     : trial.metric_name();
          stop_ordered_ = false;
          DrawCurve();
          Report(1);
        });
  }

  void Report(int64_t sequence) {
    report_request_.set_sequence(sequence);
    report_request_.clear_points();
    v1::MetricPoint* point = report_request_.add_points();
    point->set_step(sequence - 1);
    (*point->mutable_values())[metric_name_] = Loss(sequence - 1);
    point->set_time_ms(absl::ToUnixMillis(absl::Now()));
    Issue(
        Method::kReportMetrics,
        [this](grpc::ClientContext* context, Completion done) {
          stub_->async()->ReportMetrics(context, &report_request_,
                                        &report_response_, std::move(done));
        },
        [this, sequence] {
          stop_ordered_ = stop_ordered_ || report_response_.has_order();
          if (sequence < reports_per_trial_ &&
              !(stop_ordered_ && honour_stop_)) {
            return Report(sequence + 1);
          }
          Finish(stop_ordered_ ? v1::FINISH_OUTCOME_STOPPED
                               : v1::FINISH_OUTCOME_EXITED);
        });
  }

  void Finish(v1::FinishOutcome outcome) {
    finish_request_.set_outcome(outcome);
    Issue(
        Method::kFinishTrial,
        [this](grpc::ClientContext* context, Completion done) {
          stub_->async()->FinishTrial(context, &finish_request_,
                                      &finish_response_, std::move(done));
        },
        [this, outcome] {
          recorder()->RecordTrial(outcome == v1::FINISH_OUTCOME_STOPPED);
          Acquire();
        });
  }

  void DrawCurve() {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    scale_ = 0.5 + unit(rng_);
    rate_ = 0.05 + 0.3 * unit(rng_);
    floor_ = 0.1 * unit(rng_);
  }

  double Loss(int64_t step) {
    std::normal_distribution<double> noise(0.0, 0.01);
    return scale_ * std::exp(-rate_ * static_cast<double>(step)) + floor_ +
           noise(rng_);
  }

  v1::AgentService::Stub* const stub_;
  const int reports_per_trial_;
  const bool honour_stop_;
  std::mt19937 rng_;
  bool stop_ordered_ = false;  // In the current trial.
  double scale_ = 1, rate_ = 0.1, floor_ = 0;
  std::string metric_name_;
  v1::RegisterAgentRequest register_request_;
  v1::RegisterAgentResponse register_response_;
  v1::AcquireTrialRequest acquire_request_;
  v1::AcquireTrialResponse acquire_response_;
  v1::ReportMetricsRequest report_request_;
  v1::ReportMetricsResponse report_response_;
  v1::FinishTrialRequest finish_request_;
  v1::FinishTrialResponse finish_response_;
};

// The floor: EmptyService calls back to back.
class EmptyCallLoop final : public CallLoop {
 public:
  EmptyCallLoop(EmptyService::Stub* stub, const LoadOptions& options,
                double phase, RunRecorder* recorder)
      : CallLoop(recorder, options.rpc_deadline, options.think, phase),
        stub_(stub) {}

  void Start() override {
    MarkReady();
    AfterPhase([this] { Call(); });
  }

 private:
  void Call() {
    Issue(
        Method::kEmptyCall,
        [this](grpc::ClientContext* context, Completion done) {
          stub_->async()->Call(context, &request_, &response_, std::move(done));
        },
        [this] { Call(); });
  }

  EmptyService::Stub* const stub_;
  EmptyRequest request_;
  EmptyResponse response_;
};

absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> OpenChannels(
    const LoadOptions& options) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const int count = std::max(1, std::min(options.channels, options.loops));
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // A connection of its own for each channel, as separate agents have.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("sweep.bench.channel", i);
    channels.push_back(grpc::CreateCustomChannel(
        options.address, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(
            absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", options.address));
    }
  }
  return channels;
}

// Each loop's phase, uniform in [0, 1); the same for the agents and the
// floor, and from run to run.
std::vector<double> Phases(int loops) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> phases(static_cast<size_t>(loops));
  for (double& phase : phases) phase = unit(rng);
  return phases;
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

CallStats StatsOf(const LatencyHistogram& histogram) {
  CallStats stats;
  stats.count = histogram.count();
  stats.mean_ms = histogram.MeanMs();
  stats.p50_ms = histogram.QuantileMs(0.5);
  stats.p99_ms = histogram.QuantileMs(0.99);
  stats.p999_ms = histogram.QuantileMs(0.999);
  stats.max_ms = histogram.MaxMs();
  return stats;
}

// Starts every loop, waits for them to be ready, warms up, measures, stops
// them and waits for their calls in flight.
// When a call outlives its deadline the loops and the recorder are leaked,
// as its completion may still come.
absl::StatusOr<LoadResult> Drive(
    const LoadOptions& options, std::unique_ptr<RunRecorder>& recorder_owner,
    std::vector<std::unique_ptr<CallLoop>>& loops) {
  RunRecorder& recorder = *recorder_owner;
  for (auto& loop : loops) loop->Start();
  const absl::Duration ready_timeout = options.rpc_deadline + absl::Seconds(5);
  const bool ready = recorder.WaitAllReady(ready_timeout);
  const absl::Duration stop_timeout =
      options.rpc_deadline + options.think + absl::Seconds(5);
  LoadResult result;
  if (ready && recorder.errors() == 0) {
    absl::SleepFor(std::max(options.warmup, 2 * options.think));
    const double cpu_start = ProcessCpuSeconds();
    const absl::Time start = absl::Now();
    recorder.OpenWindow();
    auto sample = [&](absl::Duration elapsed) {
      result.progress.push_back({absl::ToDoubleSeconds(elapsed),
                                 recorder.all().count(), recorder.trials()});
      if (options.sample) options.sample(elapsed);
    };
    sample(absl::ZeroDuration());
    for (absl::Duration next = options.sample_interval; next < options.duration;
         next += options.sample_interval) {
      absl::SleepFor(start + next - absl::Now());
      sample(absl::Now() - start);
    }
    absl::SleepFor(start + options.duration - absl::Now());
    recorder.CloseWindow();
    const absl::Time end = absl::Now();
    result.client_cpu_seconds = ProcessCpuSeconds() - cpu_start;
    sample(end - start);
    result.seconds = absl::ToDoubleSeconds(end - start);
  }
  recorder.Stop();
  if (!recorder.WaitAllEnded(stop_timeout)) {
    for (auto& loop : loops) (void)loop.release();
    (void)recorder_owner.release();
    return absl::DeadlineExceededError("calls still in flight after the run");
  }
  if (!ready) {
    return absl::DeadlineExceededError(
        absl::StrCat("the loops were not ready within ",
                     absl::FormatDuration(ready_timeout)));
  }
  if (recorder.errors() > 0 && result.seconds == 0) {
    return absl::UnavailableError(absl::StrCat(
        "failed before the measured window: ", recorder.first_error()));
  }
  result.calls = recorder.all().count();
  result.trials = recorder.trials();
  result.stopped_trials = recorder.stopped_trials();
  result.errors = recorder.errors();
  result.first_error = recorder.first_error();
  result.all = StatsOf(recorder.all());
  for (int i = 0; i < kMethods; ++i) {
    const auto method = static_cast<Method>(i);
    if (recorder.of(method).count() > 0) {
      result.by_method[MethodName(method)] = StatsOf(recorder.of(method));
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<LoadResult> RunAgentLoad(const LoadOptions& options,
                                        const std::string& sweep_id) {
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      OpenChannels(options);
  if (!channels.ok()) return channels.status();
  std::vector<std::unique_ptr<v1::AgentService::Stub>> stubs;
  for (const auto& channel : *channels) {
    stubs.push_back(v1::AgentService::NewStub(channel));
  }
  const std::vector<double> phases = Phases(options.loops);
  auto recorder = std::make_unique<RunRecorder>(options.loops);
  std::vector<std::unique_ptr<CallLoop>> agents;
  for (int i = 0; i < options.loops; ++i) {
    agents.push_back(std::make_unique<SimulatedAgent>(
        stubs[i % stubs.size()].get(), sweep_id, options,
        /*seed=*/1234u + static_cast<uint32_t>(i), phases[i], recorder.get()));
  }
  return Drive(options, recorder, agents);
}

absl::StatusOr<LoadResult> RunEmptyLoad(const LoadOptions& options) {
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      OpenChannels(options);
  if (!channels.ok()) return channels.status();
  std::vector<std::unique_ptr<EmptyService::Stub>> stubs;
  for (const auto& channel : *channels) {
    stubs.push_back(EmptyService::NewStub(channel));
  }
  const std::vector<double> phases = Phases(options.loops);
  auto recorder = std::make_unique<RunRecorder>(options.loops);
  std::vector<std::unique_ptr<CallLoop>> loops;
  for (int i = 0; i < options.loops; ++i) {
    loops.push_back(std::make_unique<EmptyCallLoop>(
        stubs[i % stubs.size()].get(), options, phases[i], recorder.get()));
  }
  return Drive(options, recorder, loops);
}

}  // namespace sweep::bench
