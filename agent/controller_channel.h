// How a client reaches the controller: a plaintext or TLS channel to its
// address, and the shared token a controller started with one wants on every
// call. Used by the agent and by the CLI.
#ifndef SWEEP_AGENT_CONTROLLER_CHANNEL_H_
#define SWEEP_AGENT_CONTROLLER_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sweep {

// The token clients send, and a controller started without --token-file
// requires when set.
inline constexpr char kTokenEnvironmentVariable[] = "SWEEP_TOKEN";
// PEM certificates a TLS controller's certificate is checked against
// (default: the system's roots).
inline constexpr char kTlsCaEnvironmentVariable[] = "SWEEP_TLS_CA";
// An address with this scheme is reached over TLS.
inline constexpr char kTlsScheme[] = "https://";
// The metadata key the token travels under, as "Bearer TOKEN".
inline constexpr char kAuthorizationMetadataKey[] = "authorization";

// $SWEEP_TOKEN, or empty when unset.
std::string TokenFromEnvironment();

// A token is 1 to 4096 printable ASCII characters without spaces (what a
// gRPC metadata value can carry); `where` names its source in the message.
absl::Status CheckToken(const std::string& token, absl::string_view where);

// `address` without its https:// (what gRPC resolves).
absl::string_view ChannelTarget(absl::string_view address);

// The contents of a small file of credentials (a token, certificates, a
// key), or why it cannot be read: "is a directory", "cannot read it: ...".
absl::StatusOr<std::string> ReadCredentialFile(const std::string& path);

// That `address` has a host and a port of 1 to 65535 (or is one of gRPC's
// own forms, unix:/path and the like); InvalidArgument naming it else.
absl::Status CheckControllerAddress(const std::string& address);

// A channel to `address`: "host:port" in plaintext, "https://host:port" over
// TLS, the server's certificate checked against the PEM file in
// $SWEEP_TLS_CA or else the system's roots. Fails, naming the file, when the
// CA file cannot be read, and when the address is not one
// (CheckControllerAddress). Does not connect.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeControllerChannel(
    const std::string& address, const grpc::ChannelArguments& args);

// When `status` (a failed call to `address`) failed setting up TLS in a way
// no retry will change (a certificate not trusted, expired or for another
// host; a server that does not speak TLS; a plaintext call to a server
// that speaks only TLS, which closes the connection: then `address` is
// probed with a TLS handshake of its own to tell it from a server going
// away): what to say, naming the remedy. nullopt for anything else.
std::optional<std::string> TlsSetupFailure(const grpc::Status& status,
                                           const std::string& address);

// When `status` came from a server that does not speak gRPC at all (a web
// server on that port): what to say. For a first contact only: once a
// controller answered, a proxy's passing error is not worth giving up for.
std::optional<std::string> NotAControllerFailure(const grpc::Status& status);

// Whether `target` ("host:port", "[v6]:port") completes a TLS handshake
// within `timeout`, its certificate unchecked (nothing is sent after it).
bool ServesTls(const std::string& target, absl::Duration timeout);

// MakeControllerChannel, or when it fails a placeholder that is never
// called (every call is to fail with *failure first): stubs need a channel.
std::shared_ptr<grpc::Channel> MakeControllerChannelOrPlaceholder(
    const std::string& address, const grpc::ChannelArguments& args,
    absl::Status* failure);

// The metadata value that carries `token` ("Bearer TOKEN"), or "" for none.
std::string Authorization(const std::string& token);

// Adds `token` to the call's metadata (nothing when it is empty).
void AttachToken(const std::string& token, grpc::ClientContext* context);

}  // namespace sweep

#endif  // SWEEP_AGENT_CONTROLLER_CHANNEL_H_
