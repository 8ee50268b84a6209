#include "core/mapped_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace ivl {
namespace {

TEST(MappedFile, MapsContentAndReportsMissingFiles) {
  auto dir = test::scratch_dir("mapped_file");
  {
    std::ofstream(dir / "a.bin", std::ios::binary) << "hello";
    std::ofstream(dir / "empty.bin", std::ios::binary);
  }
  auto f = MappedFile::open((dir / "a.bin").string());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_EQ((*f)->size(), 5u);
  EXPECT_EQ(static_cast<char>((*f)->bytes()[4]), 'o');

  auto e = MappedFile::open((dir / "empty.bin").string());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->size(), 0u);

  auto missing = MappedFile::open((dir / "nope.bin").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.bin"), std::string::npos);

  auto directory = MappedFile::open(dir.string());
  EXPECT_EQ(directory.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace ivl
