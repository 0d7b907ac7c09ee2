#include "agent/controller_channel.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "search/status_macros.h"

namespace sweep {

std::string TokenFromEnvironment() {
  const char* token = std::getenv(kTokenEnvironmentVariable);
  if (token == nullptr) return "";
  // As read from a file ($(cat token), a Kubernetes secret): its line end
  // is not the token's.
  return std::string(absl::StripTrailingAsciiWhitespace(token));
}

absl::Status CheckToken(const std::string& token, absl::string_view where) {
  if (token.empty() || token.size() > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": a token must have 1 to 4096 characters, not ", token.size()));
  }
  for (size_t i = 0; i < token.size(); ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": a token may hold only printable ASCII characters, no spaces; "
          "character ",
          i + 1, " is byte 0x", absl::Hex(c, absl::kZeroPad2)));
    }
  }
  return absl::OkStatus();
}

absl::string_view ChannelTarget(absl::string_view address) {
  if (absl::StartsWithIgnoreCase(address, kTlsScheme)) {
    address.remove_prefix(std::strlen(kTlsScheme));
  }
  return address;
}

absl::StatusOr<std::string> ReadCredentialFile(const std::string& path) {
  constexpr size_t kMaxBytes = 1 << 20;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read it: ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[4096];
  int error = 0;
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > kMaxBytes) {
      close(fd);
      return absl::FailedPreconditionError("is larger than 1 MiB");
    }
  }
  close(fd);
  if (error == EISDIR) return absl::FailedPreconditionError("is a directory");
  if (error != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read it: ", std::strerror(error)));
  }
  return contents;
}

namespace {

// gRPC's own address forms (unix:/path, ipv4:..., dns:///host:port): its to
// resolve and check.
bool IsGrpcAddressForm(absl::string_view target) {
  for (const absl::string_view scheme :
       {"unix:", "unix-abstract:", "ipv4:", "ipv6:", "dns:", "vsock:"}) {
    if (absl::StartsWith(target, scheme)) return true;
  }
  return false;
}

}  // namespace

absl::Status CheckControllerAddress(const std::string& address) {
  const absl::string_view target = ChannelTarget(address);
  if (IsGrpcAddressForm(target)) return absl::OkStatus();
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "controller address '", address, "': ", why,
        " (expected HOST:PORT, [IPv6]:PORT or https://HOST:PORT)"));
  };
  if (const size_t blank = address.find_first_of(" \t\r\n\v\f");
      blank != std::string::npos) {
    return invalid(blank == 0 ? "it starts with a space"
                              : "it holds a space or a line end");
  }
  if (const size_t scheme = target.find("://");
      scheme != absl::string_view::npos) {
    return invalid(absl::StrCat("'", target.substr(0, scheme + 3),
                                "' is not a scheme it takes; use https:// "
                                "for TLS, nothing for plaintext"));
  }
  const size_t colon = target.rfind(':');
  if (colon == absl::string_view::npos) return invalid("no port");
  const absl::string_view host = target.substr(0, colon);
  const absl::string_view port = target.substr(colon + 1);
  if (host.empty() || host == "[]") return invalid("no host");
  if (host.front() != '[' && host.find(':') != absl::string_view::npos) {
    return invalid("an IPv6 address needs brackets");
  }
  int number = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return invalid(absl::StrCat("port '", port, "' is not 1 to 65535"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(
    const std::string& address, const grpc::ChannelArguments& args) {
  RETURN_IF_ERROR(CheckControllerAddress(address));
  const std::string target(ChannelTarget(address));
  if (!absl::StartsWithIgnoreCase(address, kTlsScheme)) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                     args);
  }
  grpc::SslCredentialsOptions tls;
  if (const char* ca_file = std::getenv(kTlsCaEnvironmentVariable);
      ca_file != nullptr && *ca_file != '\0') {
    absl::StatusOr<std::string> pem = ReadCredentialFile(ca_file);
    if (!pem.ok() || pem->empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot read the CA certificates in ", ca_file, " ($",
          kTlsCaEnvironmentVariable, ")",
          pem.ok() ? "" : absl::StrCat(": ", pem.status().message())));
    }
    if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat(ca_file, " ($", kTlsCaEnvironmentVariable,
                       ") holds no PEM certificate"));
    }
    tls.pem_root_certs = *std::move(pem);
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(tls), args);
}

std::optional<std::string> TlsSetupFailure(const grpc::Status& status,
                                           const std::string& address) {
  if (status.ok()) return std::nullopt;
  const std::string message = absl::AsciiStrToLower(status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      absl::StrContains(message, "socket closed") &&
      !absl::StartsWithIgnoreCase(address, kTlsScheme) &&
      ServesTls(address, absl::Seconds(2))) {
    return absl::StrCat("it speaks TLS (started with --tls-cert): use ",
                        kTlsScheme, address, ", with $",
                        kTlsCaEnvironmentVariable,
                        " naming its CA's PEM file unless a system root "
                        "signed its certificate");
  }
  if (absl::StrContains(message, "is not in peer certificate")) {
    return "its TLS certificate is for another host name: reach it by a name "
           "the certificate lists";
  }
  if (absl::StrContains(message, "certificate verify failed")) {
    return absl::StrCat(
        "its TLS certificate failed verification (expired, or not signed by "
        "a CA in $",
        kTlsCaEnvironmentVariable, " or the system's): point $",
        kTlsCaEnvironmentVariable, " at the PEM file of the CA that signed it");
  }
  if (absl::StrContains(message, "wrong version number") ||
      absl::StrContains(message, "packet length too long")) {
    return "it does not speak TLS (started without --tls-cert?): use its "
           "address without https://";
  }
  return std::nullopt;
}

std::optional<std::string> NotAControllerFailure(const grpc::Status& status) {
  if (status.ok()) return std::nullopt;
  const std::string message = absl::AsciiStrToLower(status.error_message());
  if (absl::StrContains(message, "failed parsing http/2") ||
      absl::StrContains(message, "trying to connect an http1.x server")) {
    return "something answers there, but not a sweep controller (it does "
           "not speak gRPC: a web server? another port?)";
  }
  return std::nullopt;
}

namespace {

// A connected TCP socket to `host`:`port`, or -1, by `deadline` (its reads
// and writes time out by then too).
int ConnectBy(const std::string& host, const std::string& port,
              absl::Time deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int connected = -1;
  for (addrinfo* at = found; at != nullptr && connected < 0; at = at->ai_next) {
    const absl::Duration timeout = deadline - absl::Now();
    if (timeout <= absl::ZeroDuration()) break;
    const int fd =
        socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
    if (fd < 0) continue;
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int error = 0;
    if (connect(fd, at->ai_addr, at->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        // Connected, refused or out of time: SO_ERROR says which.
        pollfd wait{fd, POLLOUT, 0};
        socklen_t length = sizeof(error);
        const int ready = poll(
            &wait, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
        if (ready != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
          error = ETIMEDOUT;
        }
      }
    }
    if (error != 0) {
      close(fd);
      continue;
    }
    fcntl(fd, F_SETFL, flags);
    const timeval limit = absl::ToTimeval(timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    connected = fd;
  }
  freeaddrinfo(found);
  return connected;
}

}  // namespace

bool ServesTls(const std::string& target, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const absl::string_view plain = ChannelTarget(target);
  const size_t colon = plain.rfind(':');
  if (colon == absl::string_view::npos || IsGrpcAddressForm(plain)) {
    return false;
  }
  std::string host(plain.substr(0, colon));
  const std::string port(plain.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const int fd = ConnectBy(host, port, deadline);
  if (fd < 0) return false;
  bool handshaken = false;
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = context != nullptr ? SSL_new(context) : nullptr;
  if (ssl != nullptr) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    // gRPC's servers want HTTP/2 named in the handshake.
    static constexpr unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_set_alpn_protos(ssl, kAlpn, sizeof(kAlpn));
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set_fd(ssl, fd);
    // Writing to a connection the server closed raises SIGPIPE, which ends
    // a process that does not ignore it (the CLI): held back meanwhile,
    // and one raised for this thread taken.
    sigset_t pipe_only;
    sigset_t previous;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    handshaken = SSL_connect(ssl) == 1;
    sigset_t pending;
    if (!sigismember(&previous, SIGPIPE) && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE)) {
      const timespec now{};
      sigtimedwait(&pipe_only, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    SSL_free(ssl);
  }
  SSL_CTX_free(context);
  close(fd);
  return handshaken;
}

std::shared_ptr<grpc::Channel> MakeControllerChannelOrPlaceholder(
    const std::string& address, const grpc::ChannelArguments& args,
    absl::Status* failure) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeControllerChannel(address, args);
  if (channel.ok()) return *std::move(channel);
  *failure = channel.status();
  return grpc::CreateChannel(std::string(ChannelTarget(address)),
                             grpc::InsecureChannelCredentials());
}

std::string Authorization(const std::string& token) {
  return token.empty() ? "" : absl::StrCat("Bearer ", token);
}

void AttachToken(const std::string& token, grpc::ClientContext* context) {
  if (token.empty()) return;
  context->AddMetadata(kAuthorizationMetadataKey, Authorization(token));
}

}  // namespace sweep
