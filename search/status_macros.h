// RETURN_IF_ERROR and ASSIGN_OR_RETURN, which Debian's Abseil (20220623) lacks.
#ifndef SWEEP_SEARCH_STATUS_MACROS_H_
#define SWEEP_SEARCH_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SWEEP_CONCAT_INNER_(a, b) a##b
#define SWEEP_CONCAT_(a, b) SWEEP_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function unless it is OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    const ::absl::Status sweep_status_ = (expr);   \
    if (!sweep_status_.ok()) return sweep_status_; \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, Foo());` declares x from an OK StatusOr, or
// returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(SWEEP_CONCAT_(sweep_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // SWEEP_SEARCH_STATUS_MACROS_H_
