//===- StatusMacros.h - early return on absl::Status errors ----------------===//
//
// The open-source absl has no status macros; these are the two everyone writes.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_STATUSMACROS_H
#define MVC_RUNTIME_UTIL_STATUSMACROS_H

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MVC_CONCAT_INNER(a, b) a##b
#define MVC_CONCAT(a, b) MVC_CONCAT_INNER(a, b)

/// Returns the status of `expr` from the enclosing function if it is not OK.
#define MVC_RETURN_IF_ERROR(expr)                                                              \
  do {                                                                                         \
    if (::absl::Status mvcStatus_ = (expr); !mvcStatus_.ok())                                  \
      return mvcStatus_;                                                                       \
  } while (0)

/// Evaluates `expr` (a StatusOr); returns its status if not OK, else moves its value to `lhs`.
#define MVC_ASSIGN_OR_RETURN(lhs, expr)                                                        \
  MVC_ASSIGN_OR_RETURN_IMPL(MVC_CONCAT(mvcStatusOr_, __LINE__), lhs, expr)
#define MVC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                                              \
  auto tmp = (expr);                                                                           \
  if (!tmp.ok())                                                                               \
    return tmp.status();                                                                       \
  lhs = std::move(*tmp)

#endif // MVC_RUNTIME_UTIL_STATUSMACROS_H
