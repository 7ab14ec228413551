// Capturing the message of a tc::Error in tests.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

#include "core/error.h"

namespace tc::test {

// Runs `action` and returns the tc::Error message; fails the test when
// nothing (or something other than tc::Error) is thrown.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-tc::Error exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error was thrown";
  return "";
}

}  // namespace tc::test
