// Result<T, E>: a value or an error, with the std::expected API subset we use, so it can become
// an alias of std::expected when the project moves to C++23.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace polder {

enum class Errc {
  kInvalidArgument,  // bad input from a user or a file
  kNotFound,
  kAlreadyExists,
  kCorruption,  // stored data is not what we wrote
  kRefused,     // a validation rule said no
  kIo,
  kUnavailable,  // locked or busy; try again
  kLimit,        // a size or count bound was hit
  kPermission,
  kInternal,
};

const char* ToString(Errc code);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;
};

template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected<std::decay_t<E>> MakeUnexpected(E&& e) {
  return {std::forward<E>(e)};
}

inline Unexpected<Error> Fail(Errc code, std::string message) {
  return {Error{code, std::move(message)}};
}

template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <class G>
  Result(Unexpected<G> u) : v_(std::in_place_index<1>, E(std::move(u.error))) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  const E& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <class G>
  Result(Unexpected<G> u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  E error_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace polder
