#include "controller/server.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

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
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back(std::move(pair));
    credentials = grpc::SslServerCredentials(tls);
  }
  // Before the store is opened: a bad certificate costs nothing to refuse.
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
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        options.tls_cert_file.empty()
            ? " (address in use or not valid?)"
            : " (address in use or not valid, or --tls-key is not the key "
              "of --tls-cert?)"));
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
  std::cout << "sweep server: " << sweeps.sweeps_size() << " sweeps stored ("
            << active << " not done, " << running << " trials running); sync "
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
