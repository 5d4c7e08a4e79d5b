// Exact rationals: GMP's mpq_class and Fraction, the digit-string form results carry.
//
// Internal to node/decide: not included outside it (GMP is private to this module; results
// carry Fraction, allocate.h).
#pragma once

#include <gmpxx.h>

#include "node/decide/allocate.h"

namespace polder::decide {

// `q` in lowest terms (GMP keeps canonical values canonical) as digit strings.
inline Fraction ToFraction(const mpq_class& q) {
  return {q.get_num().get_str(), q.get_den().get_str()};
}

// The exact value of `f`, canonicalised.
inline mpq_class ToMpq(const Fraction& f) {
  mpq_class q(f.num + "/" + f.den);
  q.canonicalize();
  return q;
}

}  // namespace polder::decide
