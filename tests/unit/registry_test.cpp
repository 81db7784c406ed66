// The registry: schemes to transports, and the one-call listen by URI.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "anysock/builtin_transports.hpp"
#include "anysock/registry.hpp"

using namespace anysock;

TEST(Registry, ResolvesTcpAndNamesTheKnownSchemes) {
  registry reg;
  add_builtin_transports(reg);
  ASSERT_TRUE(reg.resolve(*parse_uri("tcp://[::1]:1")));
  auto r = reg.resolve(*parse_uri("udp://[::1]:1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, make_error_code(errc::unknown_scheme));
  EXPECT_NE(r.err().message.find("tcp://"), std::string::npos) << r.err().message;
  auto help = reg.describe();
  EXPECT_NE(help.find("tcp://[::]:50007"), std::string::npos) << "each scheme has an example";
}

TEST(Registry, ListenByUriBindsOrSaysWhichStepFailed) {
  registry reg;
  add_builtin_transports(reg);
  boost::asio::io_context io;
  auto ls = listen(reg, "tcp://[::1]:0", io);
  ASSERT_TRUE(ls) << ls.err().message;
  ASSERT_EQ(ls->size(), 1u);
  EXPECT_EQ(ls->front()->name().rfind("tcp://[::1]:", 0), 0u) << ls->front()->name();
  EXPECT_EQ(ls->front()->name().find(":0"), std::string::npos) << "the bound port, not 0";

  struct {
    const char* uri;
    errc code;
  } bad[] = {{"tcp//[::1]:0", errc::bad_uri}, {"udp://[::1]:0", errc::unknown_scheme},
             {"tcp://[::1]:0?nagle=1", errc::bad_option}};
  for (auto& b : bad) {
    auto r = listen(reg, b.uri, io);
    ASSERT_FALSE(r) << b.uri;
    EXPECT_EQ(r.err().code, make_error_code(b.code)) << b.uri << ": " << r.err().message;
    EXPECT_EQ(r.err().message.find('\n'), std::string::npos);
  }
}
