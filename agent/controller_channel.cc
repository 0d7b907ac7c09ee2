#include "agent/controller_channel.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

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

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(
    const std::string& address, const grpc::ChannelArguments& args) {
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

std::optional<std::string> TlsSetupFailure(const grpc::Status& status) {
  if (status.ok()) return std::nullopt;
  const std::string message = absl::AsciiStrToLower(status.error_message());
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
