#include "cli/controller_client.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "agent/controller_channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ResolveControllerAddressTest, FlagBeatsEnvironmentBeatsDefault) {
  EXPECT_EQ(ResolveControllerAddress("flag:1", "env:2"), "flag:1");
  EXPECT_EQ(ResolveControllerAddress("", "env:2"), "env:2");
  EXPECT_EQ(ResolveControllerAddress("", nullptr), "localhost:7420");
  EXPECT_EQ(ResolveControllerAddress("", ""), "localhost:7420");
  // What people paste: a host without its port, a URL.
  EXPECT_EQ(ResolveControllerAddress("gpu-01", nullptr), "gpu-01:7420");
  EXPECT_EQ(ResolveControllerAddress("", "10.0.0.5"), "10.0.0.5:7420");
  EXPECT_EQ(ResolveControllerAddress("http://gpu-01:9000/", nullptr),
            "gpu-01:9000");
  EXPECT_EQ(ResolveControllerAddress("[::1]", nullptr), "[::1]:7420");
  EXPECT_EQ(ResolveControllerAddress("[::1]:9000", nullptr), "[::1]:9000");
  EXPECT_EQ(ResolveControllerAddress("unix:/tmp/s", nullptr), "unix:/tmp/s");
  // A bare IPv6 address gets brackets and the port; https:// asks for TLS.
  EXPECT_EQ(ResolveControllerAddress("::1", nullptr), "[::1]:7420");
  EXPECT_EQ(ResolveControllerAddress("fd00::5", nullptr), "[fd00::5]:7420");
  EXPECT_EQ(ResolveControllerAddress("https://gpu-01/", nullptr),
            "https://gpu-01:7420");
  EXPECT_EQ(ResolveControllerAddress("https://[::1]:9000", nullptr),
            "https://[::1]:9000");
  EXPECT_EQ(ResolveControllerAddress("HTTPS://gpu-01", nullptr),
            "https://gpu-01:7420");
}

// A server that is not TLS, answering the probe's handshake by closing the
// connection at once or with a line of text, is told apart, and the probe
// survives writing to a closed connection (no SIGPIPE death: the default
// action is in place here).
TEST(ControllerChannelTest, ServesTlsIsFalseForPlainServers) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
      0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string target =
      absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
  std::thread server([listener] {
    for (int i = 0; i < 2; ++i) {
      const int connection = accept(listener, nullptr, nullptr);
      if (connection < 0) return;
      if (i == 1) {
        char request[512];
        (void)!read(connection, request, sizeof(request));
        (void)!write(connection, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
      }
      close(connection);
    }
  });
  EXPECT_FALSE(ServesTls(target, absl::Seconds(5)));
  EXPECT_FALSE(ServesTls(target, absl::Seconds(5)));
  server.join();
  close(listener);
  // Nothing listens there now.
  EXPECT_FALSE(ServesTls(target, absl::Seconds(5)));
  EXPECT_FALSE(ServesTls("unix:/nonexistent", absl::Seconds(5)));
}

TEST(ControllerChannelTest, AddressesWithoutAHostOrAPortAreRefused) {
  for (const char* good : {"127.0.0.1:1", "gpu-01:65535", "[::1]:7420",
                           "https://host:443", "unix:/run/sweep.sock"}) {
    EXPECT_TRUE(CheckControllerAddress(good).ok()) << good;
  }
  const auto why = [](const char* address) {
    return std::string(CheckControllerAddress(address).message());
  };
  EXPECT_THAT(why("https://"), HasSubstr("'https://': no port"));
  EXPECT_THAT(why("127.0.0.1:70000"), HasSubstr("port '70000' is not 1 to "
                                                "65535"));
  EXPECT_THAT(why("host:0"), HasSubstr("port '0'"));
  EXPECT_THAT(why("host:-1"), HasSubstr("port '-1'"));
  EXPECT_THAT(why("host:abc"), HasSubstr("port 'abc'"));
  EXPECT_THAT(why(":7420"), HasSubstr("no host"));
  EXPECT_THAT(why("fd00::5:7420"), HasSubstr("needs brackets"));
  EXPECT_THAT(why("tcp://127.0.0.1:7420"),
              HasSubstr("'tcp://' is not a scheme it takes"));
  EXPECT_THAT(why("http://127.0.0.1:7420"),
              HasSubstr("'http://' is not a scheme it takes"));
  EXPECT_THAT(why(" 127.0.0.1:7420"), HasSubstr("starts with a space"));
  EXPECT_THAT(why("127.0.0.1:7420\n"), HasSubstr("a space or a line end"));
  EXPECT_THAT(why("https:// host:1"), HasSubstr("a space or a line end"));
  EXPECT_FALSE(MakeControllerChannel("host:99999", {}).ok());
}

TEST(ControllerChannelTest, TokensAndTlsFailuresAreToldApart) {
  // A line end from a file is not part of the token.
  setenv("SWEEP_TOKEN", "s3cret\r\n", 1);
  EXPECT_EQ(TokenFromEnvironment(), "s3cret");
  unsetenv("SWEEP_TOKEN");
  EXPECT_EQ(TokenFromEnvironment(), "");
  EXPECT_THAT(CheckToken("ab c", "SWEEP_TOKEN").message(),
              HasSubstr("character 3 is byte 0x20"));
  EXPECT_TRUE(CheckToken("a-b_c.~", "SWEEP_TOKEN").ok());
  EXPECT_EQ(ChannelTarget("HTTPS://gpu-01:7420"), "gpu-01:7420");

  const auto failure = [](const char* message) {
    return TlsSetupFailure(grpc::Status(grpc::StatusCode::UNAVAILABLE, message),
                           "127.0.0.1:1");
  };
  EXPECT_THAT(failure("failed to connect to all addresses; last error: "
                      "UNKNOWN: ipv4:127.0.0.1:7610: Ssl handshake failed: "
                      "SSL_ERROR_SSL: error:0A000086:SSL routines::"
                      "certificate verify failed")
                  .value_or(""),
              HasSubstr("failed verification"));
  EXPECT_THAT(
      failure("Peer name 127.0.0.1 is not in peer certificate").value_or(""),
      HasSubstr("for another host name"));
  EXPECT_THAT(failure("SSL routines::wrong version number").value_or(""),
              HasSubstr("does not speak TLS"));
  EXPECT_FALSE(failure("Connection refused").has_value());
  // A web server on the port: not waited for.
  const grpc::Status http(grpc::StatusCode::UNAVAILABLE,
                          "failed to connect to all addresses; last error: "
                          "UNAVAILABLE: ipv4:127.0.0.1:8000: Failed parsing "
                          "HTTP/2");
  EXPECT_FALSE(failure(http.error_message().c_str()).has_value());
  EXPECT_THAT(NotAControllerFailure(http).value_or(""),
              HasSubstr("not a sweep controller"));
  EXPECT_FALSE(failure("Socket closed").has_value());
}

TEST(ControllerClientTest, KnowsWhetherItUsesTheDefaultAddress) {
  EXPECT_TRUE(ControllerClient("localhost:7420").is_default_address());
  EXPECT_FALSE(ControllerClient("10.0.0.5:7420").is_default_address());
}

// Nothing listens on port 1: one actionable line, no gRPC internals.
TEST(ControllerClientTest, AnUnreachableControllerGivesOneClearLine) {
  ControllerClient client("127.0.0.1:1", absl::Seconds(5));
  const absl::StatusOr<v1::ListSweepsResponse> reply = client.ListSweeps();
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(absl::IsUnavailable(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(),
            "cannot reach the controller at 127.0.0.1:1 (connection "
            "refused); start one with `sweep server` or set --controller / "
            "SWEEP_CONTROLLER");
}

TEST(DescribeRpcFailureTest, UnreachableWhileNotConnected) {
  const absl::Status status = DescribeRpcFailure(
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"),
      "gpu-head:7420", /*connected=*/false, absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(status));
  EXPECT_EQ(status.message(),
            "cannot reach the controller at gpu-head:7420 (no answer within "
            "10s); start one with `sweep server` or set --controller / "
            "SWEEP_CONTROLLER");
}

TEST(DescribeRpcFailureTest, UnknownHostAndUnrecognizedTransportErrors) {
  EXPECT_THAT(DescribeRpcFailure(
                  grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "DNS resolution failed for nohost:7420: C-ares "
                               "status is not ARES_SUCCESS"),
                  "nohost:7420", false, absl::Seconds(10))
                  .message(),
              HasSubstr("(unknown host)"));
  const absl::Status other = DescribeRpcFailure(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "weird: ipv4:1.2.3.4"), "a:1",
      false, absl::Seconds(10));
  EXPECT_THAT(other.message(), HasSubstr("(unavailable)"));
  EXPECT_THAT(other.message(), Not(HasSubstr("ipv4")));
}

TEST(DescribeRpcFailureTest, AConnectedControllerKeepsItsOwnMessage) {
  // UNAVAILABLE from a controller that answered: its store cannot write.
  const absl::Status unavailable = DescribeRpcFailure(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "store: disk full"), "a:1",
      /*connected=*/true, absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(unavailable));
  EXPECT_EQ(unavailable.message(), "store: disk full");
  const absl::Status not_found = DescribeRpcFailure(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "no sweep with id zzz"), "a:1",
      true, absl::Seconds(10));
  EXPECT_TRUE(absl::IsNotFound(not_found));
  EXPECT_EQ(not_found.message(), "no sweep with id zzz");
  EXPECT_EQ(DescribeRpcFailure(grpc::Status(grpc::StatusCode::INTERNAL, ""),
                               "a:1", true, absl::Seconds(10))
                .message(),
            "the controller at a:1 failed: INTERNAL");
}

TEST(DescribeRpcFailureTest, AServerWithoutTheSweepApi) {
  const absl::Status status = DescribeRpcFailure(
      grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "Method not found"), "a:1",
      true, absl::Seconds(10));
  EXPECT_TRUE(absl::IsUnimplemented(status));
  EXPECT_THAT(status.message(), HasSubstr("is it a sweep controller?"));
}

// A controller that accepts the call but answers only when released.
class StalledSweepService final : public v1::SweepService::Service {
 public:
  grpc::Status ListSweeps(grpc::ServerContext*, const v1::ListSweepsRequest*,
                          v1::ListSweepsResponse*) override {
    release_.WaitForNotificationWithTimeout(absl::Seconds(30));
    return grpc::Status::OK;
  }
  void Release() { release_.Notify(); }

 private:
  absl::Notification release_;
};

TEST(ControllerClientTest, AConnectedControllerThatDoesNotAnswerInTime) {
  StalledSweepService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);

  ControllerClient client(address, absl::Milliseconds(300));
  const absl::StatusOr<v1::ListSweepsResponse> reply = client.ListSweeps();
  service.Release();
  server->Shutdown();
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(reply.status())) << reply.status();
  EXPECT_EQ(reply.status().message(),
            "the controller at " + address + " did not answer within 300ms");
}

}  // namespace
}  // namespace sweep
