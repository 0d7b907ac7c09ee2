// The controller server: the store, the manager and both gRPC services on
// one listening port. Thread-safe.
#ifndef SWEEP_CONTROLLER_SERVER_H_
#define SWEEP_CONTROLLER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/clock.h"
#include "controller/service.h"
#include "controller/store.h"
#include "controller/sweep_manager.h"

namespace grpc {
class Server;
}

namespace sweep {

struct ServerOptions {
  // host:port; port 0 picks a free one (see ControllerServer::port()).
  std::string listen = "127.0.0.1:7420";
  std::string data_dir;  // Required.
  StoreOptions store;
  ManagerOptions manager;
  // Larger requests are refused with RESOURCE_EXHAUSTED.
  int max_request_bytes = 4 << 20;
  // When not empty, every call must carry it ("authorization: Bearer
  // TOKEN"); others are refused with UNAUTHENTICATED.
  std::string token;
  // PEM files: with both, the port speaks TLS only.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// The data dir used when none is given: $SWEEP_DATA_DIR, else
// $XDG_DATA_HOME/sweep, else ~/.local/share/sweep.
std::string DefaultDataDir();

class ControllerServer {
 public:
  // Opens the store, recovers every sweep and starts serving.
  static absl::StatusOr<std::unique_ptr<ControllerServer>> Start(
      const ServerOptions& options);
  // Stops accepting calls, lets calls in flight finish (up to a few seconds)
  // and drains the store.
  ~ControllerServer();

  int port() const { return port_; }
  SweepManager* manager() { return manager_.get(); }
  grpc::Server* grpc_server() { return server_.get(); }

 private:
  ControllerServer() = default;

  RealClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<SweepManager> manager_;
  std::unique_ptr<SweepServiceImpl> sweep_service_;
  std::unique_ptr<AgentServiceImpl> agent_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// `sweep server`: serves until SIGTERM or SIGINT, then shuts down gracefully.
// Returns the process exit status.
int RunServerCommand(const ServerOptions& options);

}  // namespace sweep

#endif  // SWEEP_CONTROLLER_SERVER_H_
