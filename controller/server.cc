#include "controller/server.h"

#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "agent/controller_channel.h"
#include "search/status_macros.h"

namespace sweep {

std::string DefaultDataDir() {
  if (const char* dir = std::getenv("SWEEP_DATA_DIR"); dir && *dir) {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return absl::StrCat(xdg, "/sweep");
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return absl::StrCat(home, "/.local/share/sweep");
  }
  return "./sweep-data";
}

namespace {

// Binds a socket to `listen` (host:port, [v6]:port) and lets it go: gRPC
// says only that it could not listen, not why (the port is taken, the
// address is not this machine's, a port below 1024 without the right).
// OK when the address does not resolve here: gRPC then says so itself.
absl::Status CheckCanListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return absl::OkStatus();
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints,
                  &found) != 0) {
    return absl::OkStatus();
  }
  // gRPC listens on every address the name has and fails only when none
  // binds ("localhost" is ::1 and 127.0.0.1, and ::1 may be missing): so
  // refuse only then, with the most telling reason.
  int error = 0;
  bool bound = false;
  for (const addrinfo* a = found; a != nullptr && !bound; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int on = 1;  // As gRPC binds.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
      bound = true;
    } else if (error == 0 || errno == EADDRINUSE || errno == EACCES) {
      error = errno;
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (bound || error == 0) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cannot listen on ", listen, ": ", std::strerror(error)));
}

// The contents of a PEM file given by `flag`, or why it cannot be used.
absl::StatusOr<std::string> ReadPemFile(const std::string& path,
                                        const char* flag) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key");
  }
  absl::StatusOr<std::string> contents = ReadCredentialFile(path);
  if (!contents.ok() || contents->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " ", path, ": ",
        contents.ok() ? "the file is empty" : contents.status().message()));
  }
  if (contents->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": not a PEM file"));
  }
  return contents;
}

// That `key_pem` (from --tls-key) is the private key of the first
// certificate in `cert_pem` (from --tls-cert): gRPC would only fail to
// listen, saying nothing of why.
absl::Status CheckKeyPair(const std::string& cert_pem,
                          const std::string& key_pem,
                          const ServerOptions& options) {
  const auto read_bio = [](const std::string& pem) {
    return std::unique_ptr<BIO, decltype(&BIO_free)>(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  };
  auto cert_bio = read_bio(cert_pem);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)
               : nullptr,
      &X509_free);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert ", options.tls_cert_file,
                     ": holds no PEM certificate (BEGIN CERTIFICATE)"));
  }
  auto key_bio = read_bio(key_pem);
  // No passphrase prompt: an encrypted key fails here, named.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      key_bio ? PEM_read_bio_PrivateKey(
                    key_bio.get(), nullptr,
                    [](char*, int, int, void*) { return 0; }, nullptr)
              : nullptr,
      &EVP_PKEY_free);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key ", options.tls_key_file,
        ": holds no private key sweep can read (a PEM key without a "
        "passphrase: openssl pkey -in KEY -out plain.pem)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key ", options.tls_key_file,
                     " is not the private key of the certificate in "
                     "--tls-cert ",
                     options.tls_cert_file));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const ServerOptions& options) {
  std::unique_ptr<ControllerServer> server(new ControllerServer());
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    ASSIGN_OR_RETURN(pair.cert_chain,
                     ReadPemFile(options.tls_cert_file, "--tls-cert"));
    ASSIGN_OR_RETURN(pair.private_key,
                     ReadPemFile(options.tls_key_file, "--tls-key"));
    RETURN_IF_ERROR(CheckKeyPair(pair.cert_chain, pair.private_key, options));
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back(std::move(pair));
    credentials = grpc::SslServerCredentials(tls);
  }
  // Before the store is opened: a bad certificate or a taken port costs
  // nothing to refuse (a new data dir is not created for nothing).
  RETURN_IF_ERROR(CheckCanListen(options.listen));
  ASSIGN_OR_RETURN(server->store_,
                   Store::Open(options.data_dir, options.store));
  ASSIGN_OR_RETURN(server->manager_,
                   SweepManager::Create(server->store_.get(), &server->clock_,
                                        options.manager));
  server->sweep_service_ =
      std::make_unique<SweepServiceImpl>(server->manager_.get(), options.token);
  server->agent_service_ =
      std::make_unique<AgentServiceImpl>(server->manager_.get(), options.token);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_request_bytes);
  // gRPC sets SO_REUSEPORT by default: a second controller on the same port
  // would start and take half of the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(server->sweep_service_.get());
  builder.RegisterService(server->agent_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (address in use or not valid?)"));
  }
  server->manager_->StartReaper();
  return server;
}

ControllerServer::~ControllerServer() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }
  manager_.reset();
  store_.reset();
}

int RunServerCommand(const ServerOptions& options) {
  // Signals are taken synchronously by this thread; every thread started
  // below inherits the mask.
  // SIGHUP too: a controller started from a terminal or an ssh session
  // shuts down cleanly when it closes. A closed stdout must not kill it.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<ControllerServer>> server =
      ControllerServer::Start(options);
  if (!server.ok()) {
    std::cerr << "sweep server: " << server.status().message() << "\n";
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  // What an operator checks first: where, how durable, and what was found
  // (a restart that recovered nothing is worth noticing).
  v1::ListSweepsResponse sweeps;
  (*server)->manager()->ListSweeps(&sweeps).IgnoreError();
  int64_t running = 0;
  int active = 0;
  for (const v1::Sweep& sweep : sweeps.sweeps()) {
    running += sweep.counts().running();
    active += sweep.state() == v1::SWEEP_STATE_PENDING ||
              sweep.state() == v1::SWEEP_STATE_RUNNING ||
              sweep.state() == v1::SWEEP_STATE_PAUSED;
  }
  std::cout << "sweep server listening on " << host << ":" << (*server)->port()
            << " (data dir " << options.data_dir << ")" << std::endl;
  std::cout << "sweep server: " << sweeps.sweeps_size()
            << (sweeps.sweeps_size() == 1 ? " sweep" : " sweeps") << " stored ("
            << active << " not done, " << running
            << (running == 1 ? " trial" : " trials") << " running); sync "
            << (options.store.synchronous_full ? "full" : "normal")
            << ", leases " << options.manager.lease_timeout_ms / 1000.0
            << " s; "
            << (options.token.empty()
                    ? "no token required: keep the port private"
                    : "calls need the token")
            << (options.tls_cert_file.empty() ? ", plaintext" : ", TLS")
            << std::endl;
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::cout << "sweep server: "
            << (signal_number == SIGTERM  ? "SIGTERM"
                : signal_number == SIGHUP ? "SIGHUP"
                                          : "SIGINT")
            << ", shutting down" << std::endl;
  server->reset();
  std::cout << "sweep server: stopped" << std::endl;
  return 0;
}

}  // namespace sweep
