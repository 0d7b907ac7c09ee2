// A clairvoyant early-termination rule, the benchmark's reference point: it
// knows every curve and stops, after its first epoch, each trial whose final
// value will be worse than the random search's best. No real rule can spend
// fewer epochs per config, so its figures are the floor that parallel
// workers and the one-epoch minimum leave for any rule.
#ifndef SWEEP_BENCH_EARLY_STOP_ORACLE_H_
#define SWEEP_BENCH_EARLY_STOP_ORACLE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/early_stop_curves.h"
#include "search/early_stopping.h"

namespace sweep::bench {

// The clairvoyant rule for `ordering` of `workload` (trial ids are positions
// in the ordering, as ReplayCurves numbers them).
std::unique_ptr<EarlyStopper> MakeClairvoyantStopper(
    const CurveWorkload& workload, const std::vector<int64_t>& ordering);

}  // namespace sweep::bench

#endif  // SWEEP_BENCH_EARLY_STOP_ORACLE_H_
