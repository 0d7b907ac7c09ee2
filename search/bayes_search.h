// Bayesian search: a Gaussian-process model of the objective (bayes_model.h,
// gp/) and log expected improvement, for `method: bayes`.
//
// One suggestion:
//   1. Observations (bayes_observations.h): each ended trial's value per spec
//      section 4, failures imputed; a maximized metric is negated.
//   2. Initial design: until max(5, min(d + 1, 20)) trials have values (d
//      the encoded dimensions), the next unvisited point of a scrambled
//      Halton sequence over the parameters' quantiles. Counting values, not
//      trials handed out, matters with parallel agents: a model of two or
//      three values is confidently wrong, and eight agents would all follow
//      it before the first correction arrives.
//      Its scrambling comes from spec.extension.seed, not from the engine,
//      because the controller seeds a new engine per suggestion: that way the
//      k-th trial of a sweep is the k-th design point, however many agents
//      ask at once, and a seed reproduces the sweep.
//   3. Model (bayes_model.h): a Matérn-5/2 ARD GP with MAP hyperparameters
//      on the values, through a power transform (gp/output_transform.h) when
//      that makes them likelier, conditioned on every observation; each
//      pending point (and each trial that could not be given a value) is a
//      noise-free fantasy: the kriging believer, or the constant liar at the
//      impute value when metric.impute_while_running is set. So 100 agents
//      asking at once get 100 different points.
//   4. With trials running elsewhere (parallel agents), every other
//      suggestion (by the parity of the trials seen) is a Thompson sample:
//      one joint draw of the objective from that posterior over a few
//      hundred candidates (as below), taking the lowest unvisited one. Each
//      agent's draw differs, so a batch spreads over the plausible minima;
//      EI with fantasies alone sends much of a batch to the corners of
//      largest variance, while the EI suggestions in between refine the
//      incumbent's basin (measured in the README). Falls back to EI when the
//      candidates' covariance cannot be factored.
//   5. Otherwise, and for the other half of those, acquisition: log EI (Ament
//   et al. 2023) against the lowest
//      posterior mean at an observation or a fantasy (a pending point
//      predicted to improve must not keep attracting the next agents).
//      Scored on scrambled Halton candidates (drawn
//      from the engine) and perturbations of the best observations, every one
//      canonicalized first; the best few (half of them the best of each
//      category combination) refined jointly by L-BFGS within the cube.
//      Integer and quantized dimensions are relaxed during refinement
//      and rounded (SpaceEncoding::Canonicalize) after; a categorical stays
//      one-hot throughout (its category comes from the candidates): the
//      relaxed interior of a one-hot group lies far from every observation,
//      where the variance and so the EI are spuriously high.
//   6. The best candidate whose configuration (W&B equality) is neither a
//      finished nor a pending trial's; if every candidate is taken, random
//      search's draw (which avoids visited points while any is left).
// Candidate counts shrink as n grows so that a call stays within about a
// second at n = 2000 (BENCHMARKS.md section 2).
//
// Thread-safe. Suggest is pure in the sense of searcher.h; an internal memo
// (bayes_model.h) of the last call's fit and factor only saves time, and
// concurrent calls on one searcher are safe (a call that finds the memo in use
// computes without it).
#ifndef SWEEP_SEARCH_BAYES_SEARCH_H_
#define SWEEP_SEARCH_BAYES_SEARCH_H_

#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "search/searcher.h"

namespace sweep {

struct ModelMemo;

class BayesSearcher : public Searcher {
 public:
  BayesSearcher();
  ~BayesSearcher() override;

  // Never nullopt. InvalidArgument when spec.metric is not set.
  absl::StatusOr<std::optional<Suggestion>> Suggest(
      const SearchContext& context, RandomEngine& rng) const override;

 private:
  // The memo for a call: the stored one if no other call holds it, else a
  // fresh one.
  std::unique_ptr<ModelMemo> TakeMemo() const;
  void ReturnMemo(std::unique_ptr<ModelMemo> memo) const;

  mutable absl::Mutex mu_;
  mutable std::unique_ptr<ModelMemo> memo_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sweep

#endif  // SWEEP_SEARCH_BAYES_SEARCH_H_
