#include "agent/controller_channel.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sweep {

std::string TokenFromEnvironment() {
  const char* token = std::getenv(kTokenEnvironmentVariable);
  return token == nullptr ? "" : token;
}

absl::Status CheckToken(const std::string& token, absl::string_view where) {
  if (token.empty() || token.size() > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": a token must have 1 to 4096 characters, not ", token.size()));
  }
  for (const char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": a token may hold only printable ASCII characters, no spaces"));
    }
  }
  return absl::OkStatus();
}

absl::string_view ChannelTarget(absl::string_view address) {
  absl::ConsumePrefix(&address, kTlsScheme);
  return address;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(
    const std::string& address, const grpc::ChannelArguments& args) {
  const std::string target(ChannelTarget(address));
  if (!absl::StartsWith(address, kTlsScheme)) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                     args);
  }
  grpc::SslCredentialsOptions tls;
  if (const char* ca_file = std::getenv(kTlsCaEnvironmentVariable);
      ca_file != nullptr && *ca_file != '\0') {
    std::ifstream in(ca_file, std::ios::binary);
    std::ostringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the CA certificates in ", ca_file, " ($",
                       kTlsCaEnvironmentVariable, ")"));
    }
    tls.pem_root_certs = pem.str();
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(tls), args);
}

void AttachToken(const std::string& token, grpc::ClientContext* context) {
  if (token.empty()) return;
  context->AddMetadata(kAuthorizationMetadataKey,
                       absl::StrCat("Bearer ", token));
}

}  // namespace sweep
