#include "runtime/stop_text.h"

#include <gtest/gtest.h>

namespace ivl::runtime {
namespace {

TEST(StopText, CutsAtTheFirstStopStringAndNeverShowsPartOfIt) {
  StopText s({"###", "END"});
  std::string out;
  for (const char* piece : {"Hello ", "wor", "ld #", "#", "# tail"}) out += s.push(piece);
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(out, "Hello world ");
  EXPECT_EQ(s.text(), "Hello world ");
  EXPECT_EQ(s.push("more"), "");
}

TEST(StopText, HeldBackPrefixIsReleasedWhenItDoesNotComplete) {
  StopText s({"END"});
  EXPECT_EQ(s.push("the E"), "the ");
  EXPECT_EQ(s.push("Nx"), "ENx");
  EXPECT_EQ(s.push("EN"), "");
  EXPECT_EQ(s.flush(), "EN");
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.text(), "the ENxEN");
}

TEST(StopText, NoStopsPassesEverythingThrough) {
  StopText s({});
  EXPECT_EQ(s.push("abc"), "abc");
  EXPECT_EQ(s.flush(), "");
}

}  // namespace
}  // namespace ivl::runtime
